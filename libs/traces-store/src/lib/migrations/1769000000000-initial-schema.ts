import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The evidence schema (spec section 3, DESIGN.md sections 3 and 6): tables, the
 * indexes behind every list filter of spec 4.5, the immutability triggers and
 * row-level security. Triggers are ENABLE ALWAYS so `session_replication_role`
 * cannot skip them; TRUNCATE is refused on every evidence table.
 */
export class InitialSchema1769000000000 implements MigrationInterface {
  name = 'InitialSchema1769000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- The tenant of the current transaction, set by the application with
-- set_config('aos.tenant_id', ..., true); NULL when unset.
CREATE FUNCTION aos_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('aos.tenant_id', true), '')::uuid
$$;

CREATE FUNCTION aos_is_platform() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('aos.platform', true), '') = 'on'
$$;

-- Every rejected change raises SQLSTATE AOS01, which the application maps to 409.
CREATE FUNCTION aos_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'Immutable record: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'AOS01';
END $$;

CREATE TABLE tenants (
  tenant_id   uuid PRIMARY KEY,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  compliance  text NOT NULL DEFAULT 'none' CHECK (compliance IN ('none', 'soc2', 'hipaa')),
  created_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY,
  tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id),
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('admin', 'auditor', 'ingest', 'viewer')),
  key_hash    char(64) NOT NULL UNIQUE,
  key_prefix  text NOT NULL,
  created_by  uuid,
  created_at  timestamptz(3) NOT NULL DEFAULT now(),
  revoked_at  timestamptz(3)
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at, id);

