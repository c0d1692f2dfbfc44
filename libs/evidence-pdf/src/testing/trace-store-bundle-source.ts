import { v7 as uuidv7 } from 'uuid';
import { assembleEvidenceBundle, BundleSource, type BundleType, type EvidenceBundle } from '@aos/logs-domain';
import type { TraceStore } from '@aos/traces-store';

/**
 * Tests' BundleSource: the spec 6.3 bundle straight from TraceStore, without
 * policy snapshot or incident (the applications bind LogExportService).
 */
export class TraceStoreBundleSource extends BundleSource {
  constructor(private readonly traces: TraceStore) {
    super();
  }

  async load(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    const { trace, steps } = await this.traces.getTraceWithSteps(tenantId, traceId);
    return assembleEvidenceBundle({
      bundleId: uuidv7(),
      bundleType,
      generatedAt: new Date().toISOString(),
      trace,
      steps,
      policySnapshot: null,
      incident: null,
    });
  }
}
