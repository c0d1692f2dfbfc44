import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LogsController } from './logs.controller';
import { LogsService } from './logs.service';
import { PlatformLoggerInstaller } from './platform-logger.installer';
import { RequestContextInterceptor } from './request-context.interceptor';

/**
 * The logs routes (system, audit, cross-topic), the request context every log
 * line carries, and the PlatformLogger as the app's logger. Needs
 * TracesStoreModule, SystemLogsModule and AuditModule (all global).
 */
@Module({
  controllers: [LogsController],
  providers: [LogsService, PlatformLoggerInstaller, { provide: APP_INTERCEPTOR, useClass: RequestContextInterceptor }],
})
export class LogsApiModule {}
