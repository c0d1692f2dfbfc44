import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditLogService, AuditModule, RetentionModule, RetentionScheduler, RetentionService } from '@aos/audit';
import { SystemLogsModule } from '@aos/system-logs';
import { type ReplayAuditPort, ReplayModule, replayAuditAction } from '@aos/replay';
import { TracesStoreModule } from '@aos/traces-store';
import { LedgerModule } from '@aos/ledger';
import { EvidencePdfModule } from '@aos/evidence-pdf';
import { EvidenceSigner, ExportModule, LogExportService } from '@aos/export';
import { BundleSource } from '@aos/logs-domain';
import { ApiKeyGuard } from './auth/api-key.guard';
import { APP_CONFIG, type AppConfig } from './config/app-config';
import { ExportJobsController } from './exports/export-jobs.controller';
import { ExportsController } from './exports/exports.controller';
import { PdfExports } from './exports/pdf-exports';
import { IncidentsController } from './incidents/incidents.controller';
import { HealthController } from './health/health.controller';
import { LlmRunsController } from './llm-runs/llm-runs.controller';
import { LogsApiModule } from './logs/logs-api.module';
import { ApiKeysController, TenantsController } from './tenants/tenants.controller';
import { TenantsService } from './tenants/tenants.service';
import { EventStreams } from './replay/event-streams';
import { ReplayController } from './replay/replay.controller';
import { RetentionController } from './retention/retention.controller';
import { IntegrityController } from './integrity/integrity.controller';
import { TracesController } from './traces/traces.controller';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TracesStoreModule.forRoot({
          databaseUrl: config.databaseUrl,
          databaseAppUrl: config.databaseAppUrl,
          dataDir: config.dataDir,
          ledger: config.ledger.enabled,
          searchIndexMaxLagSeconds: config.searchIndexMaxLagSeconds,
        }),
        // Checkpoints signed every few seconds, proofs, the integrity audit and signed evidence.
        LedgerModule.forRoot(config.ledger),
        SystemLogsModule.forRoot(),
        AuditModule.forRoot(),
        RetentionModule.forRoot(),
        LogsApiModule,
        ExportModule,
        // Replays are audited as trace_replayed through the audit trail.
        ReplayModule.forRoot({
          audit: {
            useFactory: (audit: AuditLogService): ReplayAuditPort => ({ record: async (e) => void (await audit.logAction(replayAuditAction(e))) }),
            inject: [AuditLogService],
          },
        }),
        // PDF jobs: with REDIS_URL the API only enqueues (apps/worker renders); without it they run in-process.
        EvidencePdfModule.forRoot({
          redisUrl: config.redisUrl,
          queuePrefix: config.queuePrefix,
          renderer: config.pdfRendering,
          imports: [ExportModule],
          bundleSource: {
            useFactory: (exports: LogExportService, signer: EvidenceSigner): BundleSource => ({
              load: (t, id, type) => exports.buildEvidenceBundle(t, id, type),
              sign: (t, bundle) => signer.sign(t, bundle),
            }),
            inject: [LogExportService, EvidenceSigner],
          },
        }),
      ],
      controllers: [HealthController, TracesController, LlmRunsController, TenantsController, ApiKeysController, ReplayController, ExportsController, ExportJobsController, IncidentsController, RetentionController, IntegrityController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        TenantsService,
        EventStreams,
        PdfExports,
        // The retention purge: with REDIS_URL the worker runs it (BullMQ repeatable job); without, this process does.
        {
          provide: RetentionScheduler,
          useFactory: (retention: RetentionService) => new RetentionScheduler(retention, config.redisUrl ? 0 : config.retentionIntervalMs),
          inject: [RetentionService],
        },
      ],
    };
  }
}
