import { randomUUID } from 'node:crypto';
import { type E2eApp, PLATFORM_KEY, startE2eApp } from '../testing/e2e-app';

type Caller = 'viewer' | 'auditor' | 'ingest' | 'admin' | 'platform';
const ALL: Caller[] = ['viewer', 'auditor', 'ingest', 'admin', 'platform'];
const READERS: Caller[] = ['viewer', 'auditor', 'admin'];
const WRITERS: Caller[] = ['ingest', 'admin'];
const AUDITORS: Caller[] = ['auditor', 'admin'];

const T = '{trace_id}';
/**
 * DESIGN.md section 8, route by route: who may call it. Every route of the
 * OpenAPI document must be listed here (the last test checks), so a new route
 * cannot ship without its roles being decided and tested.
 */
const MATRIX: Array<{ method: string; path: string; allowed: Caller[]; body?: unknown; query?: string }> = [
  { method: 'POST', path: '/api/v1/traces', allowed: WRITERS, body: {} },
  { method: 'POST', path: `/api/v1/traces/${T}/steps`, allowed: WRITERS, body: {} },
  { method: 'POST', path: `/api/v1/traces/${T}/violation`, allowed: WRITERS, body: {} },
  { method: 'POST', path: `/api/v1/traces/${T}/complete`, allowed: WRITERS, body: {} },
  { method: 'POST', path: `/api/v1/traces/${T}/incident`, allowed: WRITERS, body: {} },
  { method: 'PUT', path: '/api/v1/incidents/{incident_id}', allowed: WRITERS, body: {} },
  { method: 'GET', path: '/api/v1/logs/llm-runs', allowed: READERS },
  { method: 'POST', path: '/api/v1/logs/llm-runs/search', allowed: READERS, body: {} },
  { method: 'GET', path: `/api/v1/logs/llm-runs/${T}`, allowed: READERS },
  { method: 'GET', path: `/api/v1/logs/llm-runs/${T}/steps`, allowed: READERS },
  { method: 'GET', path: `/api/v1/logs/llm-runs/${T}/verify`, allowed: READERS },
  { method: 'POST', path: '/api/v1/logs/system', allowed: [...WRITERS, 'platform'], body: {} },
  { method: 'POST', path: '/api/v1/logs/audit', allowed: WRITERS, body: {} },
  { method: 'GET', path: '/api/v1/logs', allowed: [...READERS, 'platform'], query: 'topic=system' },
  { method: 'POST', path: '/api/v1/logs/search', allowed: [...READERS, 'platform'], body: { topic: 'system' } },
  { method: 'GET', path: '/api/v1/logs/system', allowed: [...READERS, 'platform'] },
  { method: 'GET', path: '/api/v1/logs/audit', allowed: READERS },
  { method: 'POST', path: '/api/v1/logs/audit/search', allowed: READERS, body: {} },
  { method: 'GET', path: '/api/v1/logs/{log_id}', allowed: [...READERS, 'platform'] },
  { method: 'POST', path: '/api/v1/logs/export', allowed: AUDITORS, body: {} },
  { method: 'POST', path: `/api/v1/logs/llm-runs/${T}/export`, allowed: AUDITORS, body: {} },
  { method: 'POST', path: `/api/v1/logs/llm-runs/${T}/export/evidence`, allowed: AUDITORS, body: {} },
  { method: 'POST', path: `/api/v1/logs/llm-runs/${T}/export/soc2`, allowed: AUDITORS, body: {} },
  { method: 'GET', path: '/api/v1/exports/{job_id}', allowed: AUDITORS },
  { method: 'GET', path: '/api/v1/exports/{job_id}/file', allowed: AUDITORS },
  { method: 'POST', path: `/api/v1/traces/${T}/replay`, allowed: AUDITORS, body: {} },
  { method: 'GET', path: `/api/v1/traces/${T}/state`, allowed: READERS, query: 'step_index=0' },
  { method: 'GET', path: `/api/v1/traces/${T}/replay/stream`, allowed: AUDITORS },
  { method: 'GET', path: '/api/v1/api-keys', allowed: ['admin'] },
  { method: 'POST', path: '/api/v1/api-keys', allowed: ['admin'], body: {} },
  { method: 'DELETE', path: '/api/v1/api-keys/{key_id}', allowed: ['admin'] },
  { method: 'GET', path: '/api/v1/retention', allowed: ['admin'] },
  { method: 'PUT', path: '/api/v1/retention', allowed: ['admin'], body: {} },
  { method: 'GET', path: '/api/v1/retention/holds', allowed: ['admin'] },
  { method: 'POST', path: '/api/v1/retention/holds', allowed: ['admin'], body: {} },
  { method: 'POST', path: '/api/v1/retention/holds/{hold_id}/release', allowed: ['admin'], body: {} },
  { method: 'POST', path: '/api/v1/retention/purge', allowed: ['admin'], body: { dry_run: true } },
  { method: 'POST', path: '/api/v1/tenants', allowed: ['platform'], body: {} },
  { method: 'GET', path: '/api/v1/integrity/checkpoint', allowed: [...READERS, 'platform'] },
  { method: 'GET', path: '/api/v1/integrity/proof/inclusion', allowed: [...READERS, 'platform'], query: `record_type=trace&record_id=${randomUUID()}` },
  { method: 'GET', path: '/api/v1/integrity/proof/consistency', allowed: [...READERS, 'platform'], query: 'from=1&to=1' },
  { method: 'POST', path: '/api/v1/integrity/audit', allowed: [...AUDITORS, 'platform'] },
];
const PUBLIC = ['GET /health/live', 'GET /health/ready', 'GET /api/v1/integrity/public-key'];

describe('Role matrix (DESIGN.md 8)', () => {
  let e: E2eApp;
  const keys = {} as Record<Caller, string>;

  beforeAll(async () => {
    e = await startE2eApp();
    const { tenantId, key } = await e.newTenant('admin');
    keys.admin = key;
    for (const role of ['viewer', 'auditor', 'ingest'] as const) keys[role] = await e.newKey(tenantId, role);
    keys.platform = PLATFORM_KEY;
  }, 60_000);
  afterAll(() => e?.close());

  const call = (route: (typeof MATRIX)[number], key: string | null) => {
    const path = route.path.replace(/\{[a-z_]+\}/g, randomUUID()) + (route.query ? `?${route.query}` : '');
    return e.request(route.method, path, { key, body: route.body });
  };

  it.each(MATRIX.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: each role gets in or gets 403, nobody without a key', async (_name, route) => {
    const seen: Record<string, number> = {};
    for (const caller of ALL) {
      const res = await call(route, keys[caller]);
      await res.body?.cancel();
      seen[caller] = res.status;
    }
    const anonymous = await call(route, null);
    await anonymous.body?.cancel();
    expect(anonymous.status).toBe(401);
    for (const caller of ALL) {
      const refused = seen[caller] === 401 || seen[caller] === 403;
      if (route.allowed.includes(caller)) expect({ caller, status: seen[caller], refused }).toEqual({ caller, status: seen[caller], refused: false });
      else expect({ caller, status: seen[caller] }).toEqual({ caller, status: 403 });
    }
  });

  it('lists every route of the OpenAPI document', async () => {
    const doc = (await (await e.request('GET', '/api/docs-json', { key: null })).json()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\/$/, '')}`));
    const listed = new Set([...MATRIX.map((r) => `${r.method} ${r.path}`), ...PUBLIC]);
    expect(documented.filter((r) => !listed.has(r))).toEqual([]);
  });
});
