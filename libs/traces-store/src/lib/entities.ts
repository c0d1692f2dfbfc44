import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * TypeORM mappings of the evidence tables. The schema itself is owned by the
 * SQL migrations (triggers, policies and generated columns live there); the
 * stores write with set-based SQL, never `save()`.
 */
const timestamptz = { type: 'timestamptz', precision: 3 } as const;

@Entity('tenants')
export class TenantEntity {
  @PrimaryColumn('uuid') tenant_id: string;
  @Column('text') name: string;
  @Column('text') compliance: string;
  @Column(timestamptz) created_at: Date;
}

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid') id: string;
  @Column('uuid') tenant_id: string;
  @Column('text') name: string;
  @Column('text') role: string;
  @Column('char', { length: 64 }) key_hash: string;
  @Column('text') key_prefix: string;
  @Column('uuid', { nullable: true }) created_by: string | null;
  @Column(timestamptz) created_at: Date;
  @Column({ ...timestamptz, nullable: true }) revoked_at: Date | null;
}

@Entity('aos_traces')
export class TraceEntity {
  @PrimaryColumn('uuid') trace_id: string;
  @Column('uuid') tenant_id: string;
  @Column('uuid') run_id: string;
  @Column('uuid') agent_id: string;
  @Column('text', { nullable: true }) agent_name: string | null;
  @Column('text') status: string;
  @Column('int') step_count: number;
  @Column('bigint') total_tokens: number;
  @Column('bigint') total_cost_cents: number;
  @Column('bigint') total_duration_ms: number;
  @Column(timestamptz) started_at: Date;
  @Column({ ...timestamptz, nullable: true }) completed_at: Date | null;
  @Column('char', { length: 64, nullable: true }) content_hash: string | null;
  @Column('boolean') is_synthetic: boolean;
  @Column('text', { nullable: true }) synthetic_scenario_id: string | null;
  @Column('uuid', { nullable: true }) incident_id: string | null;
  @Column('int', { nullable: true }) violation_step_index: number | null;
  @Column({ ...timestamptz, nullable: true }) violation_timestamp: Date | null;
  @Column('uuid', { nullable: true }) violation_policy_id: string | null;
  @Column('text', { nullable: true }) violation_reason: string | null;
  @Column(timestamptz) created_at: Date;
}

@Entity('aos_trace_steps')
export class TraceStepEntity {
  @PrimaryColumn('uuid') step_id: string;
  @Column('uuid') trace_id: string;
  @Column('uuid') tenant_id: string;
  @Column('int') step_index: number;
  @Column('text') step_type: string;
  @Column('text') level: string;
  @Column('text', { nullable: true }) source: string | null;
  @Column(timestamptz) timestamp: Date;
  @Column('int') tokens: number;
  @Column('int') cost_cents: number;
  @Column('int') duration_ms: number;
  /** `json`: the RFC 8785 text that was hashed, byte for byte (migration 1770000000000). */
  @Column('json', { nullable: true }) input_data: unknown;
  @Column('json', { nullable: true }) output_data: unknown;
  @Column('jsonb', { nullable: true }) metadata: unknown;
  @Column('char', { length: 64 }) content_hash: string;
  @Column(timestamptz) created_at: Date;
}

@Entity('policy_snapshots')
export class PolicySnapshotEntity {
  @PrimaryColumn('uuid') snapshot_id: string;
  @Column('uuid') tenant_id: string;
  @Column('uuid') trace_id: string;
  @Column('jsonb') snapshot: unknown;
  @Column(timestamptz) created_at: Date;
}

@Entity('system_logs')
export class SystemLogEntity {
  @PrimaryColumn('uuid') log_id: string;
  @Column('uuid', { nullable: true }) tenant_id: string | null;
  @Column('text') level: string;
  @Column('text') source: string;
  @Column('text') message: string;
  @Column(timestamptz) timestamp: Date;
  @Column('jsonb', { nullable: true }) context: unknown;
  @Column('text', { nullable: true }) trace_id: string | null;
  @Column('text', { nullable: true }) request_id: string | null;
  @Column(timestamptz) created_at: Date;
}

@Entity('audit_logs')
export class AuditLogEntity {
  @PrimaryColumn('uuid') log_id: string;
  @Column('uuid') tenant_id: string;
  @Column('uuid') actor_id: string;
  @Column('text') actor_type: string;
  @Column('text') action: string;
  @Column('text') resource_type: string;
  @Column('uuid', { nullable: true }) resource_id: string | null;
  @Column(timestamptz) timestamp: Date;
  @Column('jsonb', { nullable: true }) details: unknown;
  @Column('inet', { nullable: true }) ip_address: string | null;
  @Column('text', { nullable: true }) user_agent: string | null;
  @Column('boolean') success: boolean;
  @Column('text', { nullable: true }) failure_reason: string | null;
  @Column(timestamptz) created_at: Date;
}

export const ENTITIES = [TenantEntity, ApiKeyEntity, TraceEntity, TraceStepEntity, PolicySnapshotEntity, SystemLogEntity, AuditLogEntity];