-- Authentication happens before the tenant is known: a definer function finds
-- a key by its hash without opening the table to the application role.
CREATE FUNCTION aos_authenticate(p_key_hash text)
RETURNS TABLE (id uuid, tenant_id uuid, role text, name text, revoked_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT k.id, k.tenant_id, k.role, k.name, k.revoked_at FROM api_keys k WHERE k.key_hash = p_key_hash
$$;

CREATE TABLE aos_traces (
  trace_id               uuid PRIMARY KEY,
  tenant_id              uuid NOT NULL REFERENCES tenants (tenant_id),
  run_id                 uuid NOT NULL,
  agent_id               uuid NOT NULL,
  agent_name             text,
  status                 text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'completed', 'failed', 'aborted')),
  step_count             integer NOT NULL DEFAULT 0 CHECK (step_count >= 0),
  total_tokens           bigint NOT NULL DEFAULT 0 CHECK (total_tokens >= 0),
  total_cost_cents       bigint NOT NULL DEFAULT 0 CHECK (total_cost_cents >= 0),
  total_duration_ms      bigint NOT NULL DEFAULT 0 CHECK (total_duration_ms >= 0),
  started_at             timestamptz(3) NOT NULL,
  completed_at           timestamptz(3),
  content_hash           char(64),
  is_synthetic           boolean NOT NULL DEFAULT false,
  synthetic_scenario_id  text,
  incident_id            uuid,
  violation_step_index   integer CHECK (violation_step_index >= 0),
  violation_timestamp    timestamptz(3),
  violation_policy_id    uuid,
  violation_reason       text,
  created_at             timestamptz(3) NOT NULL DEFAULT now(),
  reason_search          tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(violation_reason, ''))) STORED,
  UNIQUE (tenant_id, trace_id),
  CONSTRAINT sealed_has_hash CHECK ((status = 'active') = (content_hash IS NULL)),
  CONSTRAINT sealed_has_completion CHECK ((status = 'active') = (completed_at IS NULL)),
  CONSTRAINT violation_complete CHECK (
    (violation_step_index IS NULL AND violation_policy_id IS NULL AND violation_reason IS NULL AND violation_timestamp IS NULL)
    OR (violation_step_index IS NOT NULL AND violation_policy_id IS NOT NULL AND violation_reason IS NOT NULL AND violation_timestamp IS NOT NULL))
);
-- Every list filter is led by tenant_id; sort columns end with trace_id for keyset paging.
CREATE INDEX aos_traces_started_idx   ON aos_traces (tenant_id, started_at, trace_id);
CREATE INDEX aos_traces_created_idx   ON aos_traces (tenant_id, created_at, trace_id);
CREATE INDEX aos_traces_tokens_idx    ON aos_traces (tenant_id, total_tokens, trace_id);
CREATE INDEX aos_traces_cost_idx      ON aos_traces (tenant_id, total_cost_cents, trace_id);
CREATE INDEX aos_traces_steps_idx     ON aos_traces (tenant_id, step_count, trace_id);
CREATE INDEX aos_traces_duration_idx  ON aos_traces (tenant_id, total_duration_ms, trace_id);
CREATE INDEX aos_traces_run_idx       ON aos_traces (tenant_id, run_id, started_at, trace_id);
CREATE INDEX aos_traces_agent_idx     ON aos_traces (tenant_id, agent_id, started_at, trace_id);
CREATE INDEX aos_traces_status_idx    ON aos_traces (tenant_id, status, started_at, trace_id);
CREATE INDEX aos_traces_violated_idx  ON aos_traces (tenant_id, started_at, trace_id) WHERE violation_step_index IS NOT NULL;
CREATE INDEX aos_traces_policy_idx    ON aos_traces (tenant_id, violation_policy_id, started_at, trace_id) WHERE violation_policy_id IS NOT NULL;
CREATE INDEX aos_traces_incident_idx  ON aos_traces (tenant_id, incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX aos_traces_reason_search_idx ON aos_traces USING gin (reason_search) WHERE violation_reason IS NOT NULL;

-- A sealed trace is frozen but for a write-once incident link; an open trace
-- keeps its identity, grows its counters and takes a violation once.
CREATE FUNCTION aos_traces_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
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
CREATE TRIGGER aos_traces_immutable BEFORE UPDATE OR DELETE ON aos_traces
  FOR EACH ROW EXECUTE FUNCTION aos_traces_guard();

CREATE TABLE aos_trace_steps (
  step_id       uuid PRIMARY KEY,
  trace_id      uuid NOT NULL,
  tenant_id     uuid NOT NULL,
  step_index    integer NOT NULL CHECK (step_index >= 0),
  step_type     text NOT NULL CHECK (step_type IN ('input', 'llm_call', 'tool_call', 'output', 'policy_check', 'violation')),
  level         text NOT NULL DEFAULT 'info' CHECK (level IN ('info', 'warning', 'error')),
  source        text,
  "timestamp"   timestamptz(3) NOT NULL,
  tokens        integer NOT NULL DEFAULT 0 CHECK (tokens >= 0),
  cost_cents    integer NOT NULL DEFAULT 0 CHECK (cost_cents >= 0),
  duration_ms   integer NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  input_data    jsonb,
  output_data   jsonb,
  metadata      jsonb,
  content_hash  char(64) NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('english', coalesce(input_data, '{}'::jsonb)) || to_tsvector('english', coalesce(output_data, '{}'::jsonb))
  ) STORED,
  CONSTRAINT aos_trace_steps_trace_fk FOREIGN KEY (tenant_id, trace_id) REFERENCES aos_traces (tenant_id, trace_id),
  CONSTRAINT aos_trace_steps_index_key UNIQUE (trace_id, step_index)
);
CREATE INDEX aos_trace_steps_search_idx ON aos_trace_steps USING gin (search_vector);
CREATE TRIGGER aos_trace_steps_immutable BEFORE UPDATE OR DELETE ON aos_trace_steps
  FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

-- A sealed trace takes no new step, whatever path the INSERT comes by.
CREATE FUNCTION aos_trace_steps_sealed_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_steps n JOIN aos_traces t ON t.trace_id = n.trace_id WHERE t.status <> 'active') THEN
    RAISE EXCEPTION 'Immutable record: steps cannot be added to a sealed trace' USING ERRCODE = 'AOS01';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER aos_trace_steps_sealed AFTER INSERT ON aos_trace_steps
  REFERENCING NEW TABLE AS new_steps FOR EACH STATEMENT EXECUTE FUNCTION aos_trace_steps_sealed_guard();

-- The policy in force when the run started (write-once, read by evidence bundles).
CREATE TABLE policy_snapshots (
  snapshot_id  uuid PRIMARY KEY,
  tenant_id    uuid NOT NULL,
  trace_id     uuid NOT NULL UNIQUE,
  snapshot     jsonb NOT NULL,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, trace_id) REFERENCES aos_traces (tenant_id, trace_id)
);
CREATE TRIGGER policy_snapshots_immutable BEFORE UPDATE OR DELETE ON policy_snapshots
  FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

