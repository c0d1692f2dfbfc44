import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention (spec 10, DESIGN.md 3 and 6, issue 6).
 *
 * - `retention_policies`: a tenant's overrides (jsonb, checked by the service).
 * - `legal_holds`: holds on a tenant, a trace or an incident; placed once,
 *   released once (a trigger freezes everything else), never deleted.
 * - `aos_retention_purge(...)`: THE ONE PRIVILEGED DELETE PATH. A SECURITY
 *   DEFINER function owned by the migrating role. It sets the transaction-local
 *   GUC `aos.purge = 'on'` while it deletes; the immutability triggers allow a
 *   DELETE only when that GUC is on AND `current_user` is the owner of this
 *   function (inside a definer function `current_user` is its owner). The
 *   serving role setting the GUC itself still fails: its `current_user` is the
 *   serving role (and it holds no DELETE privilege to begin with).
 *
 * One call removes at most `p_limit` expired rows of one tenant (NULL: platform
 * system logs), one type and, for system logs, one level, so each batch is a
 * short transaction and ingestion carries on. Nothing under an active legal
 * hold goes: a tenant hold keeps everything of the tenant; a trace hold keeps
 * that trace (steps, snapshot, search rows), its system logs (`trace_id`) and
 * audit rows about it (`resource_id`); an incident hold keeps every trace linked
 * to the incident and audit rows about the incident. Active traces never go.
 *
 * Expiry: system logs by `created_at` (DESIGN.md 8), traces by `completed_at`
 * (sealed only), audit logs by `timestamp`. Rows go oldest first.
 *
 * It answers what it removed (or, with `p_dry_run`, what would go, without a
 * limit and without deleting): `removed` rows, `steps_removed` (traces),
 * `first_at`/`last_at` (the expiry times of the oldest and newest), and
 * `removed_hash` = hex(sha256(concatenation, in removal order (time, id), of
 * each record's hash as lowercase hex)). A record's hash is:
 * - trace: its `content_hash` (which covers its steps, DESIGN.md 4);
 * - system or audit log: hex(sha256(convert_to((to_jsonb(row) - 'search_vector')::text, 'UTF8')))
 *   with TimeZone = 'UTC', i.e. the row's columns (but the derived search vector) as
 *   PostgreSQL's canonical jsonb text (keys sorted; timestamps as 2026-01-20T10:15:30.123+00:00).
 *   The function builds that jsonb column by column (jsonb_build_object gives the same text)
 *   so it never renders the tsvector.
 * An empty batch hashes the empty string. The function runs with TimeZone = 'UTC', so the
 * hash does not depend on the caller's session.
 *
 * Deleting: system and audit logs go by DELETE ... RETURNING (only rows this call removed
 * are counted and hashed, whatever a concurrent purge does); a trace batch is locked with
 * FOR UPDATE SKIP LOCKED, then its children and the traces are deleted.
 */
export class Retention1769400000000 implements MigrationInterface {
  name = 'Retention1769400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE retention_policies (
  tenant_id   uuid PRIMARY KEY REFERENCES tenants (tenant_id),
  overrides   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(overrides) = 'object'),
  updated_by  uuid,
  updated_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE legal_holds (
  hold_id      uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL REFERENCES tenants (tenant_id),
  scope        text NOT NULL CHECK (scope IN ('tenant', 'trace', 'incident')),
  target_id    uuid,
  reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  placed_by    uuid NOT NULL,
  placed_at    timestamptz(3) NOT NULL DEFAULT now(),
  released_at  timestamptz(3),
  released_by  uuid,
  CONSTRAINT legal_holds_target CHECK ((scope = 'tenant') = (target_id IS NULL)),
  CONSTRAINT legal_holds_release CHECK ((released_at IS NULL) = (released_by IS NULL))
);
CREATE INDEX legal_holds_active_idx ON legal_holds (tenant_id, scope, target_id) WHERE released_at IS NULL;
CREATE INDEX legal_holds_list_idx ON legal_holds (tenant_id, placed_at, hold_id);

-- A hold is placed once and released once; nothing else about it changes.
CREATE FUNCTION legal_holds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'Immutable record: legal holds are released, never deleted' USING ERRCODE = 'AOS01';
  END IF;
  IF OLD.released_at IS NOT NULL THEN
    RAISE EXCEPTION 'Immutable record: legal hold % is already released', OLD.hold_id USING ERRCODE = 'AOS01';
  END IF;
  IF (NEW.hold_id, NEW.tenant_id, NEW.scope, NEW.target_id, NEW.reason, NEW.placed_by, NEW.placed_at)
     IS DISTINCT FROM (OLD.hold_id, OLD.tenant_id, OLD.scope, OLD.target_id, OLD.reason, OLD.placed_by, OLD.placed_at) THEN
    RAISE EXCEPTION 'Immutable record: legal hold % cannot change', OLD.hold_id USING ERRCODE = 'AOS01';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER legal_holds_immutable BEFORE UPDATE OR DELETE ON legal_holds
  FOR EACH ROW EXECUTE FUNCTION legal_holds_guard();
ALTER TABLE legal_holds ENABLE ALWAYS TRIGGER legal_holds_immutable;

ALTER TABLE retention_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE legal_holds ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON retention_policies USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON legal_holds USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());

-- Purge scans: system logs by tenant, level and age; sealed traces by completion.
CREATE INDEX system_logs_retention_idx ON system_logs (tenant_id, level, created_at);
CREATE INDEX aos_traces_retention_idx ON aos_traces (tenant_id, completed_at) WHERE status <> 'active';
`);

    // The purge function first (the triggers name it), then the triggers' new DELETE branch.
    await q.query(`
CREATE FUNCTION aos_retention_purge(p_tenant uuid, p_type text, p_level text, p_before timestamptz, p_limit integer, p_dry_run boolean DEFAULT false)
RETURNS TABLE (removed integer, steps_removed integer, first_at timestamptz, last_at timestamptz, removed_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET TimeZone = 'UTC' AS $$
DECLARE
  lim bigint := CASE WHEN p_dry_run THEN NULL ELSE greatest(coalesce(p_limit, 0), 0) END;
  tenant_clause text := CASE WHEN p_tenant IS NULL THEN 'x.tenant_id IS NULL' ELSE 'x.tenant_id = $1' END;
  ids uuid[];
  hashes text;
BEGIN
  removed := 0;
  steps_removed := 0;
  IF p_type IS NULL OR p_type NOT IN ('system_logs', 'traces', 'audit_logs') THEN
    RAISE EXCEPTION 'aos_retention_purge: unknown type %', p_type USING ERRCODE = '22023';
  END IF;
  IF p_type = 'system_logs' AND (p_level IS NULL OR p_level NOT IN ('debug', 'info', 'warning', 'error', 'critical')) THEN
    RAISE EXCEPTION 'aos_retention_purge: unknown level %', p_level USING ERRCODE = '22023';
  END IF;
  IF p_type <> 'system_logs' AND p_tenant IS NULL THEN
    RAISE EXCEPTION 'aos_retention_purge: % belong to a tenant', p_type USING ERRCODE = '22023';
  END IF;
  IF p_before IS NULL THEN
    RAISE EXCEPTION 'aos_retention_purge: a cutoff is required' USING ERRCODE = '22023';
  END IF;
  -- A tenant-wide hold keeps everything of the tenant.
  IF p_tenant IS NOT NULL AND EXISTS (
    SELECT 1 FROM legal_holds h WHERE h.tenant_id = p_tenant AND h.scope = 'tenant' AND h.released_at IS NULL) THEN
    removed_hash := encode(sha256(''::bytea), 'hex');
    RETURN NEXT;
    RETURN;
  END IF;

  PERFORM set_config('aos.purge', CASE WHEN p_dry_run THEN '' ELSE 'on' END, true);

  IF p_type = 'traces' THEN
    SELECT array_agg(v.trace_id ORDER BY v.completed_at, v.trace_id), count(*)::int, min(v.completed_at), max(v.completed_at),
           string_agg(v.content_hash::text, '' ORDER BY v.completed_at, v.trace_id), coalesce(sum(v.step_count), 0)::int
      INTO ids, removed, first_at, last_at, hashes, steps_removed
    FROM (
      SELECT t.trace_id, t.completed_at, t.content_hash, t.step_count FROM aos_traces t
      WHERE t.tenant_id = p_tenant AND t.status <> 'active' AND t.completed_at < p_before
        AND NOT EXISTS (
          SELECT 1 FROM legal_holds h
          WHERE h.tenant_id = p_tenant AND h.released_at IS NULL
            AND ((h.scope = 'trace' AND h.target_id = t.trace_id) OR (h.scope = 'incident' AND h.target_id = t.incident_id)))
      ORDER BY t.completed_at, t.trace_id
      LIMIT lim
      FOR UPDATE OF t SKIP LOCKED
    ) v;
    IF NOT p_dry_run AND removed > 0 THEN
      -- The batch is locked (a concurrent purge skips it): children first.
      DELETE FROM aos_step_search s WHERE s.trace_id = ANY (ids);
      DELETE FROM aos_step_search_queue s WHERE s.trace_id = ANY (ids);
      DELETE FROM policy_snapshots s WHERE s.trace_id = ANY (ids);
      DELETE FROM aos_trace_steps s WHERE s.trace_id = ANY (ids);
      GET DIAGNOSTICS steps_removed = ROW_COUNT;
      -- export_jobs and export_files go by cascade: a rendered PDF never outlives its evidence.
      DELETE FROM aos_traces t WHERE t.trace_id = ANY (ids);
    END IF;
  ELSE
    -- Dry: the expired rows, hashed. Else: DELETE ... RETURNING, so only rows this call
    -- really removed are counted and hashed (a row a concurrent purge took is not returned).
    EXECUTE format(
      CASE WHEN p_dry_run THEN $f$
        WITH gone AS (
          SELECT x.log_id, x.%1$I AS at, encode(sha256(convert_to(%6$s::text, 'UTF8')), 'hex') AS h
          FROM %2$I x
          WHERE %3$s AND x.%1$I < $2 %4$s %5$s
        )
        SELECT count(*)::int, min(g.at), max(g.at), string_agg(g.h, '' ORDER BY g.at, g.log_id) FROM gone g
      $f$ ELSE $f$
        WITH gone AS (
          DELETE FROM %2$I x USING (
            SELECT x.log_id FROM %2$I x
            WHERE %3$s AND x.%1$I < $2 %4$s %5$s
            ORDER BY x.%1$I, x.log_id
            LIMIT $4
          ) v
          WHERE x.log_id = v.log_id
          RETURNING x.log_id, x.%1$I AS at, encode(sha256(convert_to(%6$s::text, 'UTF8')), 'hex') AS h
        )
        SELECT count(*)::int, min(g.at), max(g.at), string_agg(g.h, '' ORDER BY g.at, g.log_id) FROM gone g
      $f$ END,
      CASE WHEN p_type = 'system_logs' THEN 'created_at' ELSE 'timestamp' END,
      p_type,
      tenant_clause,
      CASE WHEN p_type = 'system_logs' THEN 'AND x.level = $3' ELSE '' END,
      CASE
        WHEN p_tenant IS NULL THEN ''
        WHEN p_type = 'system_logs' THEN
          'AND (x.trace_id IS NULL OR NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = $1 AND h.released_at IS NULL
             AND h.scope = ''trace'' AND h.target_id::text = lower(x.trace_id)))'
        ELSE
          'AND (x.resource_id IS NULL OR NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.tenant_id = $1 AND h.released_at IS NULL
             AND h.scope IN (''trace'', ''incident'') AND h.target_id = x.resource_id))'
      END,
      -- The row's columns but the derived search_vector: the same jsonb as to_jsonb(x) - 'search_vector'.
      CASE WHEN p_type = 'system_logs' THEN
        'jsonb_build_object(''log_id'', x.log_id, ''tenant_id'', x.tenant_id, ''level'', x.level, ''source'', x.source,
           ''message'', x.message, ''timestamp'', x."timestamp", ''context'', x.context, ''trace_id'', x.trace_id,
           ''request_id'', x.request_id, ''created_at'', x.created_at)'
      ELSE
        'jsonb_build_object(''log_id'', x.log_id, ''tenant_id'', x.tenant_id, ''actor_id'', x.actor_id, ''actor_type'', x.actor_type,
           ''action'', x.action, ''resource_type'', x.resource_type, ''resource_id'', x.resource_id, ''timestamp'', x."timestamp",
           ''details'', x.details, ''ip_address'', x.ip_address, ''user_agent'', x.user_agent, ''success'', x.success,
           ''failure_reason'', x.failure_reason, ''created_at'', x.created_at)'
      END)
    INTO removed, first_at, last_at, hashes
    USING p_tenant, p_before, p_level, lim, p_dry_run;
  END IF;

  PERFORM set_config('aos.purge', '', true);
  removed_hash := encode(sha256(convert_to(coalesce(hashes, ''), 'UTF8')), 'hex');
  RETURN NEXT;
