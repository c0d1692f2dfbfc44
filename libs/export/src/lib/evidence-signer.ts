import { Inject, Injectable, Optional } from '@nestjs/common';
import type { DsseEnvelope, EvidenceBundle } from '@aos/logs-domain';
import { LedgerService } from '@aos/ledger';
import { TraceStore } from '@aos/traces-store';

/**
 * Evidence bundles as signed evidence (issue 7): a DSSE envelope around an
 * in-toto Statement with the bundle, the sealed trace summary, every step's
 * content, the trace leaf's inclusion proof and the signed checkpoint. An open
 * trace has no ledger leaf yet, and a host without the ledger module signs
 * nothing: both answer null.
 */
@Injectable()
export class EvidenceSigner {
  constructor(
    private readonly traces: TraceStore,
    // Explicit token: the union type would emit `Object` as the parameter's metadata.
    @Optional() @Inject(LedgerService) private readonly ledger: LedgerService | null = null,
  ) {}

  async sign(tenantId: string, bundle: EvidenceBundle): Promise<DsseEnvelope | null> {
    if (!this.ledger?.enabled) return null;
    const { trace, steps } = await this.traces.getTraceWithSteps(tenantId, bundle.run_context.trace_id);
    if (trace.status === 'active') return null;
    return this.ledger.signEvidence(tenantId, bundle, trace, steps);
  }
}
