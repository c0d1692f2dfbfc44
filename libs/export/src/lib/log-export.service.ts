import { Injectable, Logger } from '@nestjs/common';
import { pipeline, type Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import {
  assembleEvidenceBundle,
  type AuditLogFilters,
  type BundleType,
  type EvidenceBundle,
  type LogTopic,
  type SystemLogFilters,
  type TraceFilters,
  type TraceStep,
  type TraceSummary,
  type TraceVerification,
  UnavailableError,
  verifyTraceIntegrity,
} from '@aos/logs-domain';
import { AuditLogService } from '@aos/audit';
import {
  AuditLogStore,
  copySystemLogsCsv,
  Database,
  EvidenceContextStore,
  type SearchIndexer,
  StepSearchIndexer,
  SYSTEM_LOG_CSV_JSON_COLUMNS,
  SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS,
  SystemLogSearchIndexer,
  SystemLogStore,
  TraceStore,
} from '@aos/traces-store';
import { CopyCsvFramer } from './csv-copy';
import { CONTENT_TYPES, encodeRows, type ExportFormat } from './formats';

/** Who asked for an export: recorded in the audit trail with it. */
export interface ExportActor {
  tenantId: string;
  actorId: string;
  actorType: 'user' | 'system' | 'api_key';
  ipAddress?: string | null;
  userAgent?: string | null;
}

export type ExportFilters = TraceFilters | SystemLogFilters | AuditLogFilters;

export interface StreamedExport {
  stream: Readable;
  contentType: string;
  filename: string;
}

/** A single trace with every step, its hashes and their verification (spec 5.2 export_trace_json). */
export interface TraceExport {
  trace: TraceSummary;
  steps: TraceStep[];
  integrity: TraceVerification;
  exported_at: string;
}

/**
 * How long an export with a search term waits for the search index to take in
 * every write made before it (SearchIndexer.catchUp), ms: the index trails a
 * burst of writes by up to AOS_SEARCH_INDEX_MAX_LAG_SECONDS, and indexes about
 * 5,000 steps or 30,000 logs a second alone.
 */
export const EXPORT_SEARCH_CATCH_UP_MS = 30_000;

/** Columns of each topic's flat exports (CSV, XLSX), in order. */
export const EXPORT_COLUMNS: Record<LogTopic, readonly string[]> = {
  llm_runs: [
    'trace_id', 'run_id', 'tenant_id', 'agent_id', 'agent_name', 'status', 'step_count', 'total_tokens', 'total_cost_cents',
    'total_duration_ms', 'started_at', 'completed_at', 'content_hash', 'is_synthetic', 'synthetic_scenario_id', 'incident_id',
    'violation_step_index', 'violation_timestamp', 'violation_policy_id', 'violation_reason', 'created_at',
  ],
  system: ['log_id', 'tenant_id', 'level', 'source', 'message', 'timestamp', 'context', 'trace_id', 'request_id', 'created_at'],
  audit: [
    'log_id', 'tenant_id', 'actor_id', 'actor_type', 'action', 'resource_type', 'resource_id', 'timestamp', 'details', 'ip_address',
    'user_agent', 'success', 'failure_reason', 'created_at',
  ],
};

/**
 * Exports (spec 5.2 LogExportService, DESIGN.md 8): bulk exports streamed from a
 * database cursor, single traces, and evidence bundles. Every export is audited.
 */
@Injectable()
export class LogExportService {
  private readonly logger = new Logger(LogExportService.name);

  constructor(
    private readonly traces: TraceStore,
    private readonly systemLogs: SystemLogStore,
    private readonly auditLogs: AuditLogStore,
    private readonly context: EvidenceContextStore,
    private readonly audit: AuditLogService,
    private readonly db: Database,
    private readonly stepSearch: StepSearchIndexer,
    private readonly systemLogSearch: SystemLogSearchIndexer,
  ) {}

  /**
   * Streams every matching record of a topic. The audit row (`logs_exported`,
   * with the filters and the row count) is written when the stream ends.
   * With a search term over an asynchronous index (step content, system logs),
   * the index first takes in every write made before the request, so the export
   * misses none of them; a 503 when that takes over EXPORT_SEARCH_CATCH_UP_MS.
   */
  async exportLogs(actor: ExportActor, topic: LogTopic, filters: ExportFilters, format: ExportFormat): Promise<StreamedExport> {
    await this.searchIndexCaughtUp(topic, filters);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = { contentType: CONTENT_TYPES[format], filename: `aos-${topic}-${stamp}.${format}` };
    const audited = (count: number, ok: boolean) => this.auditExport(actor, topic, filters, format, count, ok);
    if (format === 'csv' && topic === 'system' && this.db.kind === 'postgres') {
      // PostgreSQL writes the CSV (COPY, cells rendered in SQL exactly as encodeRows
      // renders them): ~5x the rows/s of encoding in JavaScript, memory at the pipe's buffers.
      const framer = new CopyCsvFramer({
        columns: EXPORT_COLUMNS.system,
        jsonColumns: SYSTEM_LOG_CSV_JSON_COLUMNS,
        timestampColumns: SYSTEM_LOG_CSV_TIMESTAMP_COLUMNS,
        onEnd: audited,
      });
      pipeline(copySystemLogsCsv(this.db, { tenantId: actor.tenantId }, filters as SystemLogFilters), framer, () => undefined);
      return { ...file, stream: framer };
    }
    const rows = this.rowsOf(actor.tenantId, topic, filters);
    let count = 0;
    async function* counted(): AsyncGenerator<Record<string, unknown>> {
      let ok = false;
      try {
        for await (const row of rows) {
          count++;
          yield row as unknown as Record<string, unknown>;
        }
        ok = true;
      } finally {
        await audited(count, ok);
      }
    }
    return { ...file, stream: encodeRows(counted(), format, EXPORT_COLUMNS[topic]) };
  }

  private async searchIndexCaughtUp(topic: LogTopic, filters: ExportFilters): Promise<void> {
    const indexer: SearchIndexer | undefined = topic === 'llm_runs' ? this.stepSearch : topic === 'system' ? this.systemLogSearch : undefined;
    // Audit logs are indexed as they are written.
    if (!indexer || !(filters as { search?: string }).search) return;
    if (!(await indexer.catchUp(EXPORT_SEARCH_CATCH_UP_MS))) {
      throw new UnavailableError(
        `The search index is still taking in a burst of writes (after ${EXPORT_SEARCH_CATCH_UP_MS / 1000} s): an export with a search term now would miss some of them. Retry in a minute, or export without 'search'.`,
      );
    }
  }

  /** The `logs_exported` audit row, with the filters and the row count. */
  private async auditExport(actor: ExportActor, topic: LogTopic, filters: ExportFilters, format: ExportFormat, count: number, ok: boolean): Promise<void> {
    await this.audit
      .logAction({
        tenantId: actor.tenantId,
        actor_id: actor.actorId,
        actor_type: actor.actorType,
        action: 'logs_exported',
        resource_type: 'logs',
        resource_id: null,
        details: { topic, format, filters: filters as Record<string, never>, row_count: count, complete: ok },
        ip_address: actor.ipAddress ?? null,
        user_agent: actor.userAgent ?? null,
        success: ok,
        failure_reason: ok ? null : 'the export stopped before the end (client gone or database error)',
      })
      // The file is already sent: a failed audit write is logged loudly, not thrown into the stream.
      .catch((err) => this.logger.error(`logs_exported was not audited: ${err instanceof Error ? err.message : String(err)}`));
  }

  private rowsOf(tenantId: string, topic: LogTopic, filters: ExportFilters): AsyncIterable<object> {
    switch (topic) {
      case 'llm_runs':
        return this.traces.streamTraces(tenantId, filters as TraceFilters);
      case 'system':
        return this.systemLogs.stream({ tenantId }, filters as SystemLogFilters);
      case 'audit':
        return this.auditLogs.stream(tenantId, filters as AuditLogFilters);
    }
  }

  /** One trace, every step with content and hash, recomputed integrity. Audited as `trace_exported`. */
  async exportTrace(actor: ExportActor, traceId: string): Promise<TraceExport> {
    const { trace, steps } = await this.traces.getTraceWithSteps(actor.tenantId, traceId);
    const integrity = verifyTraceIntegrity(trace, steps);
    await this.record(actor, 'trace_exported', traceId, { step_count: steps.length, verified: integrity.verified });
    return { trace, steps, integrity, exported_at: new Date().toISOString() };
  }

  /** Spec 6.3 export_evidence_bundle. Audited as `evidence_bundle_exported`. */
  async exportEvidenceBundle(actor: ExportActor, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    const bundle = await this.buildEvidenceBundle(actor.tenantId, traceId, bundleType);
    await this.record(actor, 'evidence_bundle_exported', traceId, {
      bundle_id: bundle.bundle_id,
      bundle_type: bundleType,
      content_hash: bundle.integrity.content_hash,
      verified: bundle.integrity.verified,
    });
    return bundle;
  }

  /** The bundle without auditing (the PDF worker renders what an audited request asked for). */
  async buildEvidenceBundle(tenantId: string, traceId: string, bundleType: BundleType): Promise<EvidenceBundle> {
    const { trace, steps } = await this.traces.getTraceWithSteps(tenantId, traceId);
    const [snapshot, incident] = await Promise.all([
      this.context.getPolicySnapshot(tenantId, traceId),
      trace.incident_id ? this.context.getIncident(tenantId, trace.incident_id) : Promise.resolve(null),
    ]);
    return assembleEvidenceBundle({
      bundleId: uuidv7(),
      bundleType,
      generatedAt: new Date().toISOString(),
      trace,
      steps,
      policySnapshot: snapshot,
      incident: incident
        ? { incident_id: incident.incident_id, severity: incident.severity, status: incident.status, title: incident.title, opened_at: incident.opened_at }
        : trace.incident_id
          ? { incident_id: trace.incident_id, severity: null, status: null, title: null, opened_at: null }
          : null,
    });
  }

  private async record(actor: ExportActor, action: string, traceId: string, details: Record<string, string | number | boolean | null>) {
    await this.audit.logAction({
      tenantId: actor.tenantId,
      actor_id: actor.actorId,
      actor_type: actor.actorType,
      action,
      resource_type: 'trace',
      resource_id: traceId,
      details,
      ip_address: actor.ipAddress ?? null,
      user_agent: actor.userAgent ?? null,
      success: true,
      failure_reason: null,
    });
  }
}

export { CONTENT_TYPES };
