import { BundleSource, type BundleType, type EvidenceBundle } from '@aos/logs-domain';

/**
 * Test hook (AOS_WORKER_TEST_RENDER_DELAY_MS): waits before every bundle load,
 * so a test can kill the worker while a job is in progress.
 */
export class DelayedBundleSource extends BundleSource {
  constructor(
    private readonly inner: BundleSource,
    private readonly delayMs: number,
  ) {
    super();
  }

  async load(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return this.inner.load(tenantId, traceId, bundleType);
  }
}
