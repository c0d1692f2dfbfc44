import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AUDIT_ACTION_PATTERN } from '@aos/logs-domain';
import { ActorDirectory, ApiKeyActorDirectory } from './actor-directory';
import { AUDIT_SERVICE_OPTIONS, AuditLogService } from './audit-log.service';

export interface AuditModuleOptions {
  /** Actions this service audits beyond the catalog (lower snake case, e.g. `report_generated`). */
  extraActions?: readonly string[];
  /** Resolves actor names for the audit panel; default: API keys by name, others by id. */
  actorDirectory?: Type<ActorDirectory>;
}

/**
 * `AuditModule.forRoot()` next to `TracesStoreModule.forRoot(...)` provides
 * AuditLogService (and the ActorDirectory) everywhere (global).
 */
@Module({})
export class AuditModule {
  static forRoot(options: AuditModuleOptions = {}): DynamicModule {
    const extraActions = options.extraActions ?? [];
    const bad = extraActions.filter((a) => typeof a !== 'string' || !AUDIT_ACTION_PATTERN.test(a));
    if (bad.length > 0) {
      throw new Error(`AuditModule: extra actions must be lower snake case names: ${bad.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return {
      module: AuditModule,
      global: true,
      providers: [
        { provide: AUDIT_SERVICE_OPTIONS, useValue: { extraActions } },
        { provide: ActorDirectory, useClass: options.actorDirectory ?? ApiKeyActorDirectory },
        AuditLogService,
      ],
      exports: [AuditLogService, ActorDirectory],
    };
  }
}
