import { Injectable, Logger, type LogLevel, type OnModuleInit } from '@nestjs/common';
import { PlatformLogger } from '@aos/system-logs';

const LEVELS: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/**
 * Makes the PlatformLogger the application's logger, with the levels the app
 * was created with (LOG_LEVEL), so the service's own events are stored as
 * platform system logs as well as printed. An app created with `logger: false`
 * (the tests) keeps logging off.
 */
@Injectable()
export class PlatformLoggerInstaller implements OnModuleInit {
  constructor(private readonly logger: PlatformLogger) {}

  onModuleInit(): void {
    const enabled = LEVELS.filter((level) => Logger.isLevelEnabled(level));
    if (enabled.length === 0) return;
    this.logger.setLogLevels(enabled);
    Logger.overrideLogger(this.logger);
  }
}
