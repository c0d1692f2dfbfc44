import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention, the database's own floor and the purge's audit intent (issue 6).
 *
 * 1. The floor. `aos_retention_purge` used to trust the cutoff it was given, so
 *    the serving role (which may EXECUTE it) could purge early by passing a late
 *    one. Now the function computes the tenant's retention itself, from what the
 *    database stores (the tenant's `compliance` and its `retention_policies`
 *    overrides), exactly as `effectiveRetention()` in libs/logs-domain does:
 *    - defaults: system logs DEBUG 1 day, INFO 7, WARNING 30, ERROR 90, CRITICAL
 *      permanent; traces 90 days; audit logs 365 days;
 *    - compliance minimums: none: audit 365; soc2: traces 365, audit 2557 (7
 *      years); hipaa: traces and audit 2192 (6 years); a year is 365.25 days
 *      rounded up;
 *    - an override replaces the profile's value but is lengthened to the
 *      profile's minimum (and to at least 1 day); `null` is permanent.
 *    `aos_retention_floor(tenant, type, level)` answers the latest cutoff allowed
 *    now: `clock - days * 86400 s` (NULL: permanent, nothing may go), and the
 *    purge refuses a later `p_before` (and any cutoff for a permanent target)
 *    with SQLSTATE AOS01, like every other refusal to remove a record (answered
 *    as 409). Dry runs too.
 *
 *    The floor's clock is the database's: `now()` plus the skew stored in
 *    `aos_retention_test_clock`, a one-row table only the owner can write (the
 *    serving role holds no privilege on it, and the definer functions read it).
 *    Production leaves it empty. Tests that move the application's Clock move
 *    this one to the same instant as the owner (`setDatabaseClock` in
 *    `@aos/traces-store/testing`). The service asks for the floor first and uses
 *    the earlier of its own cutoff and the floor, so an application host whose
 *    clock runs ahead of the database's never trips the refusal.
 *
 * 2. The intent. A purge that deletes rows of a tenant must name, in
 *    `p_audit_id`, the tenant's `retention_purge_started` audit row, written
 *    (committed) before its first batch. So no batch deletes anything without an
 *    audit row already saying who purged, when, with which cutoffs; the result
 *    row (`retention_purged`: counts, ranges, hashes) follows the last batch. A
 *    purge that dies between the two leaves the intent row without a result: the
 *    gap is visible. Batches stay short transactions of their own (ingestion
 *    carries on), which is why the intent is written first rather than one
 *    transaction holding every batch and the audit row. Platform system logs
 *    have no tenant audit trail and need no intent. The audit purge never
 *    removes the intent row it runs under.
 *
 * 3. Dry runs honour `p_limit` when it is given (NULL: count everything), so the
 *    schedule can ask cheaply whether anything is due (limit 1) before it writes
 *    an intent row.
 *
 * Not reversible (like the retention migration it amends).
 */
