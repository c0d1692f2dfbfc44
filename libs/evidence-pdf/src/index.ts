export { renderEvidenceHtml, type EvidenceDocumentOptions } from './lib/templates/evidence-document';
export { attachSignedEvidence, evidenceAttachmentName, DSSE_MEDIA_TYPE } from './lib/attach-evidence';
export { escapeHtml, html, SafeHtml } from './lib/templates/html';
export {
  PdfRenderer,
  type PdfRendererOptions,
  type PdfRendererStats,
  PdfRenderTimeoutError,
  PDF_RENDERER_OPTIONS,
  CHROMIUM_ARGS,
} from './lib/pdf-renderer';
export { Semaphore } from './lib/semaphore';
export {
  EvidencePdfJob,
  EvidencePdfJobData,
  type EvidencePdfPayload,
  type EvidencePdfResult,
  type JobAttempt,
  PermanentJobError,
  isPermanentJobError,
  parseEvidencePdfPayload,
  evidencePdfPayload,
} from './lib/evidence-pdf.job';
export { PdfJobQueue, type PdfJobDispatcher, type PdfQueueHealth, PDF_JOB_DISPATCHER } from './lib/pdf-job-queue';
export { BullMqPdfDispatcher, type BullMqPdfDispatcherOptions } from './lib/bullmq-pdf-dispatcher';
export { InProcessQueue, type InProcessQueueOptions } from './lib/in-process-queue';
export { InProcessPdfDispatcher, IN_PROCESS_QUEUE_OPTIONS } from './lib/in-process-pdf-dispatcher';
export { ExportCleanup, EXPORT_CLEANUP_INTERVAL_MS } from './lib/export-cleanup';
export {
  EVIDENCE_PDF_QUEUE,
  EVIDENCE_PDF_JOB_NAME,
  DEFAULT_QUEUE_PREFIX,
  PDF_JOB_ATTEMPTS,
  PDF_JOB_BACKOFF_MS,
  PDF_JOB_OPTIONS,
  redisConnection,
} from './lib/queue';
export { EvidencePdfModule, type EvidencePdfModuleOptions, type BundleSourceBinding } from './lib/evidence-pdf.module';