-- Platform system logs carry no tenant. No foreign key: this is the hot ingestion path.
CREATE TABLE system_logs (
  log_id       uuid PRIMARY KEY,
  tenant_id    uuid,
  level        text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error', 'critical')),
  source       text NOT NULL,
  message      text NOT NULL,
  "timestamp"  timestamptz(3) NOT NULL,
  context      jsonb,
  trace_id     text,
  request_id   text,
  created_at   timestamptz(3) NOT NULL DEFAULT now(),
  search_vector tsvector GENERATED ALWAYS AS (
    to_tsvector('english', message) || to_tsvector('english', coalesce(context, '{}'::jsonb))
  ) STORED
);
CREATE INDEX system_logs_time_idx     ON system_logs (tenant_id, "timestamp", log_id);
CREATE INDEX system_logs_level_idx    ON system_logs (tenant_id, level, "timestamp", log_id);
CREATE INDEX system_logs_source_idx   ON system_logs (tenant_id, source, "timestamp", log_id);
CREATE INDEX system_logs_trace_idx    ON system_logs (tenant_id, trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX system_logs_request_idx  ON system_logs (tenant_id, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX system_logs_created_idx  ON system_logs (created_at);
CREATE INDEX system_logs_search_idx   ON system_logs USING gin (search_vector);
CREATE TRIGGER system_logs_immutable BEFORE UPDATE OR DELETE ON system_logs
  FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

CREATE TABLE audit_logs (
  log_id          uuid PRIMARY KEY,
  tenant_id       uuid NOT NULL REFERENCES tenants (tenant_id),
  actor_id        uuid NOT NULL,
  actor_type      text NOT NULL CHECK (actor_type IN ('user', 'system', 'api_key')),
  action          text NOT NULL,
  resource_type   text NOT NULL,
  resource_id     uuid,
  "timestamp"     timestamptz(3) NOT NULL DEFAULT now(),
  details         jsonb,
  ip_address      inet,
  user_agent      text,
  success         boolean NOT NULL DEFAULT true,
  failure_reason  text,
  created_at      timestamptz(3) NOT NULL DEFAULT now(),
  search_vector   tsvector GENERATED ALWAYS AS (
    to_tsvector('english', action) || to_tsvector('english', coalesce(details, '{}'::jsonb))
  ) STORED
);
CREATE INDEX audit_logs_time_idx      ON audit_logs (tenant_id, "timestamp", log_id);
CREATE INDEX audit_logs_actor_idx     ON audit_logs (tenant_id, actor_id, "timestamp", log_id);
CREATE INDEX audit_logs_action_idx    ON audit_logs (tenant_id, action, "timestamp", log_id);
CREATE INDEX audit_logs_resource_idx  ON audit_logs (tenant_id, resource_type, resource_id, "timestamp", log_id);
CREATE INDEX audit_logs_success_idx   ON audit_logs (tenant_id, success, "timestamp", log_id);
CREATE INDEX audit_logs_search_idx    ON audit_logs USING gin (search_vector);
CREATE TRIGGER audit_logs_immutable BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

-- Row-level security: the second wall behind the application's tenant filters.
ALTER TABLE aos_traces ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_trace_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE policy_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE system_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON aos_traces USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON aos_trace_steps USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON policy_snapshots USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON audit_logs USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON api_keys USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON system_logs USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY platform_logs ON system_logs USING (tenant_id IS NULL AND aos_is_platform()) WITH CHECK (tenant_id IS NULL AND aos_is_platform());
`);
    // TRUNCATE skips row triggers: refuse it with statement triggers. ENABLE ALWAYS
    // keeps every guard on under session_replication_role = replica.
    for (const table of ['aos_traces', 'aos_trace_steps', 'policy_snapshots', 'system_logs', 'audit_logs']) {
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION aos_reject_change()`);
    }
    const triggers: Array<[string, string]> = [
      ['aos_traces', 'aos_traces_immutable'],
      ['aos_trace_steps', 'aos_trace_steps_immutable'],
      ['aos_trace_steps', 'aos_trace_steps_sealed'],
      ['policy_snapshots', 'policy_snapshots_immutable'],
      ['system_logs', 'system_logs_immutable'],
      ['audit_logs', 'audit_logs_immutable'],
      ['aos_traces', 'aos_traces_no_truncate'],
      ['aos_trace_steps', 'aos_trace_steps_no_truncate'],
      ['policy_snapshots', 'policy_snapshots_no_truncate'],
      ['system_logs', 'system_logs_no_truncate'],
      ['audit_logs', 'audit_logs_no_truncate'],
    ];
    for (const [table, trigger] of triggers) {
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${trigger}`);
    }
  }

  async down(): Promise<void> {
    throw new Error('The evidence schema is never rolled back: restore from backup instead.');
  }
}