END $$;

-- True only inside aos_retention_purge: the GUC it sets, and its owner as current_user.
-- The owner's name is written in when this migration runs (the migrating role creates
-- both functions), so the per-row check reads no catalog; after an ALTER FUNCTION ...
-- OWNER TO, re-create this function with the new owner's name.
DO $do$ BEGIN
  EXECUTE format($f$
    CREATE FUNCTION aos_purge_allowed() RETURNS boolean LANGUAGE sql STABLE AS $b$
      SELECT coalesce(current_setting('aos.purge', true), '') = 'on' AND current_user::text = %L
    $b$ $f$, (SELECT pg_get_userbyid(p.proowner)::text FROM pg_proc p
              WHERE p.oid = 'aos_retention_purge(uuid,text,text,timestamptz,integer,boolean)'::regprocedure));
END $do$;

-- Row DELETEs pass only for the purge; everything else is still refused (TRUNCATE too).
CREATE OR REPLACE FUNCTION aos_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND aos_purge_allowed() THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'Immutable record: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'AOS01';
END $$;

CREATE OR REPLACE FUNCTION aos_traces_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'active' AND aos_purge_allowed() THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'Immutable record: traces are deleted only by the retention purge' USING ERRCODE = 'AOS01';
  END IF;
  IF OLD.incident_id IS NOT NULL AND NEW.incident_id IS DISTINCT FROM OLD.incident_id THEN
    RAISE EXCEPTION 'Immutable record: incident_id of trace % is already set', OLD.trace_id USING ERRCODE = 'AOS01';
  END IF;
  IF OLD.status <> 'active' THEN
    IF (to_jsonb(NEW) - 'incident_id' - 'reason_search') IS DISTINCT FROM (to_jsonb(OLD) - 'incident_id' - 'reason_search') THEN
      RAISE EXCEPTION 'Immutable record: trace % is sealed', OLD.trace_id USING ERRCODE = 'AOS01';
    END IF;
    RETURN NEW;
  END IF;
  IF (NEW.trace_id, NEW.tenant_id, NEW.run_id, NEW.agent_id, NEW.agent_name, NEW.started_at, NEW.created_at,
      NEW.is_synthetic, NEW.synthetic_scenario_id)
     IS DISTINCT FROM
     (OLD.trace_id, OLD.tenant_id, OLD.run_id, OLD.agent_id, OLD.agent_name, OLD.started_at, OLD.created_at,
      OLD.is_synthetic, OLD.synthetic_scenario_id) THEN
    RAISE EXCEPTION 'Immutable record: identity of trace % cannot change', OLD.trace_id USING ERRCODE = 'AOS01';
  END IF;
  IF OLD.violation_step_index IS NOT NULL AND
     (NEW.violation_step_index, NEW.violation_policy_id, NEW.violation_reason, NEW.violation_timestamp)
     IS DISTINCT FROM
     (OLD.violation_step_index, OLD.violation_policy_id, OLD.violation_reason, OLD.violation_timestamp) THEN
    RAISE EXCEPTION 'Immutable record: violation of trace % is already recorded', OLD.trace_id USING ERRCODE = 'AOS01';
  END IF;
  IF NEW.step_count < OLD.step_count OR NEW.total_tokens < OLD.total_tokens OR NEW.total_cost_cents < OLD.total_cost_cents THEN
    RAISE EXCEPTION 'Immutable record: totals of trace % cannot decrease', OLD.trace_id USING ERRCODE = 'AOS01';
  END IF;
  RETURN NEW;
END $$;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
