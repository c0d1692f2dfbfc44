export { AuditLogService, type LogActionInput, type AuditLogSearch, type AuditServiceOptions, AUDIT_SERVICE_OPTIONS } from './lib/audit-log.service';
export { ActorDirectory, ApiKeyActorDirectory, type ActorRef } from './lib/actor-directory';
export { AuditModule, type AuditModuleOptions } from './lib/audit.module';
export {
  RetentionService,
  type RetentionActor,
  type RetentionPolicyView,
  type PurgeOptions,
  type PurgeReport,
  type TenantPurgeReport,
  type PurgeTargetReport,
  type RetentionServiceOptions,
  RETENTION_SERVICE_OPTIONS,
  SYSTEM_ACTOR,
} from './lib/retention/retention.service';
export { RetentionScheduler, DEFAULT_RETENTION_INTERVAL_MS } from './lib/retention/retention-scheduler';
export { RetentionModule, type RetentionModuleOptions } from './lib/retention/retention.module';
