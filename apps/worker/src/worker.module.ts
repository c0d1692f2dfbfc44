import { type DynamicModule, Module } from '@nestjs/common';
import { AuditModule, RetentionModule } from '@aos/audit';
import { EvidencePdfModule } from '@aos/evidence-pdf';
import { EvidenceSigner, ExportModule, LogExportService } from '@aos/export';
import { LedgerModule } from '@aos/ledger';
import type { BundleSource } from '@aos/logs-domain';
import { TracesStoreModule } from '@aos/traces-store';
import { WORKER_CONFIG, type WorkerConfig } from './config/worker-config';
import { DelayedBundleSource } from './delayed-bundle-source';
import { EvidencePdfWorker } from './evidence-pdf.worker';
import { RetentionWorker } from './retention.worker';

/**
 * The worker's composition root (DESIGN.md 1, L5): the database, the PDF job
 * processor of libs/evidence-pdf fed with the bundles of libs/export, and the
 * BullMQ Worker that runs it. The job handlers are registered here only: the
 * API merely enqueues.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        TracesStoreModule.forRoot({
          databaseUrl: config.databaseUrl,
          databaseAppUrl: config.databaseAppUrl,
          // The API owns migrations; main.ts waits until they have run.
          migrate: false,
          poolSize: config.pdfRendering.concurrency + 2,
          ledger: config.ledger.enabled,
          searchIndexMaxLagSeconds: config.searchIndexMaxLagSeconds,
        }),
        // Signs the evidence attached to each PDF with the API's key (the same settings);
        // the API signs the periodic checkpoints, so the worker's timer is off.
        LedgerModule.forRoot({ ...config.ledger, checkpointIntervalMs: 0 }),
        // LogExportService needs the audit service; the worker itself audits nothing
        // (the API audited the request that queued the job).
        AuditModule.forRoot(),
        // The retention purge (a BullMQ repeatable job) audits each tenant purge.
        RetentionModule.forRoot(),
        EvidencePdfModule.forWorker({
          renderer: config.pdfRendering,
          imports: [ExportModule],
          bundleSource: {
            useFactory: (exports: LogExportService, signer: EvidenceSigner): BundleSource => {
              const source: BundleSource = {
                load: (tenantId, traceId, type) => exports.buildEvidenceBundle(tenantId, traceId, type),
                sign: (tenantId, bundle) => signer.sign(tenantId, bundle),
              };
              return config.testRenderDelayMs > 0 ? new DelayedBundleSource(source, config.testRenderDelayMs) : source;
            },
            inject: [LogExportService, EvidenceSigner],
          },
        }),
      ],
      providers: [{ provide: WORKER_CONFIG, useValue: config }, EvidencePdfWorker, RetentionWorker],
    };
  }
}
