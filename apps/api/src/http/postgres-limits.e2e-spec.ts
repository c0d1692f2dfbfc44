import { randomUUID } from 'node:crypto';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';

/**
 * Valid-looking input that PostgreSQL refuses on terms of its own. Each of these
 * was a 500 (found by probing the running service): a search term with more
 * negations than its tsquery parser's stack holds, an RFC 3339 offset past the
 * ±15:59 PostgreSQL accepts, and a cursor id shaped like a UUID but not one.
 */
describe('input PostgreSQL refuses on its own terms', () => {
  let e: E2eApp;
  beforeAll(async () => {
    e = await startE2eApp();
  }, 60_000);
  afterAll(() => e?.close());

  const fieldsOf = async (res: Response) => ({
    status: res.status,
    fields: res.status === 400 ? ((await res.json()) as any).errors.map((x: any) => `${x.field}: ${x.message}`) : [],
  });

  it('answers a search holding more negations than PostgreSQL parses with a 400 naming it, on every route that searches', async () => {
    const term = '-'.repeat(33);
    const q = encodeURIComponent(term);
    const calls: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/logs/llm-runs?search=${q}`],
      ['GET', `/api/v1/logs/system?search=${q}`],
      ['GET', `/api/v1/logs/audit?search=${q}`],
      ['GET', `/api/v1/logs?topic=audit&search=${q}`],
      ['POST', '/api/v1/logs/llm-runs/search', { search: term }],
      ['POST', '/api/v1/logs/audit/search', { search: term }],
      ['POST', '/api/v1/logs/search', { topic: 'system', search: term }],
      ['POST', '/api/v1/logs/export', { topic: 'system', format: 'csv', filters: { search: term } }],
    ];
    for (const [method, path, body] of calls) {
      const got = await fieldsOf(await e.request(method, path, body === undefined ? {} : { body }));
      expect({ path, ...got }).toEqual({ path, status: 400, fields: [expect.stringMatching(/search: may hold at most 16 negations/)] });
    }
    expect((await e.request('GET', `/api/v1/logs/llm-runs?search=${encodeURIComponent('-'.repeat(16) + 'refund')}`)).status).toBe(200);
  });

  it('takes a time filter at any RFC 3339 offset, +23:59 and -16:00 too, as the instant it names', async () => {
    const started_at = '2026-03-01T12:00:00.000Z';
    const created = await e.request('POST', '/api/v1/traces', { body: { run_id: randomUUID(), agent_id: randomUUID(), started_at } });
    const { trace_id } = (await created.json()) as { trace_id: string };
    const idsFrom = async (start: string, end: string) => {
      const res = await e.request('GET', `/api/v1/logs/llm-runs?start_time=${encodeURIComponent(start)}&end_time=${encodeURIComponent(end)}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as any).items.map((t: any) => t.trace_id);
    };
    // 2026-03-02T11:59+23:59 is 2026-03-01T12:00Z; the range is half-open.
    expect(await idsFrom('2026-03-02T11:59:00+23:59', '2026-03-01T12:00:00.001Z')).toEqual([trace_id]);
    expect(await idsFrom('2026-03-02T11:59:00.0005+23:59', '2026-03-01T20:00:00-16:00')).toEqual([]);
    for (const path of [
      '/api/v1/logs/system?start_time=2026-01-01T00:00:00%2B23:59',
      '/api/v1/logs/audit?end_time=2026-01-01T00:00:00-16:00',
      '/api/v1/logs?topic=system&start_time=2026-01-01T00:00:00-23:59',
    ]) {
      expect({ path, status: (await e.request('GET', path)).status }).toEqual({ path, status: 200 });
    }
    const incident = await e.request('PUT', `/api/v1/incidents/${randomUUID()}`, { body: { title: 't', opened_at: '2026-01-01T00:00:00-16:00' } });
    expect(incident.status).toBe(200);
    expect(((await incident.json()) as any).opened_at).toBe('2026-01-01T16:00:00.000Z');
  });

  it('answers a cursor whose id is shaped like a UUID but is not one with a 400 naming the cursor', async () => {
    const forged = (sort: string, value: unknown) =>
      encodeURIComponent(Buffer.from(JSON.stringify([sort, 'desc', value, '0'.repeat(36), 1])).toString('base64url'));
    for (const path of [
      `/api/v1/logs/llm-runs?cursor=${forged('started_at', '2026-01-01T00:00:00.000Z')}`,
      `/api/v1/logs/llm-runs?sort=total_tokens&cursor=${forged('total_tokens', 5)}`,
      `/api/v1/logs/system?cursor=${forged('timestamp', '2026-01-01T00:00:00.000Z')}`,
      `/api/v1/logs/audit?cursor=${forged('timestamp', '2026-01-01T00:00:00.000Z')}`,
    ]) {
      expect({ path, ...(await fieldsOf(await e.request('GET', path))) }).toEqual({ path, status: 400, fields: ['cursor: is not a cursor issued by this API'] });
    }
    // A cursor at an offset PostgreSQL refuses is read as the instant it names.
    const farOffset = encodeURIComponent(Buffer.from(JSON.stringify(['started_at', 'desc', '2026-01-02T00:00:00+23:59', randomUUID(), 1])).toString('base64url'));
    expect((await e.request('GET', `/api/v1/logs/llm-runs?cursor=${farOffset}`)).status).toBe(200);
    expect((await e.request('GET', `/api/v1/logs/llm-runs?search=refund&cursor=${farOffset}`)).status).toBe(200);
  });
});
