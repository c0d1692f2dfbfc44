export { LogExportService, type ExportActor, type ExportFilters, type StreamedExport, type TraceExport, EXPORT_COLUMNS, EXPORT_SEARCH_CATCH_UP_MS } from './lib/log-export.service';
export { encodeRows, neutraliseFormula, cellText, EXPORT_FORMATS, CONTENT_TYPES, type ExportFormat } from './lib/formats';
export { ExportModule } from './lib/export.module';
export { EvidenceSigner } from './lib/evidence-signer';
