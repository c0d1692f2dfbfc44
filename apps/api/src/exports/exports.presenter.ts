import type { DsseEnvelope, EvidenceBundle } from '@aos/logs-domain';
import type { EvidenceExportDto } from './exports.dto';

/** Spec 11.4 EvidenceExportData around a bundle. */
export function toEvidenceExport(bundle: EvidenceBundle, signedEnvelope: DsseEnvelope | null): EvidenceExportDto {
  const traceId = bundle.run_context.trace_id;
  const base = `/api/v1/logs/llm-runs/${traceId}/export`;
  const route = bundle.bundle_type === 'soc2' ? `${base}/soc2` : `${base}/evidence`;
  return {
    source: bundle.incident_context ? { id: bundle.incident_context.incident_id, type: 'incident' } : { id: traceId, type: 'trace' },
    trace: {
      trace_id: traceId,
      steps: bundle.trace_evidence.steps.map((s) => ({
        step_number: s.step_index,
        timestamp: s.timestamp,
        type: s.step_type,
        is_inflection_point: s.is_inflection_point,
      })),
    },
    exports: [
      { format: 'json', bundle_type: bundle.bundle_type, url: route },
      { format: 'csv', bundle_type: bundle.bundle_type, url: base },
      { format: 'pdf', bundle_type: bundle.bundle_type, url: route },
    ],
    integrity: { content_hash: bundle.integrity.content_hash, verified: bundle.integrity.verified },
    bundle,
    signed_envelope: signedEnvelope,
  };
}
