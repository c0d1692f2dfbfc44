import type { BundleType, EvidenceBundle } from './evidence';
import type { DsseEnvelope } from './dsse';

/**
 * Background export jobs (DESIGN.md 7, issue 4): a PDF of an evidence bundle is
 * rendered by a job whose identity is (tenant, trace, bundle type, sealed trace
 * hash), so asking twice for the same document yields the same job.
 */
export const EXPORT_JOB_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type ExportJobStatus = (typeof EXPORT_JOB_STATUSES)[number];

export interface ExportJob {
  job_id: string;
  tenant_id: string;
  trace_id: string;
  bundle_type: BundleType;
  /** The sealed trace hash the document is rendered from. */
  content_hash: string;
  status: ExportJobStatus;
  /** Attempts started so far (a retried or resumed job counts each start). */
  attempts: number;
  /** The last attempt's error, if any. */
  error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  /** After this instant the job and its file are gone (404). */
  expires_at: string;
  /** Set once completed. */
  file: ExportFileInfo | null;
}

export interface ExportFileInfo {
  content_type: string;
  size: number;
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: string;
}

export interface ExportFile extends ExportFileInfo {
  job_id: string;
  bytes: Buffer;
  created_at: string;
  expires_at: string;
}

/** What a PDF job renders from: one evidence bundle, assembled fresh for each attempt. */
export abstract class BundleSource {
  /** Assembles the bundle; throws NotFoundError for an unknown trace (another tenant's included). */
  abstract load(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle>;
  /**
   * The bundle as signed evidence (a DSSE envelope, see LEDGER.md), attached
   * to the PDF so that the PDF alone is verifiable. Absent or null: not signed.
   */
  sign?(tenantId: string, bundle: EvidenceBundle): Promise<DsseEnvelope | null>;
}
