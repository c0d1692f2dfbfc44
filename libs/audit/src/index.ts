export { AuditLogService, type LogActionInput, type AuditLogSearch, type AuditServiceOptions, AUDIT_SERVICE_OPTIONS } from './lib/audit-log.service';
export { ActorDirectory, ApiKeyActorDirectory, type ActorRef } from './lib/actor-directory';
export { AuditModule, type AuditModuleOptions } from './lib/audit.module';
