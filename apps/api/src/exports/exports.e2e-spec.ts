import { randomUUID } from 'node:crypto';
import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { StepSearchIndexer, SystemLogSearchIndexer } from '@aos/traces-store';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';

const NASTY = ['plain', 'comma, "quoted"\nand a newline', 'é 😀 中文', '=HYPERLINK("http://x")', '-2+3', '@cmd'];

describe('Exports and evidence bundles over HTTP', () => {
  let e: E2eApp;
  let tenant: { tenantId: string; key: string };
  let auditor: string;
  const traceIds: string[] = [];
  let violated: string;
  const policy = randomUUID();
  const incident = randomUUID();

  beforeAll(async () => {
    e = await startE2eApp();
    tenant = await e.newTenant('admin');
    auditor = await e.newKey(tenant.tenantId, 'auditor');
    for (const [i, name] of NASTY.entries()) {
      const res = await e.request('POST', '/api/v1/traces', {
        key: tenant.key,
        body: {
          run_id: randomUUID(),
          agent_id: randomUUID(),
          agent_name: name,
          started_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          ...(i === 0 ? { policy_snapshot: { policies: [{ id: policy, name: 'refund limit' }], thresholds: { refund_usd: 500 } } } : {}),
        },
      });
      const id = ((await res.json()) as any).trace_id;
      traceIds.push(id);
      await e.request('POST', `/api/v1/traces/${id}/steps`, {
        key: tenant.key,
        body: {
          steps: [0, 1, 2].map((s) => ({
            step_index: s,
            step_type: s === 1 ? 'llm_call' : 'input',
            timestamp: new Date(Date.UTC(2026, 0, 1, 0, i, s)).toISOString(),
            tokens: 10,
            cost_cents: 25,
            input_data: { q: `question ${s}` },
            output_data: { a: `answer ${s}` },
          })),
        },
      });
    }
    violated = traceIds[0];
    await e.request('POST', `/api/v1/traces/${violated}/violation`, { key: tenant.key, body: { step_index: 1, policy_id: policy, reason: 'refund above limit' } });
    await e.request('PUT', `/api/v1/incidents/${incident}`, { key: tenant.key, body: { title: 'Refund over limit', severity: 'high', status: 'open' } });
    await e.request('POST', `/api/v1/traces/${violated}/incident`, { key: tenant.key, body: { incident_id: incident } });
    for (const id of traceIds) await e.request('POST', `/api/v1/traces/${id}/complete`, { key: tenant.key, body: { status: id === violated ? 'failed' : 'completed' } });
  }, 120_000);
  afterAll(() => e?.close());

  const bulk = (body: unknown, key = auditor) => e.request('POST', '/api/v1/logs/export', { key, body });

  it('exports CSV that a CSV reader parses back to the rows, formulas neutralised', async () => {
    const res = await bulk({ topic: 'llm_runs', format: 'csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect(res.headers.get('content-disposition')).toMatch(/attachment; filename="aos-llm_runs-.*\.csv"/);
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.subarray(0, 3).toString('hex')).toBe('efbbbf');
    const rows = parse(buf, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['trace_id'])).toEqual(traceIds);
    expect(rows.map((r) => r['agent_name'])).toEqual(NASTY.map((n) => (/^[=+\-@]/.test(n) ? `'${n}` : n)));
    expect(rows[0]['violation_policy_id']).toBe(policy);
    expect(rows[0]['total_tokens']).toBe('30');
  });

  it('exports JSON, JSON lines and XLSX with the same rows', async () => {
    const json = (await (await bulk({ topic: 'llm_runs', format: 'json' })).json()) as any[];
    expect(json.map((r) => r.agent_name)).toEqual(NASTY);
    const lines = (await (await bulk({ topic: 'llm_runs', format: 'jsonl', filters: { has_violation: true } })).text()).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).trace_id)).toEqual([violated]);
    const xlsx = Buffer.from(await (await bulk({ topic: 'llm_runs', format: 'xlsx' })).arrayBuffer());
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsx as unknown as ArrayBuffer);
    const values = wb.worksheets[0].getSheetValues().slice(1).map((r) => (r as unknown[]).slice(1));
    const header = values[0] as string[];
    expect(values.slice(1).map((r) => r[header.indexOf('agent_name')])).toEqual(NASTY);
  });

  it('audits each export with its filters and row count', async () => {
    await (await bulk({ topic: 'llm_runs', format: 'jsonl', filters: { status: 'completed' } })).text();
    const audit = (await (await e.request('GET', '/api/v1/logs/audit?action=logs_exported&limit=1', { key: tenant.key })).json()) as any;
    expect(audit.items).toHaveLength(1);
    const entry = (await (await e.request('GET', `/api/v1/logs/${audit.items[0].log_id}`, { key: tenant.key })).json()) as any;
    expect(entry.details).toMatchObject({ topic: 'llm_runs', format: 'jsonl', row_count: NASTY.length - 1, filters: { status: 'completed' } });
  });

  it("exports nothing of another tenant's data", async () => {
    const other = await e.newTenant('admin');
    const rows = (await (await bulk({ topic: 'llm_runs', format: 'json' }, other.key)).json()) as any[];
    expect(rows).toEqual([]);
    expect((await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export`, { key: other.key, body: {} })).status).toBe(404);
    expect((await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/evidence`, { key: other.key, body: {} })).status).toBe(404);
    expect((await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/soc2`, { key: other.key, body: {} })).status).toBe(404);
  });

  it('exports a single trace with every step, its hashes and recomputed integrity', async () => {
    const res = await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export`, { key: auditor, body: {} });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.steps).toHaveLength(3);
    expect(body.steps[1]).toMatchObject({ is_inflection_point: true, input_data: { q: 'question 1' } });
    expect(body.integrity).toMatchObject({ verified: true, content_hash: body.trace.content_hash });
    const csv = await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export`, { key: auditor, body: { format: 'csv' } });
    const rows = parse(Buffer.from(await csv.arrayBuffer()), { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['content_hash'])).toEqual(body.steps.map((s: any) => s.content_hash));
  });

  it('assembles the evidence bundle with policy, incident, inflection point and integrity (spec 6.3, 11.4)', async () => {
    const res = await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/evidence`, { key: auditor, body: {} });
    expect(res.status).toBe(200);
    const out = (await res.json()) as any;
    expect(out.source).toEqual({ id: incident, type: 'incident' });
    expect(out.trace.steps.map((s: any) => [s.step_number, s.is_inflection_point])).toEqual([[0, false], [1, true], [2, false]]);
    expect(out.integrity.verified).toBe(true);
    expect(out.exports.map((x: any) => x.format)).toEqual(['json', 'csv', 'pdf']);
    const b = out.bundle;
    expect(b).toMatchObject({ bundle_type: 'evidence', run_context: { trace_id: violated, status: 'failed' } });
    expect(b.policy_context).toMatchObject({ violated_policy_id: policy, thresholds: { refund_usd: 500 } });
    expect(b.incident_context).toMatchObject({ incident_id: incident, severity: 'high', status: 'open' });
    expect(b.trace_evidence.steps.every((s: any) => /^[0-9a-f]{64}$/.test(s.content_hash))).toBe(true);
  });

  it('adds CC7.2–CC7.4 to the SOC2 bundle and a plain-language summary to the executive one', async () => {
    const soc2 = ((await (await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/soc2`, { key: auditor, body: {} })).json()) as any).bundle;
    expect(soc2.control_mappings.map((c: any) => c.control_id)).toEqual(['CC7.2', 'CC7.3', 'CC7.4']);
    expect(soc2.attestation_statement).toContain(violated);
    const exec = ((await (await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/evidence`, { key: auditor, body: { bundle_type: 'executive' } })).json()) as any).bundle;
    expect(exec).toMatchObject({ bundle_type: 'executive', risk_level: 'high' });
    expect(exec.incident_summary).toContain('refund above limit');
    expect(exec.recommended_actions.length).toBeGreaterThan(0);
    const audit = (await (await e.request('GET', '/api/v1/logs/audit?action=evidence_bundle_exported', { key: tenant.key })).json()) as any;
    expect(audit.items.length).toBeGreaterThanOrEqual(2);
  });

  it('exports system logs as CSV (written by PostgreSQL): parsed back, filtered, tenant-scoped, audited with the row count', async () => {
    const logs = NASTY.map((message, i) => ({
      level: i % 2 ? 'error' : 'info',
      source: i === 5 ? '+source' : 'exporter',
      message,
      timestamp: new Date(Date.UTC(2026, 0, 2, 0, i)).toISOString(),
      context: { i, text: message, list: ['a, b', 'c: d'] },
      ...(i === 1 ? { trace_id: '=trace' } : {}),
    }));
    expect((await e.request('POST', '/api/v1/logs/system', { key: tenant.key, body: { logs } })).status).toBe(201);
    const other = await e.newTenant('admin');
    await e.request('POST', '/api/v1/logs/system', { key: other.key, body: { logs: [{ level: 'info', source: 'exporter', message: 'not yours' }] } });

    const res = await bulk({ topic: 'system', format: 'csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(buf.toString('utf8')).toMatch(/^\uFEFFlog_id,tenant_id,level,source,message,timestamp,context,trace_id,request_id,created_at\r\n/);
    const guard = (v: string) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
    const rows = parse(buf, { bom: true, columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r['message'])).toEqual(NASTY.map(guard));
    expect(rows.map((r) => r['tenant_id'])).toEqual(NASTY.map(() => tenant.tenantId));
    expect(rows.map((r) => r['timestamp'])).toEqual(logs.map((l) => l.timestamp));
    expect(rows.map((r) => JSON.parse(r['context']))).toEqual(logs.map((l) => l.context));
    expect(rows[1]['context']).toBe(JSON.stringify(JSON.parse(rows[1]['context'])));
    expect(rows[1]['trace_id']).toBe("'=trace");
    expect(rows[5]['source']).toBe("'+source");

    const errors = parse(Buffer.from(await (await bulk({ topic: 'system', format: 'csv', filters: { level: 'error', source: 'exporter' } })).arrayBuffer()), { bom: true, columns: true }) as Record<string, string>[];
    expect(errors.map((r) => r['message'])).toEqual(NASTY.filter((_, i) => i % 2 && i !== 5).map(guard));
    const audit = (await (await e.request('GET', '/api/v1/logs/audit?action=logs_exported&limit=1', { key: tenant.key })).json()) as any;
    const entry = (await (await e.request('GET', `/api/v1/logs/${audit.items[0].log_id}`, { key: tenant.key })).json()) as any;
    expect(entry.details).toMatchObject({ topic: 'system', format: 'csv', row_count: errors.length, complete: true, filters: { level: 'error', source: 'exporter' } });

    const theirs = parse(Buffer.from(await (await bulk({ topic: 'system', format: 'csv' }, other.key)).arrayBuffer()), { bom: true, columns: true }) as Record<string, string>[];
    expect(theirs.map((r) => [r['tenant_id'], r['message']])).toEqual([[other.tenantId, 'not yours']]);
  });

  it('with a search term, exports writes the search index has not taken in yet (it catches up first)', async () => {
    // The app's own indexers stopped: only the export's catch-up can index these writes.
    const steps = e.app.get(StepSearchIndexer);
    const logs = e.app.get(SystemLogSearchIndexer);
    await steps.stop();
    await logs.stop();
    try {
      const marker = `okapi${Date.now()}`;
      const trace = ((await (await e.request('POST', '/api/v1/traces', { key: tenant.key, body: { run_id: randomUUID(), agent_id: randomUUID() } })).json()) as any).trace_id;
      const step = { step_index: 0, step_type: 'input', timestamp: new Date().toISOString(), input_data: { q: `where is the ${marker}` }, output_data: null };
      expect((await e.request('POST', `/api/v1/traces/${trace}/steps`, { key: tenant.key, body: { steps: [step] } })).status).toBe(201);
      expect((await e.request('POST', '/api/v1/logs/system', { key: tenant.key, body: { level: 'info', source: 'zoo', message: `the ${marker} is out` } })).status).toBe(201);
      // The list search answers from the index as it is: nothing yet.
      expect(((await (await e.request('GET', `/api/v1/logs/llm-runs?search=${marker}`, { key: tenant.key })).json()) as any).items).toEqual([]);

      const runs = (await (await bulk({ topic: 'llm_runs', format: 'json', filters: { search: marker } })).json()) as any[];
      expect(runs.map((r) => r.trace_id)).toEqual([trace]);
      const found = (await (await bulk({ topic: 'system', format: 'json', filters: { search: marker } })).json()) as any[];
      expect(found.map((r) => r.message)).toEqual([`the ${marker} is out`]);
    } finally {
      steps.start();
      logs.start();
    }
  });

  it('refuses bad export requests naming the field, and viewers', async () => {
    const viewer = await e.newKey(tenant.tenantId, 'viewer');
    expect((await bulk({ topic: 'llm_runs', format: 'csv' }, viewer)).status).toBe(403);
    const cases: Array<[unknown, string]> = [
      [{ topic: 'nope', format: 'csv' }, 'topic'],
      [{ topic: 'llm_runs', format: 'pdf' }, 'format'],
      [{ topic: 'llm_runs', format: 'csv', filters: { limit: 5 } }, 'filters.limit'],
      [{ topic: 'llm_runs', format: 'csv', filters: { status: 'weird' } }, 'filters.status'],
      [{ topic: 'llm_runs', format: 'csv', extra: 1 }, 'extra'],
      [{ topic: 'llm_runs', format: 'csv', filters: { topic: 'audit' } }, 'filters.topic'],
      [{ topic: 'llm_runs', format: 'csv', filters: { has_violation: 'true' } }, 'filters.has_violation'],
      [{ topic: 'system', format: 'csv', filters: { start_time: '2026-02-01T00:00:00Z', end_time: '2026-01-01T00:00:00Z' } }, 'filters.end_time'],
    ];
    for (const [body, field] of cases) {
      const res = await bulk(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as any).errors.map((x: any) => x.field)).toContain(field);
    }
    expect((await e.request('POST', `/api/v1/logs/llm-runs/${violated}/export/evidence`, { key: auditor, body: { bundle_type: 'soc2' } })).status).toBe(400);
  });
});
