import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tamper-evident ledger (issue 7, `libs/logs-domain/LEDGER.md`): one
 * append-only RFC 9162 Merkle log per tenant (`log_id` = tenant id) and one for
 * the platform's own system logs (`log_id` = the nil UUID).
 *
 * - `aos_ledger_heads`: the log's size and right-edge frontier. Writers lock the
 *   head row as the last step of their transaction and hold it to commit, so the
 *   leaf order is the commit order.
 * - `aos_ledger_leaves`: one row per ledgered record (its ledger entry): index,
 *   leaf type, record id and the leaf hash (tree level 0).
 * - `aos_ledger_nodes`: the perfect subtrees of level >= 4 (16+ leaves) as the
 *   appends complete them, never recomputed; levels 1-3 are folded from at most 8
 *   leaves when a proof needs them, which keeps node writes at 1/8 per leaf.
 * - `aos_ledger_checkpoints`: signed C2SP checkpoints (also written outside the
 *   database by the service).
 * - `aos_ledger_gaps`: leaves whose record the retention purge removed; a
 *   statement trigger on the evidence tables records them, so an explained gap is
 *   not a failure, while a row removed any other way (triggers bypassed) is.
 *
 * Leaves, nodes, checkpoints and gaps are immutable like the evidence; the head
 * is state derived from the leaves (the checkpoint signer cross-checks it).
 */
export class Ledger1769600000000 implements MigrationInterface {
  name = 'Ledger1769600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE FUNCTION aos_ledger_visible(p_log uuid) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT p_log = aos_current_tenant() OR (p_log = '00000000-0000-0000-0000-000000000000'::uuid AND aos_is_platform())
$$;

CREATE TABLE aos_ledger_heads (
  log_id      uuid PRIMARY KEY,
  tree_size   bigint NOT NULL DEFAULT 0 CHECK (tree_size >= 0),
  frontier    bytea[] NOT NULL DEFAULT '{}',
  updated_at  timestamptz(3) NOT NULL DEFAULT now()
);

CREATE TABLE aos_ledger_leaves (
  log_id       uuid NOT NULL,
  leaf_index   bigint NOT NULL CHECK (leaf_index >= 0),
  leaf_type    text NOT NULL,
  record_id    uuid NOT NULL,
  leaf_hash    bytea NOT NULL CHECK (length(leaf_hash) = 32),
  appended_at  timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, leaf_index)
);
-- Inclusion proofs look a record up by id; a record is ledgered once.
CREATE UNIQUE INDEX aos_ledger_leaves_record_idx ON aos_ledger_leaves (record_id, leaf_type);

CREATE TABLE aos_ledger_nodes (
  log_id      uuid NOT NULL,
  level       smallint NOT NULL CHECK (level >= 4),
  node_index  bigint NOT NULL CHECK (node_index >= 0),
  hash        bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (log_id, level, node_index)
);

CREATE TABLE aos_ledger_checkpoints (
  log_id      uuid NOT NULL,
  tree_size   bigint NOT NULL CHECK (tree_size > 0),
  root_hash   bytea NOT NULL CHECK (length(root_hash) = 32),
  origin      text NOT NULL,
  key_id      text NOT NULL,
  note        text NOT NULL,
  signed_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, tree_size)
);

CREATE TABLE aos_ledger_gaps (
  log_id      uuid NOT NULL,
  leaf_index  bigint NOT NULL,
  leaf_type   text NOT NULL,
  record_id   uuid NOT NULL,
  purged_at   timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (log_id, leaf_index)
);

ALTER TABLE aos_ledger_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_ledger_leaves ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_ledger_nodes ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_ledger_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE aos_ledger_gaps ENABLE ROW LEVEL SECURITY;
CREATE POLICY ledger_isolation ON aos_ledger_heads USING (aos_ledger_visible(log_id)) WITH CHECK (aos_ledger_visible(log_id));
CREATE POLICY ledger_isolation ON aos_ledger_leaves USING (aos_ledger_visible(log_id)) WITH CHECK (aos_ledger_visible(log_id));
CREATE POLICY ledger_isolation ON aos_ledger_nodes USING (aos_ledger_visible(log_id)) WITH CHECK (aos_ledger_visible(log_id));
CREATE POLICY ledger_isolation ON aos_ledger_checkpoints USING (aos_ledger_visible(log_id)) WITH CHECK (aos_ledger_visible(log_id));
CREATE POLICY ledger_isolation ON aos_ledger_gaps USING (aos_ledger_visible(log_id)) WITH CHECK (aos_ledger_visible(log_id));

