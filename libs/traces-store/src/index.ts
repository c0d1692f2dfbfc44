export { Database, type Scope, type Sql, IMMUTABLE_RECORD_SQLSTATE } from './lib/database/database';
export { openDatabase, type DatabaseOptions, DEFAULT_APP_ROLE } from './lib/database/open-database';
export { TraceStore, type StepSummary, type CreateTraceResult, MAX_STEPS_PER_BATCH } from './lib/trace.store';
export {
  TenantStore,
  type Tenant,
  type ApiKey,
  type KeyPrincipal,
  hashApiKey,
  generateApiKey,
  DEVELOPMENT_TENANT_NAME,
} from './lib/tenant.store';
export { COUNT_CAP } from './lib/pagination';
export { TracesStoreModule } from './lib/traces-store.module';
export { MIGRATIONS } from './lib/migrations';
export { ENTITIES } from './lib/entities';
