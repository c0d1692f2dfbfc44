import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Background export jobs and their files (DESIGN.md 7, issue 4).
 *
 * `export_jobs` holds one row per rendered document, keyed by what the document
 * is made from: (tenant, trace, bundle type, sealed trace hash), so asking twice
 * gives the same job. Its status moves queued -> running -> completed | failed;
 * these transitions are bookkeeping, not evidence, so the serving role may
 * UPDATE them (but never a job's identity, which a trigger freezes).
 *
 * `export_files` holds the rendered bytes in PostgreSQL, so the API and workers
 * on other machines share them, with the job's expiry. A CHECK ties `size` and
 * `sha256` to the bytes. The serving role may INSERT and read files, and DELETE
 * only expired ones (a restrictive policy); every tenant's expired jobs and files
 * are removed by the privileged `aos_purge_expired_exports()`, which the worker
 * (or the in-process runner) calls periodically. Deleting a trace (retention
 * purge) removes its jobs and files by cascade: a rendered PDF never outlives
 * the evidence it shows.
 */
export class ExportJobs1769100000000 implements MigrationInterface {
  name = 'ExportJobs1769100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
CREATE TABLE export_jobs (
  job_id        uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id),
  trace_id      uuid NOT NULL,
  bundle_type   text NOT NULL CHECK (bundle_type IN ('evidence', 'soc2', 'executive')),
  format        text NOT NULL DEFAULT 'pdf' CHECK (format IN ('pdf')),
  content_hash  char(64) NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
  status        text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  error         text,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  updated_at    timestamptz(3) NOT NULL DEFAULT now(),
  completed_at  timestamptz(3),
  expires_at    timestamptz(3) NOT NULL,
  CONSTRAINT export_jobs_key UNIQUE (tenant_id, trace_id, bundle_type, content_hash),
  CONSTRAINT export_jobs_tenant_job UNIQUE (tenant_id, job_id),
  CONSTRAINT export_jobs_trace_fk FOREIGN KEY (tenant_id, trace_id) REFERENCES aos_traces (tenant_id, trace_id) ON DELETE CASCADE,
  CONSTRAINT export_jobs_completed_at CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
-- Restart recovery reads the unfinished jobs; the cleanup reads by expiry.
CREATE INDEX export_jobs_unfinished_idx ON export_jobs (created_at) WHERE status IN ('queued', 'running');
CREATE INDEX export_jobs_expiry_idx ON export_jobs (expires_at);

-- A job's identity never changes; only its status, attempts, error and times do.
CREATE FUNCTION export_jobs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.job_id, NEW.tenant_id, NEW.trace_id, NEW.bundle_type, NEW.format, NEW.content_hash, NEW.created_at)
     IS DISTINCT FROM
     (OLD.job_id, OLD.tenant_id, OLD.trace_id, OLD.bundle_type, OLD.format, OLD.content_hash, OLD.created_at) THEN
    RAISE EXCEPTION 'Immutable record: identity of export job % cannot change', OLD.job_id USING ERRCODE = 'AOS01';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER export_jobs_identity BEFORE UPDATE ON export_jobs
  FOR EACH ROW EXECUTE FUNCTION export_jobs_guard();

CREATE TABLE export_files (
  job_id        uuid PRIMARY KEY,
  tenant_id     uuid NOT NULL,
  content_type  text NOT NULL,
  bytes         bytea NOT NULL,
  size          integer NOT NULL,
  sha256        char(64) NOT NULL,
  created_at    timestamptz(3) NOT NULL DEFAULT now(),
  expires_at    timestamptz(3) NOT NULL,
  CONSTRAINT export_files_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES export_jobs (tenant_id, job_id) ON DELETE CASCADE,
  CONSTRAINT export_files_size CHECK (size = octet_length(bytes)),
  CONSTRAINT export_files_sha256 CHECK (sha256 = encode(sha256(bytes), 'hex'))
);
-- PDFs are compressed already: store out of line without another compression pass.
ALTER TABLE export_files ALTER COLUMN bytes SET STORAGE EXTERNAL;
CREATE TRIGGER export_files_immutable BEFORE UPDATE ON export_files
  FOR EACH ROW EXECUTE FUNCTION aos_reject_change();

ALTER TABLE export_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE export_files ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON export_jobs USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
CREATE POLICY tenant_isolation ON export_files USING (tenant_id = aos_current_tenant()) WITH CHECK (tenant_id = aos_current_tenant());
-- The serving role deletes a file only once it has expired (to render it afresh).
CREATE POLICY expired_only ON export_files AS RESTRICTIVE FOR DELETE USING (expires_at <= now());

-- Restart recovery: every tenant's unfinished jobs, for the worker or the
-- in-process runner to queue again. Metadata only, never a file.
CREATE FUNCTION aos_unfinished_export_jobs(p_limit integer DEFAULT 1000)
RETURNS TABLE (job_id uuid, tenant_id uuid, trace_id uuid, bundle_type text, content_hash text, status text, attempts integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT j.job_id, j.tenant_id, j.trace_id, j.bundle_type, j.content_hash::text, j.status, j.attempts
  FROM export_jobs j
  WHERE j.status IN ('queued', 'running') AND j.expires_at > now()
  ORDER BY j.created_at, j.job_id
  LIMIT greatest(p_limit, 0)
$$;

-- The privileged cleanup: removes up to p_limit expired jobs of every tenant,
-- and their files with them. Rendered files are derived documents, not evidence.
CREATE FUNCTION aos_purge_expired_exports(p_limit integer DEFAULT 1000)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  removed integer;
BEGIN
  WITH gone AS (
    SELECT j.job_id FROM export_jobs j WHERE j.expires_at <= now()
    ORDER BY j.expires_at LIMIT greatest(p_limit, 0) FOR UPDATE SKIP LOCKED
  )
  DELETE FROM export_jobs j USING gone WHERE j.job_id = gone.job_id;
  GET DIAGNOSTICS removed = ROW_COUNT;
  RETURN removed;
END $$;
`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The refuse-drop event trigger (1769550000000) lets a migration's own down() drop its tables.
    await q.query(`
SELECT set_config('aos.allow_drop', 'on', true);
DROP FUNCTION IF EXISTS aos_purge_expired_exports(integer);
DROP FUNCTION IF EXISTS aos_unfinished_export_jobs(integer);
DROP TABLE IF EXISTS export_files;
DROP TABLE IF EXISTS export_jobs;
DROP FUNCTION IF EXISTS export_jobs_guard();
`);
  }
}