export class RetentionFloor1769500000000 implements MigrationInterface {
  name = 'RetentionFloor1769500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- Test-only skew of the floor's clock; owner-only (no grant to the serving role), empty in production.
CREATE TABLE aos_retention_test_clock (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  skew       interval NOT NULL,
  set_at     timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON aos_retention_test_clock FROM PUBLIC;

-- Days a tenant keeps one kind of record (NULL: permanent), from the stored profile and overrides.
-- p_tenant NULL: platform system logs, the default levels.
CREATE FUNCTION aos_retention_days(p_tenant uuid, p_type text, p_level text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
DECLARE
  profile text := 'none';
  ov jsonb := '{}'::jsonb;
  v jsonb;
  days integer;
  minimum integer;
BEGIN
  IF p_type IS NULL OR p_type NOT IN ('system_logs', 'traces', 'audit_logs') THEN
    RAISE EXCEPTION 'aos_retention_days: unknown type %', p_type USING ERRCODE = '22023';
  END IF;
  IF p_tenant IS NOT NULL THEN
    SELECT t.compliance INTO profile FROM tenants t WHERE t.tenant_id = p_tenant;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'aos_retention_days: unknown tenant %', p_tenant USING ERRCODE = '22023';
    END IF;
    SELECT r.overrides INTO ov FROM retention_policies r WHERE r.tenant_id = p_tenant;
    ov := coalesce(ov, '{}'::jsonb);
  END IF;
  IF p_type = 'system_logs' THEN
    IF p_level IS NULL OR p_level NOT IN ('debug', 'info', 'warning', 'error', 'critical') THEN
      RAISE EXCEPTION 'aos_retention_days: unknown level %', p_level USING ERRCODE = '22023';
    END IF;
    days := CASE p_level WHEN 'debug' THEN 1 WHEN 'info' THEN 7 WHEN 'warning' THEN 30 WHEN 'error' THEN 90 END;
    IF jsonb_typeof(ov -> 'system_logs') = 'object' AND (ov -> 'system_logs') ? p_level THEN
      v := ov -> 'system_logs' -> p_level;
    END IF;
  ELSIF p_type = 'traces' THEN
    days := 90;
    minimum := CASE profile WHEN 'soc2' THEN 365 WHEN 'hipaa' THEN 2192 END;
    IF ov ? 'traces' THEN v := ov -> 'traces'; END IF;
  ELSE
    days := 365;
    minimum := CASE profile WHEN 'soc2' THEN 2557 WHEN 'hipaa' THEN 2192 ELSE 365 END;
    IF ov ? 'audit_logs' THEN v := ov -> 'audit_logs'; END IF;
  END IF;
  -- The profile's value: the default lengthened to the minimum.
  IF days IS NOT NULL AND minimum IS NOT NULL THEN days := greatest(days, minimum); END IF;
  -- An override replaces it, lengthened to the minimum; null is permanent; anything else is ignored.
  IF v IS NOT NULL THEN
    IF jsonb_typeof(v) = 'null' THEN
      days := NULL;
    ELSIF jsonb_typeof(v) = 'number' THEN
      days := greatest(ceil(least(v::numeric, 36525))::integer, coalesce(minimum, 1), 1);
    END IF;
  END IF;
  RETURN days;
END $$;

-- The latest cutoff a purge may use now (NULL: permanent). The clock is the database's (plus the test skew).
CREATE FUNCTION aos_retention_floor(p_tenant uuid, p_type text, p_level text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public SET TimeZone = 'UTC' AS $$
DECLARE
  days integer := aos_retention_days(p_tenant, p_type, p_level);
BEGIN
  IF days IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN now() + coalesce((SELECT c.skew FROM aos_retention_test_clock c), interval '0')
         - make_interval(secs => days::double precision * 86400);
END $$;

DROP FUNCTION aos_retention_purge(uuid, text, text, timestamptz, integer, boolean);
`);

    await q.query(`
CREATE FUNCTION aos_retention_purge(p_tenant uuid, p_type text, p_level text, p_before timestamptz, p_limit integer,
                                    p_dry_run boolean DEFAULT false, p_audit_id uuid DEFAULT NULL)
RETURNS TABLE (removed integer, steps_removed integer, first_at timestamptz, last_at timestamptz, removed_hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET TimeZone = 'UTC' AS $$
DECLARE
  -- Dry: at most p_limit when given (NULL counts everything). Real: at most p_limit.
  lim bigint := CASE WHEN p_dry_run THEN CASE WHEN p_limit IS NOT NULL THEN greatest(p_limit, 0) END ELSE greatest(coalesce(p_limit, 0), 0) END;
  tenant_clause text := CASE WHEN p_tenant IS NULL THEN 'x.tenant_id IS NULL' ELSE 'x.tenant_id = $1' END;
  floor_at timestamptz;
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
  -- The floor: never a cutoff later than the tenant's retention allows, whoever asks.
  floor_at := aos_retention_floor(p_tenant, p_type, p_level);
  IF floor_at IS NULL THEN
    RAISE EXCEPTION 'Immutable record: aos_retention_purge: % % of this tenant are kept permanently', p_type, coalesce(p_level, '')
      USING ERRCODE = 'AOS01';
  END IF;
  IF p_before > floor_at THEN
    RAISE EXCEPTION 'Immutable record: aos_retention_purge: cutoff % is later than the retention floor % (% days)',
      p_before, floor_at, aos_retention_days(p_tenant, p_type, p_level) USING ERRCODE = 'AOS01';
  END IF;
  -- The intent: a deleting purge of a tenant runs under its retention_purge_started audit row.
  IF NOT p_dry_run AND p_tenant IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM audit_logs a WHERE a.log_id = p_audit_id AND a.tenant_id = p_tenant AND a.action = 'retention_purge_started') THEN
    RAISE EXCEPTION 'aos_retention_purge: p_audit_id must name the tenant''s retention_purge_started audit row, written before the purge'
      USING ERRCODE = '22023';
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
    -- Dry: the expired rows (the oldest p_limit when given), hashed. Else: DELETE ... RETURNING, so only
    -- rows this call really removed are counted and hashed (a row a concurrent purge took is not returned).
    EXECUTE format(
      CASE WHEN p_dry_run THEN $f$
        WITH gone AS (
          SELECT x.log_id, x.%1$I AS at, encode(sha256(convert_to(%6$s::text, 'UTF8')), 'hex') AS h
          FROM %2$I x
          WHERE %3$s AND x.%1$I < $2 %4$s %5$s %7$s
          ORDER BY x.%1$I, x.log_id
          LIMIT $4
        )
        SELECT count(*)::int, min(g.at), max(g.at), string_agg(g.h, '' ORDER BY g.at, g.log_id) FROM gone g
      $f$ ELSE $f$
        WITH gone AS (
          DELETE FROM %2$I x USING (
            SELECT x.log_id FROM %2$I x
            WHERE %3$s AND x.%1$I < $2 %4$s %5$s %7$s
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
      END,
      -- The audit purge never removes the intent row it runs under.
      CASE WHEN p_type = 'audit_logs' THEN 'AND x.log_id IS DISTINCT FROM $5' ELSE '' END)
    INTO removed, first_at, last_at, hashes
    USING p_tenant, p_before, p_level, lim, p_audit_id;
  END IF;

  PERFORM set_config('aos.purge', '', true);
  removed_hash := encode(sha256(convert_to(coalesce(hashes, ''), 'UTF8')), 'hex');
  RETURN NEXT;
END $$;

-- Re-created with the new function's owner (the same migrating role), as the retention migration explains.
DO $do$ BEGIN
  EXECUTE format($f$
    CREATE OR REPLACE FUNCTION aos_purge_allowed() RETURNS boolean LANGUAGE sql STABLE AS $b$
      SELECT coalesce(current_setting('aos.purge', true), '') = 'on' AND current_user::text = %L
    $b$ $f$, (SELECT pg_get_userbyid(p.proowner)::text FROM pg_proc p
              WHERE p.oid = 'aos_retention_purge(uuid,text,text,timestamptz,integer,boolean,uuid)'::regprocedure));
END $do$;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
