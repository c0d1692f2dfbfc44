/** Value sets of spec section 3, as const tuples so they serve types, validation and SQL checks. */

export const TRACE_STATUSES = ['active', 'completed', 'failed', 'aborted'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number];
export const TERMINAL_TRACE_STATUSES = ['completed', 'failed', 'aborted'] as const;
export type TerminalTraceStatus = (typeof TERMINAL_TRACE_STATUSES)[number];

export const STEP_TYPES = ['input', 'llm_call', 'tool_call', 'output', 'policy_check', 'violation'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const STEP_LEVELS = ['info', 'warning', 'error'] as const;
export type StepLevel = (typeof STEP_LEVELS)[number];

export const SYSTEM_LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

export const ACTOR_TYPES = ['user', 'system', 'api_key'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const LOG_TOPICS = ['llm_runs', 'system', 'audit'] as const;
export type LogTopic = (typeof LOG_TOPICS)[number];

export const COMPLIANCE_PROFILES = ['none', 'soc2', 'hipaa'] as const;
export type ComplianceProfile = (typeof COMPLIANCE_PROFILES)[number];

export const API_KEY_ROLES = ['admin', 'auditor', 'ingest', 'viewer'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export const REPLAY_MODES = ['AUDIT', 'DEBUG', 'RERUN'] as const;
export type ReplayMode = (typeof REPLAY_MODES)[number];

export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** Sortable trace columns: all NOT NULL, so keyset pagination stays exact. */
export const TRACE_SORT_FIELDS = [
  'started_at',
  'created_at',
  'step_count',
  'total_tokens',
  'total_cost_cents',
  'total_duration_ms',
] as const;
export type TraceSortField = (typeof TRACE_SORT_FIELDS)[number];

/** Audited actions: the catalog of spec 3.3 plus the service's own governance actions (DESIGN.md 8). */
export const AUDIT_ACTION_CATALOG = {
  auth: ['login', 'logout', 'token_refresh', 'api_key_created', 'api_key_revoked'],
  policy: ['policy_created', 'policy_updated', 'policy_deleted', 'policy_approved'],
  run: ['run_started', 'run_completed', 'run_cancelled', 'run_violated_policy'],
  incident: ['incident_created', 'incident_acknowledged', 'incident_resolved'],
  account: ['user_invited', 'user_removed', 'role_changed', 'settings_updated'],
  override: ['override_requested', 'override_approved', 'override_revoked'],
  service: [
    'tenant_created',
    'logs_exported',
    'trace_exported',
    'evidence_bundle_exported',
    'trace_replayed',
    'retention_policy_updated',
    'legal_hold_placed',
    'legal_hold_released',
    'retention_purge_started',
    'retention_purged',
    'ledger_audited',
  ],
} as const;
export type AuditAction = (typeof AUDIT_ACTION_CATALOG)[keyof typeof AUDIT_ACTION_CATALOG][number];
export const AUDIT_ACTIONS: readonly AuditAction[] = Object.values(AUDIT_ACTION_CATALOG).flat();
