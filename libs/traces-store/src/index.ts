export { Database, type Scope, type Sql, IMMUTABLE_RECORD_SQLSTATE } from './lib/database/database';
export { openDatabase, type DatabaseOptions, DEFAULT_APP_ROLE } from './lib/database/open-database';
export {
  TraceStore,
  type StepSummary,
  type StepStateSnapshot,
  type CreateTraceResult,
  MAX_STEPS_PER_BATCH,
} from './lib/trace.store';
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
export { SystemLogStore } from './lib/system-log.store';
export { AuditLogStore } from './lib/audit-log.store';
export { LogLookup } from './lib/log-lookup';
export { EvidenceContextStore, type PolicySnapshot, type IncidentRecord, type IncidentInput } from './lib/evidence-context.store';
export {
  ExportJobStore,
  type ExportJobKey,
  type EnqueueResult,
  type UnfinishedExportJob,
  type ExportJobStoreOptions,
  DEFAULT_EXPORT_TTL_SECONDS,
  EXPORT_JOB_NAMESPACE,
} from './lib/export-job.store';
export type { SearchIndexer } from './lib/search-indexer';
export { StepSearchIndexer, type StepSearchIndexerOptions } from './lib/step-search-indexer';
export { SystemLogSearchIndexer, type SystemLogSearchIndexerOptions } from './lib/system-log-search-indexer';
export {
  RetentionStore,
  type StoredRetentionPolicy,
  type NewLegalHold,
  type PurgeBatchRequest,
  type PurgeBatchResult,
} from './lib/retention.store';
export {
  LedgerStore,
  ledgerLogId,
  PLATFORM_LOG_ID,
  MIN_STORED_LEVEL,
  type LeafToAppend,
  type LedgerHead,
  type LedgerEntry,
  type StoredCheckpoint,
  type LedgeredRecord,
} from './lib/ledger.store';
export { copySystemLogsCsv, systemLogCsvCopy, SettingParams, settingText, SYSTEM_LOG_CSV_COLUMNS, SYSTEM_LOG_CSV_JSON_COLUMNS, SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS } from './lib/system-log-csv';
