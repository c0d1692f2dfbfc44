import { type DynamicModule, type FactoryProvider, type InjectionToken, Module, type ModuleMetadata, type Provider, type Type } from '@nestjs/common';
import { TraceStore } from '@aos/traces-store';
import {
  NoopReplayAudit,
  RecordedOutputExecutor,
  REPLAY_AUDIT,
  REPLAY_EXECUTOR,
  type ReplayAuditPort,
  type ReplayExecutor,
} from './ports';
import { TraceReplay, type TraceReplayLimits } from './trace-replay';

/** How to bind a port: a value, a class, a factory (with `inject`), or an existing provider. */
export type PortBinding<T> =
  | { useValue: T }
  | { useClass: Type<T> }
  | { useFactory: (...args: any[]) => T | Promise<T>; inject?: FactoryProvider['inject'] }
  | { useExisting: InjectionToken };

export interface ReplayModuleOptions {
  /** Modules the bindings need (for instance the module exporting AuditLogService). */
  imports?: ModuleMetadata['imports'];
  /** Where `trace_replayed` entries go; default: nowhere (with one warning). */
  audit?: PortBinding<ReplayAuditPort>;
  /** How RERUN re-executes a step; default: RecordedOutputExecutor. */
  executor?: PortBinding<ReplayExecutor>;
  limits?: TraceReplayLimits;
}

/**
 * `ReplayModule.forRoot({ imports: [AuditModule], audit: { useFactory: (a: AuditLogService) =>
 * ({ record: (e) => a.logAction(replayAuditAction(e)) }), inject: [AuditLogService] } })`.
 * Needs TraceStore (TracesStoreModule.forRoot, global) in the application.
 */
@Module({})
export class ReplayModule {
  static forRoot(options: ReplayModuleOptions = {}): DynamicModule {
    const audit: Provider = { provide: REPLAY_AUDIT, ...(options.audit ?? { useClass: NoopReplayAudit }) } as Provider;
    const executor: Provider = { provide: REPLAY_EXECUTOR, ...(options.executor ?? { useClass: RecordedOutputExecutor }) } as Provider;
    return {
      module: ReplayModule,
      imports: options.imports ?? [],
      providers: [
        audit,
        executor,
        {
          provide: TraceReplay,
          useFactory: (store: TraceStore, port: ReplayAuditPort, exec: ReplayExecutor) => new TraceReplay(store, port, exec, options.limits),
          inject: [TraceStore, REPLAY_AUDIT, REPLAY_EXECUTOR],
        },
      ],
      exports: [TraceReplay, REPLAY_AUDIT, REPLAY_EXECUTOR],
    };
  }
}