CREATE TRIGGER aos_ledger_leaves_immutable BEFORE UPDATE OR DELETE ON aos_ledger_leaves FOR EACH ROW EXECUTE FUNCTION aos_reject_change();
CREATE TRIGGER aos_ledger_nodes_immutable BEFORE UPDATE OR DELETE ON aos_ledger_nodes FOR EACH ROW EXECUTE FUNCTION aos_reject_change();
CREATE TRIGGER aos_ledger_checkpoints_immutable BEFORE UPDATE OR DELETE ON aos_ledger_checkpoints FOR EACH ROW EXECUTE FUNCTION aos_reject_change();
CREATE TRIGGER aos_ledger_gaps_immutable BEFORE UPDATE OR DELETE ON aos_ledger_gaps FOR EACH ROW EXECUTE FUNCTION aos_reject_change();
CREATE TRIGGER aos_ledger_heads_no_delete BEFORE DELETE ON aos_ledger_heads FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

-- The logs with leaves no checkpoint covers yet, of every tenant (hence
-- SECURITY DEFINER): ids only, for the signer to visit each in its own scope.
CREATE FUNCTION aos_ledger_unsigned_logs() RETURNS TABLE (log_id uuid, tree_size bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT h.log_id, h.tree_size FROM aos_ledger_heads h
  WHERE h.tree_size > coalesce((SELECT max(c.tree_size) FROM aos_ledger_checkpoints c WHERE c.log_id = h.log_id), 0)
$$;

-- Records removed by the retention purge become explained gaps. Rows are
-- deleted only inside aos_retention_purge (the immutability triggers refuse
-- every other DELETE), so this sees exactly the purged records.
CREATE FUNCTION aos_ledger_record_gaps() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF TG_TABLE_NAME = 'aos_traces' THEN
    INSERT INTO aos_ledger_gaps (log_id, leaf_index, leaf_type, record_id)
    SELECT l.log_id, l.leaf_index, l.leaf_type, l.record_id
    FROM purged o JOIN aos_ledger_leaves l ON l.record_id = o.trace_id AND l.leaf_type = 'aos.trace.v1';
  ELSIF TG_TABLE_NAME = 'audit_logs' THEN
    INSERT INTO aos_ledger_gaps (log_id, leaf_index, leaf_type, record_id)
    SELECT l.log_id, l.leaf_index, l.leaf_type, l.record_id
    FROM purged o JOIN aos_ledger_leaves l ON l.record_id = o.log_id AND l.leaf_type = 'aos.audit.v1';
  ELSE
    INSERT INTO aos_ledger_gaps (log_id, leaf_index, leaf_type, record_id)
    SELECT l.log_id, l.leaf_index, l.leaf_type, l.record_id
    FROM purged o JOIN aos_ledger_leaves l ON l.record_id = o.log_id AND l.leaf_type = 'aos.syslog.v1';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER aos_traces_ledger_gaps AFTER DELETE ON aos_traces
  REFERENCING OLD TABLE AS purged FOR EACH STATEMENT EXECUTE FUNCTION aos_ledger_record_gaps();
CREATE TRIGGER audit_logs_ledger_gaps AFTER DELETE ON audit_logs
  REFERENCING OLD TABLE AS purged FOR EACH STATEMENT EXECUTE FUNCTION aos_ledger_record_gaps();
CREATE TRIGGER system_logs_ledger_gaps AFTER DELETE ON system_logs
  REFERENCING OLD TABLE AS purged FOR EACH STATEMENT EXECUTE FUNCTION aos_ledger_record_gaps();
`);
    const tables = ['aos_ledger_heads', 'aos_ledger_leaves', 'aos_ledger_nodes', 'aos_ledger_checkpoints', 'aos_ledger_gaps'];
    for (const table of tables) {
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION aos_reject_change()`);
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_no_truncate`);
    }
    for (const table of tables.slice(1, 5)) await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_immutable`);
    await q.query(`ALTER TABLE aos_ledger_heads ENABLE ALWAYS TRIGGER aos_ledger_heads_no_delete`);
    for (const table of ['aos_traces', 'audit_logs', 'system_logs']) {
      await q.query(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_ledger_gaps`);
    }
  }

  async down(): Promise<void> {
    throw new Error('The ledger is never rolled back: restore from backup instead.');
  }
}
