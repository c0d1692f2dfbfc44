import { type DynamicModule, Module } from '@nestjs/common';
import { Clock, SystemClock } from '@aos/logs-domain';
import { RETENTION_SERVICE_OPTIONS, RetentionService, type RetentionServiceOptions } from './retention.service';

export interface RetentionModuleOptions extends RetentionServiceOptions {
  /** Time for the purge (default: the system clock; tests pass a ManualClock). */
  clock?: Clock;
}

/**
 * `RetentionModule.forRoot()` next to `TracesStoreModule.forRoot(...)` and
 * `AuditModule.forRoot()` provides RetentionService and the Clock (global).
 */
@Module({})
export class RetentionModule {
  static forRoot(options: RetentionModuleOptions = {}): DynamicModule {
    const { clock, ...serviceOptions } = options;
    return {
      module: RetentionModule,
      global: true,
      providers: [
        { provide: Clock, useValue: clock ?? new SystemClock() },
        { provide: RETENTION_SERVICE_OPTIONS, useValue: serviceOptions },
        RetentionService,
      ],
      exports: [RetentionService, Clock],
    };
  }
}
