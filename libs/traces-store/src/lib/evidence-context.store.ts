import { ConflictError, type IncidentContext, type JsonValue, toUtcRfc3339 } from '@aos/logs-domain';
import type { Database } from './database/database';
import { iso } from './rows';

export interface PolicySnapshot {
  snapshot_id: string;
  trace_id: string;
  snapshot: Record<string, JsonValue> | JsonValue;
  created_at: string;
}

export interface IncidentRecord extends IncidentContext {
  updated_at: string;
}

export interface IncidentInput {
  title?: string | null;
  severity?: 'low' | 'medium' | 'high' | 'critical' | null;
  status?: 'open' | 'acknowledged' | 'resolved' | null;
  opened_at?: string | null;
}

/**
 * What evidence bundles read from the neighbouring domains, over the tables this
 * service keeps for them: the write-once policy snapshot recorded with a trace,
 * and the incidents mirror.
 */
export class EvidenceContextStore {
  constructor(private readonly db: Database) {}

  async getPolicySnapshot(tenantId: string, traceId: string): Promise<PolicySnapshot | null> {
    const [row] = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(`SELECT snapshot_id, trace_id, snapshot, created_at FROM policy_snapshots WHERE trace_id = $1`, [traceId]),
    );
    return row ? { snapshot_id: row.snapshot_id, trace_id: row.trace_id, snapshot: row.snapshot, created_at: iso(row.created_at)! } : null;
  }

  async getIncident(tenantId: string, incidentId: string): Promise<IncidentRecord | null> {
    const [row] = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(
        `SELECT incident_id, title, severity, status, opened_at, updated_at FROM incidents WHERE incident_id = $1`,
        [incidentId],
      ),
    );
    return row ? toIncident(row) : null;
  }

  /** Records an incident's current state (the Incidents domain owns it; this is its mirror). */
  async upsertIncident(tenantId: string, incidentId: string, input: IncidentInput): Promise<IncidentRecord> {
    const [row] = await this.db.transaction({ tenantId }, (sql) =>
      sql.query<Record<string, any>>(
        `INSERT INTO incidents (incident_id, tenant_id, title, severity, status, opened_at)
         VALUES ($1, $2, $3, $4, $5, coalesce($6::timestamptz, now()))
         ON CONFLICT (incident_id) DO UPDATE SET
           title = coalesce(EXCLUDED.title, incidents.title),
           severity = coalesce(EXCLUDED.severity, incidents.severity),
           status = coalesce(EXCLUDED.status, incidents.status),
           opened_at = coalesce($6::timestamptz, incidents.opened_at),
           updated_at = now()
         WHERE incidents.tenant_id = EXCLUDED.tenant_id
         RETURNING incident_id, title, severity, status, opened_at, updated_at`,
        [incidentId, tenantId, input.title ?? null, input.severity ?? null, input.status ?? null, input.opened_at ? toUtcRfc3339(input.opened_at) : null],
      ),
    );
    if (!row) {
      // The id belongs to another tenant: never reveal it, never touch it.
      throw new ConflictError(`incident_id ${incidentId} cannot be used`);
    }
    return toIncident(row);
  }
}

function toIncident(row: Record<string, any>): IncidentRecord {
  return {
    incident_id: row.incident_id,
    title: row.title,
    severity: row.severity,
    status: row.status,
    opened_at: iso(row.opened_at),
    updated_at: iso(row.updated_at)!,
  };
}
