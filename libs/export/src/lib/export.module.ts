import { Module } from '@nestjs/common';
import { EvidenceSigner } from './evidence-signer';
import { LogExportService } from './log-export.service';

/**
 * Exports for any NestJS service: needs TracesStoreModule.forRoot(...) and
 * AuditModule.forRoot(...) imported by the host (both are global); evidence is
 * signed when the host also imports LedgerModule.forRoot(...) (global).
 */
@Module({ providers: [LogExportService, EvidenceSigner], exports: [LogExportService, EvidenceSigner] })
export class ExportModule {}
