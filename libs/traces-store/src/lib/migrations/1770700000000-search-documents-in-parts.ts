import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Most bytes of one search vector (PostgreSQL's limit is 1,048,575 of lexemes and positions). */
export const SEARCH_PART_BYTES = 1_000_000;
/** A step of at most this much JSON text (input and output) is parsed whole, as before. */
export const SEARCH_WHOLE_STEP_BYTES = 32_768;
/** A chunk of a larger document: bytes of UTF-8 text. */
export const SEARCH_CHUNK_BYTES = 24_576;

/**
 * Content that does not fit one tsvector no longer stops the search indexers,
 * and a phrase late in a batch of steps is found again:
 *
 * - A tsvector holds at most 1 MB. A step or system log with more distinct
 *   words (a retrieved document, a dump of ids: ~1.3 MB of text is enough) made
 *   the indexing call fail with "string is too long for tsvector"; retried, it
 *   stalled the whole queue behind it: no tenant's new steps (or logs) became
 *   searchable, and every export with a search term answered 503.
 * - Positions stop at 16,383: later words all get that position. A batch of
 *   steps was one vector, so in a batch of a hundred 2 KB steps (~21,000
 *   positions) no phrase after about step 75 could match: a quoted phrase, and
 *   every term the parser makes a phrase of, an order id (`ORD-123`), a UUID,
 *   `call_abc`. Searching for them found nothing.
 *
 * A batch of steps is now indexed as one or more rows of `aos_step_search`
 * (`part`, 0 first, joins the key):
 * - `aos_step_search_parts(trace, first, last)`: each step of up to
 *   SEARCH_WHOLE_STEP_BYTES of JSON is one piece, parsed as before
 *   (`to_tsvector(input) || to_tsvector(output)`); a larger one is parsed in chunks
 *   (`aos_search_chunks`: its string values as JSON arrays of at most
 *   SEARCH_CHUNK_BYTES, which to_tsvector indexes as it does the document; a longer
 *   string is cut at whitespace and the next chunk repeats the last words, so a
 *   phrase across the cut is found).
 * - `aos_pack_tsvectors(pieces)`: the pieces in order, in as few vectors as hold
 *   them under SEARCH_PART_BYTES and 16,382 positions (`aos_tsvector_last_position`
 *   of each), concatenated pairwise (`aos_tsvector_concat_all`). A batch that fits
 *   one, as a batch of up to ~75 chat steps does, is one row, as before.
 * Every search reads these rows through IN / EXISTS, so a trace matching in two
 * parts is one match; the count that takes each trace at its first matching
 * row (TraceList) orders rows by (first_step_index, part).
 *
 * A system log stays one row (its search lists and counts read
 * `system_logs_search` row by row). A log of up to 16 KB of message and a small
 * context is indexed as before; a larger one through
 * `aos_system_log_search_vector_bounded`, which answers the whole vector when it
 * fits and otherwise the vector of its leading chunks that fit: the API caps a
 * message at 32,768 characters, so only a context near 1 MB of distinct words
 * loses its tail. Phrases stay bounded by PostgreSQL's 256 positions per lexeme
 * within a vector, and in a log past 16,383 positions.
 */
export class SearchDocumentsInParts1770700000000 implements MigrationInterface {
  name = 'SearchDocumentsInParts1770700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- No indexer of a running instance may index a batch while the key changes: they take
-- this lock shared (1769900000000) and wait, their batches staying queued.
SELECT pg_advisory_xact_lock(7369900000001);

-- The last position of a vector (0 when it has none): a sentinel lexeme, which no text
-- produces (it holds a space) and which alone has weight A, is appended (concatenation
-- puts it one past the last position) and read back alone.
CREATE FUNCTION aos_tsvector_last_position(p tsvector) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT u.positions[1] - 1 FROM unnest(ts_filter(p || setweight('''aos last'':1'::tsvector, 'A'), '{a}')) u
$$;

-- The vectors concatenated in order, pairwise (a chain of || copies the growing left side
-- at every step: 100 steps' vectors took a fifth as long as parsing them).
CREATE FUNCTION aos_tsvector_concat_all(p tsvector[]) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  level tsvector[] := p;
  next tsvector[];
  i integer;
  n integer := coalesce(cardinality(p), 0);
BEGIN
  IF n = 0 THEN
    RETURN '';
  END IF;
  WHILE n > 1 LOOP
    next := '{}';
    i := 1;
    WHILE i < n LOOP
      next := array_append(next, level[i] || level[i + 1]);
      i := i + 2;
    END LOOP;
    IF i = n THEN
      next := array_append(next, level[n]);
    END IF;
    level := next;
    n := cardinality(level);
  END LOOP;
  RETURN level[1];
END $$;

-- The pieces, in order, in as few vectors as hold them, each under ${SEARCH_PART_BYTES} bytes and
-- 16,382 positions (concatenation clamps positions at 16,383, and then no phrase matches).
-- At least one vector: empty when there are no pieces.
CREATE FUNCTION aos_pack_tsvectors(p_pieces tsvector[]) RETURNS SETOF tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  part tsvector[] := '{}';
  part_positions integer := 0;
  part_bytes integer := 0;
  piece tsvector;
  piece_positions integer;
  piece_bytes integer;
BEGIN
  FOREACH piece IN ARRAY p_pieces LOOP
    piece_positions := aos_tsvector_last_position(piece);
    piece_bytes := pg_column_size(piece);
    IF part_bytes > 0 AND (part_positions + piece_positions >= 16382 OR part_bytes + piece_bytes >= ${SEARCH_PART_BYTES}) THEN
      RETURN NEXT aos_tsvector_concat_all(part);
      part := '{}';
      part_positions := 0;
      part_bytes := 0;
    END IF;
    part := array_append(part, piece);
    part_positions := part_positions + piece_positions;
    part_bytes := part_bytes + piece_bytes;
  END LOOP;
  RETURN NEXT aos_tsvector_concat_all(part);
END $$;

-- A JSON document's string values, in order, as JSON arrays of strings of at most
-- ${SEARCH_CHUNK_BYTES} bytes each. A longer string is cut at its last whitespace before the
-- limit (at a character boundary when the second half of the chunk has none), and the
-- next chunk begins with the words of the last ~200 characters before the cut.
CREATE FUNCTION aos_search_chunks(p_doc jsonb) RETURNS SETOF jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  max_bytes CONSTANT integer := ${SEARCH_CHUNK_BYTES};
  s text;
  b bytea;
  len integer;
  start integer;
  stop integer;
  next integer;
  piece text;
  head text;
  kept text;
  buf text[] := '{}';
  buf_bytes integer := 0;
BEGIN
  FOR s IN SELECT v #>> '{}' FROM jsonb_path_query(p_doc, 'strict $.**') v WHERE jsonb_typeof(v) = 'string' LOOP
    b := convert_to(s, 'UTF8');
    len := octet_length(b);
    start := 0;
    WHILE start < len LOOP
      IF len - start <= max_bytes THEN
        piece := convert_from(substring(b FROM start + 1), 'UTF8');
        next := len;
      ELSE
        stop := start + max_bytes;
        WHILE (get_byte(b, stop) & 192) = 128 LOOP stop := stop - 1; END LOOP;
        piece := convert_from(substring(b FROM start + 1 FOR stop - start), 'UTF8');
        next := stop;
        head := substring(piece FROM '^(.*)\\s');
        IF head IS NOT NULL AND octet_length(head) > max_bytes / 2 THEN
          piece := head;
          kept := substring(right(head, 200) FROM '\\s(.*)$');
          next := start + octet_length(head) - coalesce(octet_length(kept), 0);
        END IF;
      END IF;
      IF buf_bytes > 0 AND buf_bytes + octet_length(piece) > max_bytes THEN
        RETURN NEXT to_jsonb(buf);
        buf := '{}';
        buf_bytes := 0;
      END IF;
      buf := buf || piece;
      buf_bytes := buf_bytes + octet_length(piece);
      start := next;
    END LOOP;
  END LOOP;
  IF buf_bytes > 0 THEN
    RETURN NEXT to_jsonb(buf);
  END IF;
END $$;

-- The search vectors of a batch of steps (aos_pack_tsvectors of its pieces).
CREATE FUNCTION aos_step_search_parts(p_trace uuid, p_first integer, p_last integer) RETURNS SETOF tsvector
LANGUAGE sql STABLE AS $$
  SELECT aos_pack_tsvectors(ARRAY(
    SELECT x.v
    FROM aos_trace_steps s
    CROSS JOIN LATERAL (SELECT coalesce(octet_length(s.input_data::text), 0) + coalesce(octet_length(s.output_data::text), 0) <= ${SEARCH_WHOLE_STEP_BYTES} AS whole) w
    CROSS JOIN LATERAL (
      SELECT to_tsvector('english', coalesce(s.input_data, '{}'::json)) || to_tsvector('english', coalesce(s.output_data, '{}'::json)), 0::bigint
      WHERE w.whole
      UNION ALL
      SELECT to_tsvector('english', c.chunk), c.n
      FROM aos_search_chunks(jsonb_build_array(s.input_data::jsonb, s.output_data::jsonb)) WITH ORDINALITY c(chunk, n)
      WHERE NOT w.whole
    ) x(v, n)
    WHERE s.trace_id = p_trace AND s.step_index BETWEEN p_first AND p_last
    ORDER BY s.step_index, x.n))
$$;

ALTER TABLE aos_step_search ADD COLUMN part smallint NOT NULL DEFAULT 0;
ALTER TABLE aos_step_search DROP CONSTRAINT aos_step_search_key;
ALTER TABLE aos_step_search ADD CONSTRAINT aos_step_search_key PRIMARY KEY (trace_id, first_step_index, part, tenant_id);

CREATE OR REPLACE FUNCTION aos_index_step_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
  -- A deleting trace purge holds it exclusive (1769900000000): the two take turns.
  PERFORM pg_advisory_xact_lock_shared(7369900000001);
  WITH picked AS (
    DELETE FROM aos_step_search_queue q
    WHERE (q.trace_id, q.first_step_index) IN (
      SELECT trace_id, first_step_index FROM aos_step_search_queue
      ORDER BY queued_at LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING q.tenant_id, q.trace_id, q.first_step_index, q.last_step_index
  ), indexed AS (
    INSERT INTO aos_step_search (tenant_id, trace_id, first_step_index, last_step_index, part, search_vector, started_at)
    SELECT p.tenant_id, p.trace_id, p.first_step_index, p.last_step_index, d.n - 1, d.v, t.started_at
    FROM picked p
    JOIN aos_traces t ON t.trace_id = p.trace_id
    CROSS JOIN LATERAL aos_step_search_parts(p.trace_id, p.first_step_index, p.last_step_index) WITH ORDINALITY d(v, n)
    ON CONFLICT (trace_id, first_step_index, part, tenant_id) DO NOTHING
  )
  SELECT count(*)::int INTO n FROM picked;
  RETURN n;
END $$;

-- A system log's vector when its document may not fit one: the whole vector, or past
-- the limit the vector of its leading chunks that fit (with the day bucket either way).
CREATE FUNCTION aos_system_log_search_vector_bounded(p_tenant uuid, p_at timestamptz, p_message text, p_context jsonb) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN aos_system_log_search_vector(p_tenant, p_at, p_message, p_context);
EXCEPTION WHEN program_limit_exceeded THEN
  RETURN aos_tsvector_concat_all(ARRAY(
           SELECT c.v FROM (SELECT v, n, sum(pg_column_size(v)) OVER (ORDER BY n) AS upto
                            FROM aos_search_chunks(jsonb_build_array(p_message, p_context)) WITH ORDINALITY c(chunk, n)
                            CROSS JOIN LATERAL to_tsvector('english', c.chunk) v) c
           WHERE c.upto < ${SEARCH_PART_BYTES} ORDER BY c.n))
         || array_to_tsvector(ARRAY[aos_system_log_bucket(p_tenant, p_at)]);
END $$;

CREATE OR REPLACE FUNCTION aos_index_system_log_search(p_limit integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7369700000001);
  WITH picked AS (
    DELETE FROM system_logs_search_queue q
    WHERE q.batch_id IN (SELECT batch_id FROM system_logs_search_queue ORDER BY batch_id LIMIT p_limit FOR UPDATE SKIP LOCKED)
    RETURNING q.log_ids
  ), indexed AS (
    INSERT INTO system_logs_search (log_id, tenant_id, "timestamp", level, source, search_vector)
    SELECT l.log_id, l.tenant_id, l."timestamp", l.level, l.source,
      -- A stored context of at most 1 KB is at most ~100 KB of text (pglz's best ratio):
      -- with a 16 KB message its vector fits. Anything larger may not.
      CASE WHEN octet_length(l.message) <= 16384 AND coalesce(pg_column_size(l.context), 0) <= 1024
        THEN aos_system_log_search_vector(l.tenant_id, l."timestamp", l.message, l.context)
        ELSE aos_system_log_search_vector_bounded(l.tenant_id, l."timestamp", l.message, l.context) END
    FROM picked p CROSS JOIN LATERAL unnest(p.log_ids) AS u(id) JOIN system_logs l ON l.log_id = u.id
  )
  SELECT count(*)::int INTO n FROM picked;
  RETURN n;
END $$;
`);
  }

  async down(): Promise<void> {
    throw new Error('Not reversible: restore from backup instead.');
  }
}
