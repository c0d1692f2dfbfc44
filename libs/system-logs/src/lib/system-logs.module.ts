import { type DynamicModule, Module } from '@nestjs/common';
import { PLATFORM_LOGGER_OPTIONS, PlatformLogger, type PlatformLoggerOptions } from './platform-logger';
import { SystemLogService } from './system-log.service';

export interface SystemLogsModuleOptions {
  /** Batching and echo settings of the PlatformLogger. */
  logger?: PlatformLoggerOptions;
}

/**
 * `SystemLogsModule.forRoot()` next to `TracesStoreModule.forRoot(...)`
 * provides SystemLogService and the PlatformLogger everywhere (global). To make
 * the PlatformLogger the application's logger: create the app with
 * `bufferLogs: true`, then `app.useLogger(app.get(PlatformLogger))`.
 */
@Module({})
export class SystemLogsModule {
  static forRoot(options: SystemLogsModuleOptions = {}): DynamicModule {
    return {
      module: SystemLogsModule,
      global: true,
      providers: [{ provide: PLATFORM_LOGGER_OPTIONS, useValue: options.logger ?? {} }, SystemLogService, PlatformLogger],
      exports: [SystemLogService, PlatformLogger],
    };
  }
}
