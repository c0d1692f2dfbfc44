import { createHash, randomUUID } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { PDF_RENDERER_OPTIONS, PdfJobQueue, renderEvidenceHtml } from '@aos/evidence-pdf';
import { LogExportService } from '@aos/export';
import { verifySignedBundle } from '@aos/logs-domain';
import { ExportJobStore, TenantStore } from '@aos/traces-store';
import { BOOTSTRAP_KEY, type E2eApp, startE2eApp } from '../testing/e2e-app';

const step = (i: number) => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  tokens: 100,
  input_data: { q: `question ${i}` },
  output_data: { a: `answer ${i}` },
});

/** The PDF job routes (GET status, GET file) over HTTP; jobs run in-process (no REDIS_URL). */
describe('PDF export jobs over HTTP', () => {
  let e: E2eApp;
  beforeAll(async () => {
    e = await startE2eApp();
  }, 60_000);
  afterAll(() => e?.close());

  const sealedTrace = async (key?: string) => {
    const created = (await (await e.request('POST', '/api/v1/traces', { key, body: { run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'refund-assistant' } })).json()) as {
      trace_id: string;
    };
    const id = created.trace_id;
    expect((await e.request('POST', `/api/v1/traces/${id}/steps`, { key, body: { steps: [0, 1, 2, 3].map(step) } })).status).toBe(201);
    expect((await e.request('POST', `/api/v1/traces/${id}/violation`, { key, body: { step_index: 2, policy_id: randomUUID(), reason: 'refund above limit' } })).status).toBe(200);
    const sealed = (await (await e.request('POST', `/api/v1/traces/${id}/complete`, { key, body: { status: 'failed' } })).json()) as { trace_id: string; content_hash: string };
    return sealed;
  };

  const poll = async (jobId: string, key?: string) => {
    for (let i = 0; i < 150; i++) {
      const body = (await (await e.request('GET', `/api/v1/exports/${jobId}`, { key })).json()) as any;
      if (body.status === 'completed' || body.status === 'failed') return body;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the job did not finish');
  };

  it('renders with the API\u2019s AOS_PDF_* settings when the jobs run in-process (the worker reads the same)', () => {
    expect(e.app.get(PDF_RENDERER_OPTIONS)).toEqual({ concurrency: 2, recycleAfter: 100, timeoutMs: 60_000 });
  });

  it('answers the job status, then the PDF with its digest once completed', async () => {
    const trace = await sealedTrace();
    const job = await e.app.get(PdfJobQueue).enqueue(await devTenant(e), trace.trace_id, 'soc2');

    const res = await e.request('GET', `/api/v1/exports/${job.job_id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      job_id: job.job_id,
      trace_id: trace.trace_id,
      bundle_type: 'soc2',
      format: 'pdf',
      content_hash: trace.content_hash,
      status_url: `/api/v1/exports/${job.job_id}`,
      file_url: `/api/v1/exports/${job.job_id}/file`,
    });

    const done = await poll(job.job_id);
    expect(done).toMatchObject({ status: 'completed', attempts: 1, error: null, file: { content_type: 'application/pdf' } });

    const file = await e.request('GET', `/api/v1/exports/${job.job_id}/file`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/pdf');
    expect(file.headers.get('content-disposition')).toBe(`attachment; filename="aos-soc2-bundle-${trace.trace_id}.pdf"`);
    const bytes = Buffer.from(await file.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest();
    expect(done.file.sha256).toBe(sha.toString('hex'));
    expect(done.file.size).toBe(bytes.length);
    expect(file.headers.get('repr-digest')).toBe(`sha-256=:${sha.toString('base64')}:`);
    expect(file.headers.get('etag')).toBe(`"${sha.toString('hex')}"`);
    const text = execFileSync('pdftotext', ['-layout', '-', '-'], { input: bytes }).toString();
    expect(text).toContain(trace.trace_id);
    expect(text).toContain(trace.content_hash);
    for (const c of ['CC7.2', 'CC7.3', 'CC7.4']) expect(text).toContain(c);
    expect(text).toContain(`aos-evidence-${trace.trace_id}.dsse.json`);

    // The PDF alone is verifiable: it carries the signed evidence as an attached file.
    const dir = mkdtempSync(join(tmpdir(), 'aos-pdf-'));
    try {
      writeFileSync(join(dir, 'evidence.pdf'), bytes);
      expect(execFileSync('pdfdetach', ['-list', join(dir, 'evidence.pdf')]).toString()).toContain(`aos-evidence-${trace.trace_id}.dsse.json`);
      execFileSync('pdfdetach', ['-save', '1', '-o', join(dir, 'signed.json'), join(dir, 'evidence.pdf')]);
      const envelope = readFileSync(join(dir, 'signed.json'), 'utf8');
      const key = (await (await e.request('GET', '/api/v1/integrity/public-key', { key: null })).json()) as { verifier_key: string };
      expect(verifySignedBundle(envelope, { verifierKey: key.verifier_key })).toMatchObject({ ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('answers 409 for the file before the job is completed, naming its status', async () => {
    const trace = await sealedTrace();
    // Recorded but not handed to the queue: it stays queued.
    const { job } = await e.app.get(ExportJobStore).enqueueOrGet(await devTenant(e), { trace_id: trace.trace_id, bundle_type: 'executive', content_hash: trace.content_hash });
    const res = await e.request('GET', `/api/v1/exports/${job.job_id}/file`);
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 409, job_status: 'queued' });
    expect(((await (await e.request('GET', `/api/v1/exports/${job.job_id}`)).json()) as any).status).toBe('queued');
  }, 60_000);

  it("hides another tenant's job (404), refuses roles without export rights (403) and a malformed id (400)", async () => {
    const trace = await sealedTrace();
    const job = await e.app.get(PdfJobQueue).enqueue(await devTenant(e), trace.trace_id, 'evidence');
    await poll(job.job_id);
    const other = await e.newTenant('auditor');
    expect((await e.request('GET', `/api/v1/exports/${job.job_id}`, { key: other.key })).status).toBe(404);
    expect((await e.request('GET', `/api/v1/exports/${job.job_id}/file`, { key: other.key })).status).toBe(404);
    expect((await e.request('GET', `/api/v1/exports/${randomUUID()}`)).status).toBe(404);
    const tenantId = await devTenant(e);
    for (const role of ['viewer', 'ingest'] as const) {
      const key = await e.newKey(tenantId, role);
      expect((await e.request('GET', `/api/v1/exports/${job.job_id}`, { key })).status).toBe(403);
    }
    const auditor = await e.newKey(tenantId, 'auditor');
    expect((await e.request('GET', `/api/v1/exports/${job.job_id}/file`, { key: auditor })).status).toBe(200);
    expect((await e.request('GET', '/api/v1/exports/not-a-uuid')).status).toBe(400);
    expect((await e.request('GET', `/api/v1/exports/${job.job_id}`, { key: null })).status).toBe(401);
  }, 60_000);

  it('prints a verification script that, run as printed, recomputes the sealed trace hash through the API', async () => {
    const created = (await (await e.request('POST', '/api/v1/traces', { body: { run_id: randomUUID(), agent_id: randomUUID() } })).json()) as { trace_id: string };
    const id = created.trace_id;
    // More steps than one page of GET .../steps (1000): the script must follow the cursor.
    const all = Array.from({ length: 1200 }, (_, i) => ({
      step_index: i,
      step_type: i === 0 ? 'input' : 'llm_call',
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString(),
      input_data: i % 2 ? { q: `é ${i} “quoted”`, n: 1.5e3 } : undefined,
      output_data: { a: [i, null, true, 0.1] },
    }));
    for (let i = 0; i < all.length; i += 1000) {
      expect((await e.request('POST', `/api/v1/traces/${id}/steps`, { body: { steps: all.slice(i, i + 1000) } })).status).toBe(201);
    }
    const sealed = (await (await e.request('POST', `/api/v1/traces/${id}/complete`, { body: { status: 'completed' } })).json()) as { content_hash: string };
    const doc = renderEvidenceHtml(await e.app.get(LogExportService).buildEvidenceBundle(await devTenant(e), id, 'evidence'));
    const pre = [...doc.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((m) => m[1]).find((t) => t.includes('verify.mjs'))!;
    const script = pre
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&#96;/g, '`')
      .replace(/&amp;/g, '&');
    // Under the workspace, so `import canonicalize` resolves from its node_modules.
    mkdirSync(resolve(__dirname, '../../../../tmp'), { recursive: true });
    const dir = mkdtempSync(resolve(__dirname, '../../../../tmp/verify-'));
    try {
      writeFileSync(join(dir, 'verify.mjs'), script);
      const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'verify.mjs'), id], {
        env: { ...process.env, NODE_OPTIONS: '', AOS_URL: e.baseUrl, AOS_API_KEY: BOOTSTRAP_KEY },
      });
      expect(stdout.trim()).toBe(`trace hash ${sealed.content_hash}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The development tenant (its admin key is the e2e bootstrap key). */
async function devTenant(e: E2eApp): Promise<string> {
  const principal = await e.app.get(TenantStore).authenticate(BOOTSTRAP_KEY);
  return principal!.tenant_id;
}
