import { Module } from '@nestjs/common';
import { LogExportService } from './log-export.service';

/**
 * Exports for any NestJS service: needs TracesStoreModule.forRoot(...) and
 * AuditModule.forRoot(...) imported by the host (both are global).
 */
@Module({ providers: [LogExportService], exports: [LogExportService] })
export class ExportModule {}
