import { AFRelationship, PDFDocument } from 'pdf-lib';
import type { DsseEnvelope } from '@aos/logs-domain';

/** Media type of a DSSE envelope (DSSE spec, envelope.md). */
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

/** The attachment's file name: what `pdfdetach -saveall` writes. */
export function evidenceAttachmentName(traceId: string): string {
  return `aos-evidence-${traceId}.dsse.json`;
}

/**
 * Embeds the signed evidence (the DSSE envelope's JSON) in the PDF as an
 * associated file (PDF 2.0 / PDF/A-3 "Source"), so that the PDF alone carries
 * what `aos-verify` checks. The rendered pages are unchanged.
 */
export async function attachSignedEvidence(pdf: Uint8Array, envelope: DsseEnvelope, traceId: string): Promise<Buffer> {
  const doc = await PDFDocument.load(pdf, { updateMetadata: false });
  const now = new Date();
  await doc.attach(Buffer.from(JSON.stringify(envelope), 'utf8'), evidenceAttachmentName(traceId), {
    mimeType: DSSE_MEDIA_TYPE,
    description: 'Signed evidence: DSSE envelope around an in-toto Statement (bundle, ledger inclusion proof, signed checkpoint). Verify with aos-verify.',
    creationDate: now,
    modificationDate: now,
    afRelationship: AFRelationship.Source,
  });
  return Buffer.from(await doc.save());
}
