import type { MigrationInterface, QueryRunner } from 'typeorm';
import { SEARCH_CHUNK_BYTES } from './1770700000000-search-documents-in-parts';

/**
 * `aos_search_chunks` (SearchDocumentsInParts1770700000000) read a large
 * document's string values through `jsonb_path_query(doc, 'strict $.**')`, whose
 * time grows with the square of an array's length: a 10 MB step of 2.5 million
 * one-character strings (under the body limit) held one indexer call for about
 * 12 minutes, and every tenant's new steps waited behind it (100,000 elements
 * 0.5 s, 200,000 2.0 s). `aos_jsonb_strings` walks the document depth first with
 * `jsonb_array_elements` and `jsonb_each`, in the same order, in time linear in
 * its size (2.5 million strings: 2.6 s); the chunking is unchanged.
 */
export class SearchChunksLinear1770900000000 implements MigrationInterface {
  name = 'SearchChunksLinear1770900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
-- A JSON document's string values in document order (as jsonpath's $.** visits them);
-- scalars of other types are skipped without a call.
CREATE FUNCTION aos_jsonb_strings(p jsonb) RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  e jsonb;
BEGIN
  IF jsonb_typeof(p) = 'string' THEN
    RETURN NEXT p #>> '{}';
  ELSIF jsonb_typeof(p) IN ('array', 'object') THEN
    FOR e IN SELECT value FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p) = 'array' THEN p END)
             UNION ALL SELECT value FROM jsonb_each(CASE WHEN jsonb_typeof(p) = 'object' THEN p END) LOOP
      IF jsonb_typeof(e) = 'string' THEN
        RETURN NEXT e #>> '{}';
      ELSIF jsonb_typeof(e) IN ('array', 'object') THEN
        RETURN QUERY SELECT aos_jsonb_strings(e);
      END IF;
    END LOOP;
  END IF;
END $$;
${chunks('SELECT aos_jsonb_strings(p_doc)')}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`${chunks(`SELECT v #>> '{}' FROM jsonb_path_query(p_doc, 'strict $.**') v WHERE jsonb_typeof(v) = 'string'`)}
DROP FUNCTION aos_jsonb_strings(jsonb);`);
  }
}

/** aos_search_chunks as 1770700000000 wrote it, reading the strings from `source`. */
function chunks(source: string): string {
  return `
CREATE OR REPLACE FUNCTION aos_search_chunks(p_doc jsonb) RETURNS SETOF jsonb
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
  FOR s IN ${source} LOOP
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
`;
}
