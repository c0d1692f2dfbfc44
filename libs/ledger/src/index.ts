export {
  LedgerService,
  RECORD_TYPES,
  type RecordType,
  type CheckpointView,
  type InclusionProofView,
  type ConsistencyProofView,
  type IntegrityAuditReport,
  type AuditMismatch,
  type MismatchKind,
} from './lib/ledger.service';
export { LedgerSigner, type LedgerKeyOptions, type PublishedKey } from './lib/ledger-signer';
export { CheckpointPublisher, type CheckpointPublisherOptions, type PublishedCheckpoint } from './lib/checkpoint-publisher';
export { CheckpointScheduler, DEFAULT_CHECKPOINT_INTERVAL_MS } from './lib/checkpoint-scheduler';
export { LedgerModule, type LedgerModuleOptions } from './lib/ledger.module';
export { ledgerSettings, type LedgerSettings, DEFAULT_LEDGER_KEY_NAME } from './lib/ledger-settings';
