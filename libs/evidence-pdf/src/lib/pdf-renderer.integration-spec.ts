import { Logger } from '@nestjs/common';
import { pdfInfo, pdfText } from '../testing/pdf-text';
import { sampleBundle, SAMPLE_TENANT_ID, SAMPLE_TRACE_ID } from '../testing/sample-bundle';
import { PdfRenderer, PdfRenderTimeoutError } from './pdf-renderer';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitFor = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe(PdfRenderer.name, () => {
  let renderer: PdfRenderer;

  beforeAll(() => {
    Logger.overrideLogger(['error']);
    renderer = new PdfRenderer({ concurrency: 2 });
  });
  afterAll(() => renderer?.close());

  it('renders a 50-step evidence bundle an auditor can read: ids, hashes, the inflection step, page numbers', async () => {
    const bundle = sampleBundle('evidence', 50, 37);
    const pdf = await renderer.render(bundle);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const info = pdfInfo(pdf);
    expect(info['Title']).toBe(`Evidence bundle: trace ${SAMPLE_TRACE_ID}`);
    expect(info['Page size']).toMatch(/ pts \(A4\)$/);
    const pages = Number(info['Pages']);
    expect(pages).toBeGreaterThanOrEqual(3);

    const text = pdfText(pdf);
    expect(text).toContain(SAMPLE_TRACE_ID);
    expect(text).toContain(SAMPLE_TENANT_ID);
    expect(text).toContain(bundle.integrity.content_hash!);
    expect(text).toContain(bundle.generated_at);
    for (const s of bundle.trace_evidence.steps) expect(text).toContain(s.content_hash);
    // The inflection row: step 37, its hash and the marker on one line.
    const row = text.split('\n').find((l) => l.includes(bundle.trace_evidence.steps[37].content_hash))!;
    expect(row).toMatch(/^\s*37\s/);
    expect(row).toMatch(/inflection point/i);
    expect(text).toMatch(/Inflection point\s+step 37 \(policy violation\)/);
    expect(text).toContain('RFC 8785');
    expect(text).toContain(`Page 1 of ${pages}`);
    expect(text).toContain(`Page ${pages} of ${pages}`);
  }, 60_000);

  it('renders the SOC2 control table (CC7.2, CC7.3, CC7.4) and the attestation', async () => {
    const bundle = sampleBundle('soc2');
    const text = pdfText(await renderer.render(bundle));
    for (const c of ['CC7.2', 'CC7.3', 'CC7.4']) expect(text).toContain(c);
    expect(text).toContain('Attestation');
    expect(text).toContain(bundle.attestation_statement!);
    expect(text).toContain(bundle.integrity.content_hash!);
  }, 60_000);

  it('renders the executive summary in plain language', async () => {
    const bundle = sampleBundle('executive');
    const text = pdfText(await renderer.render(bundle));
    expect(text).toContain('Summary for decision makers');
    expect(text).toContain('HIGH');
    expect(text).toContain(bundle.recommended_actions![0]);
    expect(text).toContain(bundle.business_impact!);
  }, 60_000);

  it('runs no script of the document and fetches nothing', async () => {
    const pdf = await renderer.renderHtml(
      `<!doctype html><html><body><p id="p">static</p><script>document.getElementById('p').textContent = 'SCRIPT RAN'</script>
       <img src="http://127.0.0.1:9/tracker.png" alt=""></body></html>`,
    );
    const text = pdfText(pdf);
    expect(text).toContain('static');
    expect(text).not.toContain('SCRIPT RAN');
  }, 60_000);

  it('reuses one browser across renders and never opens more than `concurrency` pages', async () => {
    const r = new PdfRenderer({ concurrency: 2 });
    try {
      const pdfs = await Promise.all(Array.from({ length: 6 }, () => r.render(sampleBundle('evidence', 10))));
      expect(pdfs.every((p) => p.subarray(0, 5).toString() === '%PDF-')).toBe(true);
      expect(r.stats()).toMatchObject({ launches: 1, renders: 6, rendersOnBrowser: 6, activePages: 0, peakActivePages: 2, pagesOpened: 2 });
    } finally {
      await r.close();
    }
  }, 60_000);

  it('shows nothing of one document in the next one rendered on the same reused page', async () => {
    const r = new PdfRenderer({ concurrency: 1 });
    try {
      const first = pdfText(await r.renderHtml('<!doctype html><title>a</title><p>TENANT-A-SECRET</p><p style="position:fixed;bottom:0">A-FOOTER</p>'));
      const second = pdfText(await r.renderHtml('<!doctype html><title>b</title><p>tenant b document</p>'));
      expect(first).toContain('TENANT-A-SECRET');
      expect(second).toContain('tenant b document');
      expect(second).not.toContain('TENANT-A');
      expect(second).not.toContain('A-FOOTER');
      expect(r.stats().pagesOpened).toBe(1);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('replaces the browser after `recycleAfter` renders and closes the old one', async () => {
    const r = new PdfRenderer({ recycleAfter: 2 });
    try {
      await r.render(sampleBundle('evidence', 3));
      const first = r.stats().browserPid!;
      await r.render(sampleBundle('evidence', 3));
      await r.render(sampleBundle('evidence', 3));
      expect(r.stats()).toMatchObject({ launches: 2, rendersOnBrowser: 1 });
      expect(r.stats().browserPid).not.toBe(first);
      await waitFor(() => !isAlive(first));
      await r.render(sampleBundle('evidence', 3));
      await r.render(sampleBundle('evidence', 3));
      expect(r.stats().launches).toBe(3);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('replaces a browser that crashed: after its process is killed the next render works', async () => {
    const r = new PdfRenderer();
    try {
      await r.render(sampleBundle('evidence', 3));
      const pid = r.stats().browserPid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(() => r.stats().browserPid === null);
      const pdf = await r.render(sampleBundle('evidence', 3));
      expect(pdfText(pdf)).toContain(SAMPLE_TRACE_ID);
      expect(r.stats().launches).toBe(2);
      expect(r.stats().browserPid).not.toBe(pid);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('fails a render whose browser dies under it, and serves the next one with a new browser', async () => {
    const r = new PdfRenderer();
    try {
      await r.render(sampleBundle('evidence', 3));
      const pid = r.stats().browserPid!;
      const big = sampleBundle('evidence', 3000);
      const pending = r.render(big);
      await waitFor(() => r.stats().activePages === 1);
      await new Promise((res) => setTimeout(res, 100));
      process.kill(pid, 'SIGKILL');
      await expect(pending).rejects.toThrow();
      expect(r.stats().activePages).toBe(0);
      expect((await r.render(sampleBundle('evidence', 3))).subarray(0, 5).toString()).toBe('%PDF-');
      expect(r.stats().launches).toBe(2);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('gives up on a render that exceeds its timeout, closes its page, and keeps working', async () => {
    const r = new PdfRenderer();
    try {
      await expect(r.renderHtml('<p>slow</p>', { timeoutMs: 1 })).rejects.toBeInstanceOf(PdfRenderTimeoutError);
      expect(r.stats().activePages).toBe(0);
      const pdf = await r.render(sampleBundle('evidence', 3));
      expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
      // The timed-out render's page was not kept for reuse, and its browser was replaced.
      expect(r.stats().launches).toBe(2);
    } finally {
      await r.close();
    }
  }, 60_000);

  it('refuses to render once closed, and its browser is gone', async () => {
    const r = new PdfRenderer();
    await r.render(sampleBundle('evidence', 2));
    const pid = r.stats().browserPid!;
    await r.close();
    await waitFor(() => !isAlive(pid));
    await expect(r.render(sampleBundle('evidence', 2))).rejects.toThrow(/closed/);
  }, 60_000);
});
