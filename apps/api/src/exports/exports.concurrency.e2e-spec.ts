import { createHash, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { type E2eApp, startE2eApp, sampleStep } from '../testing/e2e-app';
import { type Answer, answerOf, apart, ownerClient, serverErrors, statuses, times, together } from '../testing/race';

/**
 * Every export route under concurrency (DESIGN.md 6 and 8): the same export
 * asked for at once answers the same content to all and is audited once per
 * request; PDF asks for one sealed trace and bundle type make one job (its id
 * to all), rendered once into one file; asks racing the seal are 409 (open) or
 * the job of the sealed hash; never a 5xx. PDFs render in-process (no REDIS_URL).
 */
const ROUNDS = 30;

const step = (i: number) => sampleStep(i);

describe('Exports asked for at once', () => {
  let e: E2eApp;
  let db: Client;
  let tenantId: string;
  let ingest: string;
  let auditor: string;

  beforeAll(async () => {
    e = await startE2eApp();
    db = await ownerClient(e);
    const t = await e.newTenant('ingest');
    tenantId = t.tenantId;
    ingest = t.key;
    auditor = await e.newKey(tenantId, 'auditor');
    const logs = Array.from({ length: 50 }, (_, i) => ({ level: i % 2 ? 'info' : 'warning', source: 'export-race', message: `log ${i}`, context: { i } }));
    expect((await e.request('POST', '/api/v1/logs/system', { key: ingest, body: { logs } })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await e?.close();
  });

  const post = (key: string, path: string, body?: unknown): [string, string, { key: string; body?: unknown }] => ['POST', path, { key, body }];
  const openTrace = async () => {
    const created = await answerOf(await e.request(...post(ingest, '/api/v1/traces', { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'exporter' })));
    const id = created.body.trace_id as string;
    expect((await e.request(...post(ingest, `/api/v1/traces/${id}/steps`, { steps: [0, 1, 2].map(step) }))).status).toBe(201);
    return id;
  };
  const sealedTrace = async () => {
    const id = await openTrace();
    expect((await e.request(...post(ingest, `/api/v1/traces/${id}/complete`, { status: 'completed' }))).status).toBe(200);
    return id;
  };
  const auditCount = async (action: string, where = 'true', params: unknown[] = []) =>
    (await db.query(`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = $1 AND action = $2 AND ${where}`, [tenantId, action, ...params])).rows[0].n as number;
  /** Polls until `probe` answers true (audit rows of a streamed export follow its last byte). */
  const eventually = async (probe: () => Promise<boolean>, what: string, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!(await probe())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const sha = (a: Answer) => createHash('sha256').update(a.text).digest('hex');

  it('streams the same bulk export to each of 4 asks at once, in every format and topic, each audited once', async () => {
    for (const topic of ['system', 'audit', 'llm_runs'] as const) {
      for (const format of ['json', 'jsonl', 'csv', 'xlsx'] as const) {
        const before = await auditCount('logs_exported');
        // The audit topic's own rows change as exports are audited: filter them to the fixture's time.
        const filters = topic === 'audit' ? { action: 'api_key_created' } : {};
        const answers = await together(e, times(4, ...post(auditor, '/api/v1/logs/export', { topic, format, filters })));
        expect(serverErrors(answers)).toEqual([]);
        expect({ topic, format, statuses: statuses(answers) }).toEqual({ topic, format, statuses: [200, 200, 200, 200] });
        if (format !== 'xlsx') expect({ topic, format, digests: new Set(answers.map(sha)).size }).toEqual({ topic, format, digests: 1 });
        await eventually(async () => (await auditCount('logs_exported')) - before === 4, `4 logs_exported rows for ${topic} ${format}`);
      }
    }
  }, 60_000);

  it('answers the same trace export and signed bundles to asks at once, each audited once', async () => {
    const id = await sealedTrace();
    const routes: Array<[string, object, string]> = [
      [`/api/v1/logs/llm-runs/${id}/export`, {}, 'trace_exported'],
      [`/api/v1/logs/llm-runs/${id}/export`, { format: 'csv' }, 'trace_exported'],
      [`/api/v1/logs/llm-runs/${id}/export/evidence`, {}, 'evidence_bundle_exported'],
      [`/api/v1/logs/llm-runs/${id}/export/evidence`, { format: 'dsse', bundle_type: 'executive' }, 'evidence_bundle_exported'],
      [`/api/v1/logs/llm-runs/${id}/export/soc2`, {}, 'evidence_bundle_exported'],
      [`/api/v1/logs/llm-runs/${id}/export/soc2`, { format: 'dsse' }, 'evidence_bundle_exported'],
    ];
    for (const [path, body, action] of routes) {
      const before = await auditCount(action, 'resource_id = $3', [id]);
      const answers = await together(e, times(4, ...post(auditor, path, body)));
      expect(serverErrors(answers)).toEqual([]);
      expect({ path, body, statuses: statuses(answers) }).toEqual({ path, body, statuses: [200, 200, 200, 200] });
      expect((await auditCount(action, 'resource_id = $3', [id])) - before).toBe(4);
    }
  }, 60_000);

  it('makes one PDF job per sealed trace and bundle type under asks at once, renders it once, and audits each ask', async () => {
    const jobs: Array<{ id: string; job: string; bundle: string }> = [];
    for (let round = 0; round < 3; round++) {
      const id = await sealedTrace();
      for (const [path, bundle] of [
        [`/api/v1/logs/llm-runs/${id}/export/evidence`, 'evidence'],
        [`/api/v1/logs/llm-runs/${id}/export/evidence`, 'executive'],
        [`/api/v1/logs/llm-runs/${id}/export/soc2`, 'soc2'],
      ] as const) {
        const answers = await together(e, times(4, ...post(auditor, path, { format: 'pdf', ...(bundle === 'soc2' ? {} : { bundle_type: bundle }) })));
        expect(serverErrors(answers)).toEqual([]);
        expect(statuses(answers)).toEqual([202, 202, 202, 202]);
        const ids = new Set(answers.map((a) => a.body.job_id as string));
        expect(ids.size).toBe(1);
        jobs.push({ id, job: [...ids][0], bundle });
      }
    }
    for (const { id, job, bundle } of jobs) {
      await eventually(async () => (await answerOf(await e.request('GET', `/api/v1/exports/${job}`, { key: auditor }))).body.status === 'completed', `job ${job}`, 50_000);
      const { rows } = await db.query(
        `SELECT j.status, j.attempts, (SELECT count(*) FROM export_files f WHERE f.job_id = j.job_id)::int AS files,
           (SELECT count(*) FROM export_jobs k WHERE k.trace_id = j.trace_id AND k.bundle_type = j.bundle_type)::int AS jobs
         FROM export_jobs j WHERE j.job_id = $1`,
        [job],
      );
      expect(rows).toEqual([{ status: 'completed', attempts: 1, files: 1, jobs: 1 }]);
      expect(await auditCount('evidence_bundle_exported', `resource_id = $3 AND details->>'job_id' = $4`, [id, job])).toBe(4);
      const file = await e.request('GET', `/api/v1/exports/${job}/file`, { key: auditor });
      expect([bundle, file.status]).toEqual([bundle, 200]);
      await file.body?.cancel();
    }
    // Asked again at once, once rendered: the same completed job, not rendered again.
    const { job } = jobs[0];
    const again = await together(e, times(4, ...post(auditor, `/api/v1/logs/llm-runs/${jobs[0].id}/export/evidence`, { format: 'pdf' })));
    expect(again.map((a) => [a.status, a.body.job_id, a.body.status])).toEqual(Array(4).fill([202, job, 'completed']));
    expect((await db.query(`SELECT attempts FROM export_jobs WHERE job_id = $1`, [job])).rows).toEqual([{ attempts: 1 }]);
  }, 60_000);

  it('answers a PDF ask racing the seal with 409 (still open) or the job of the sealed trace', async () => {
    const outcomes: number[] = [];
    // Rounds 0 and 1 fix the two ends, whatever this machine's speed: the PDF
    // asked before the seal is sent (409), and after the seal answered (202).
    // The rest sweep the delay across the seal, where either may win.
    for (let round = 0; round < ROUNDS; round++) {
      const id = await openTrace();
      const complete = post(ingest, `/api/v1/traces/${id}/complete`, { status: 'completed' });
      const ask = post(auditor, `/api/v1/logs/llm-runs/${id}/export/evidence`, { format: 'pdf', bundle_type: 'executive' });
      let done: Answer;
      let pdf: Answer;
      if (round === 0) [[pdf], [done]] = [await together(e, [ask]), await together(e, [complete])];
      else if (round === 1) [[done], [pdf]] = [await together(e, [complete]), await together(e, [ask])];
      else [done, pdf] = await apart(e, complete, ask, round % 6);
      expect(serverErrors([pdf, done])).toEqual([]);
      expect(done.status).toBe(200);
      outcomes.push(pdf.status);
      if (round < 2) expect(pdf.status).toBe(round === 0 ? 409 : 202);
      if (pdf.status === 202) expect(pdf.body.content_hash).toBe(done.body.content_hash);
      else expect([pdf.status, pdf.body.detail]).toEqual([409, expect.stringMatching(/is still open/)]);
    }
    // Let the renders of this race finish before the app closes.
    const { rows } = await db.query(`SELECT job_id FROM export_jobs WHERE tenant_id = $1 AND status <> 'completed'`, [tenantId]);
    for (const { job_id } of rows) {
      await eventually(async () => (await answerOf(await e.request('GET', `/api/v1/exports/${job_id}`, { key: auditor }))).body.status === 'completed', `job ${job_id}`, 50_000);
    }
    expect(new Set(outcomes)).toEqual(new Set([202, 409]));
  }, 60_000);
});
