import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { type E2eApp, startE2eApp } from '../testing/e2e-app';
import { type Answer, answerOf, ownerClient, serverErrors, statuses, times, together } from '../testing/race';

/**
 * The trace write routes under concurrency (DESIGN.md 5 and 8): identical
 * requests sent at once make one record and are answered as stored; conflicting
 * ones sent at once leave one winner and a 409 that says why; never a 5xx. Each
 * race runs for many rounds on fresh traces, and afterwards the database is
 * checked: steps 0..n-1 once each, totals equal to the sums of the steps, every
 * sealed trace verifying and ledgered exactly once, and the ledger audit clean.
 */
const ROUNDS = 120;

const step = (i: number, variant = 'a', extra: Record<string, unknown> = {}) => ({
  step_index: i,
  step_type: i === 0 ? 'input' : 'llm_call',
  timestamp: new Date(Date.UTC(2026, 0, 20, 10, 0, i)).toISOString(),
  tokens: 10 + i,
  cost_cents: 2,
  duration_ms: 100,
  input_data: { q: `question ${i}` },
  output_data: { a: `answer ${i} (${variant})` },
  ...extra,
});
const newTrace = (extra: Record<string, unknown> = {}) => ({ trace_id: randomUUID(), run_id: randomUUID(), agent_id: randomUUID(), agent_name: 'racer', ...extra });
const violation = (step_index: number, reason = 'refund above limit', policy_id = POLICY) => ({ step_index, policy_id, reason });
const POLICY = randomUUID();

describe('Trace writes sent at once', () => {
  let e: E2eApp;
  let key: string;
  /** An auditor of the same tenant: verifies and runs the ledger audit. */
  let auditor: string;
  let db: Client;
  /** Every trace the races wrote to, for the consistency checks. */
  const touched = new Set<string>();

  beforeAll(async () => {
    e = await startE2eApp();
    const tenant = await e.newTenant('ingest');
    key = tenant.key;
    auditor = await e.newKey(tenant.tenantId, 'auditor');
    db = await ownerClient(e);
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await e?.close();
  });

  const post = (path: string, body: unknown): [string, string, { key: string; body: unknown }] => ['POST', path, { key, body }];
  const steps = (id: string, ...batch: object[]) => post(`/api/v1/traces/${id}/steps`, { steps: batch });
  const open = async (...batch: object[]) => {
    const trace = newTrace();
    expect((await answerOf(await e.request('POST', '/api/v1/traces', { key, body: trace }))).status).toBe(201);
    if (batch.length > 0) expect((await together(e, [steps(trace.trace_id, ...batch)]))[0].status).toBe(201);
    touched.add(trace.trace_id);
    return trace.trace_id;
  };
  /** A 409 problem that names why (not the database's "concurrent write; retry"). */
  const conflict = (a: Answer, why: RegExp) => {
    expect(a.status).toBe(409);
    expect(a.body.detail).toMatch(why);
  };

  it('makes one trace of identical sends of a new trace: one 201, the rest 200 with the stored trace', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const trace = newTrace({ started_at: '2026-01-20T10:00:00.000Z' });
      touched.add(trace.trace_id);
      const answers = await together(e, times(4, 'POST', '/api/v1/traces', { key, body: trace }));
      expect(serverErrors(answers)).toEqual([]);
      expect(statuses(answers)).toEqual([200, 200, 200, 201]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    }
  }, 60_000);

  it('gives a trace_id to one of two different traces sent at once, and a 409 naming trace_id to the other', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const a = newTrace();
      const b = { ...a, run_id: randomUUID() };
      touched.add(a.trace_id);
      const answers = await together(e, [post('/api/v1/traces', a), post('/api/v1/traces', b)]);
      expect(statuses(answers)).toEqual([201, 409]);
      conflict(answers.find((x) => x.status === 409)!, /trace_id .* is already taken/);
    }
  }, 60_000);

  it('records identical step batches sent at once once: one 201, the rest 200 with the same step ids', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0));
      const answers = await together(e, times(4, ...steps(id, step(1), step(2))));
      expect(serverErrors(answers)).toEqual([]);
      expect(statuses(answers)).toEqual([200, 200, 200, 201]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body.steps))).size).toBe(1);
    }
  }, 60_000);

  it('takes one of two different steps sent at once for one index; the other is a 409 naming the index', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0));
      const answers = await together(e, [steps(id, step(1, 'a')), steps(id, step(1, 'b'))]);
      expect(statuses(answers)).toEqual([201, 409]);
      const lost = answers.find((x) => x.status === 409)!;
      conflict(lost, /step_index 1 .* already recorded with other content/);
      expect(lost.body.step_index).toBe(1);
    }
  }, 60_000);

  it('orders overlapping batches sent at once: each either appends, repeats what is stored, or is a 409 for its gap', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0));
      // [1, 2] and [2, 3]: the second can only go after the first (else step 2 leaves a gap after 0).
      const [first, second] = await together(e, [steps(id, step(1), step(2)), steps(id, step(2), step(3))]);
      expect(first.status).toBe(201);
      expect([201, 409]).toContain(second.status);
      if (second.status === 409) {
        conflict(second, /leaves a gap/);
        expect(second.body.expected_step_index).toBe(1);
      }
    }
  }, 60_000);

  it('seals a trace racing a step batch either before the batch (409: sealed) or after it (sealed with it)', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0));
      const [batch, done] = await together(e, [steps(id, step(1), step(2)), post(`/api/v1/traces/${id}/complete`, { status: 'completed' })]);
      expect(done.status).toBe(200);
      if (batch.status === 201) {
        expect(done.body.step_count).toBe(3);
      } else {
        conflict(batch, /is sealed \(completed\); no step can be added/);
        expect(done.body.step_count).toBe(1);
      }
      outcomes.add(String(batch.status));
    }
    expect(outcomes.size).toBeGreaterThan(0);
  }, 60_000);

  it('answers identical violations sent at once with the same trace, and two different ones with 200 and a 409', async () => {
    for (let round = 0; round < ROUNDS / 2; round++) {
      const id = await open(step(0), step(1));
      const same = await together(e, times(4, ...post(`/api/v1/traces/${id}/violation`, violation(1))));
      expect(statuses(same)).toEqual([200, 200, 200, 200]);
      expect(new Set(same.map((a) => JSON.stringify(a.body))).size).toBe(1);

      const other = await open(step(0), step(1));
      const differ = await together(e, [post(`/api/v1/traces/${other}/violation`, violation(0, 'a')), post(`/api/v1/traces/${other}/violation`, violation(1, 'b'))]);
      expect(statuses(differ)).toEqual([200, 409]);
      conflict(differ.find((x) => x.status === 409)!, /already records a violation/);
    }
  }, 60_000);

  it('records a violation racing the seal either on the open trace (kept when sealed) or not at all (409: sealed)', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0), step(1));
      const [v, done] = await together(e, [post(`/api/v1/traces/${id}/violation`, violation(1)), post(`/api/v1/traces/${id}/complete`, { status: 'failed' })]);
      expect(done.status).toBe(200);
      if (v.status === 200) {
        expect(done.body).toMatchObject({ violation_step_index: 1, violation_policy_id: POLICY });
      } else {
        conflict(v, /is sealed \(failed\)/);
        expect(done.body.violation_step_index).toBeNull();
      }
    }
  }, 60_000);

  it('records a violation racing the batch that brings its step either after the batch or as a 409: not recorded yet', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await open(step(0));
      const [batch, v] = await together(e, [steps(id, step(1), step(2)), post(`/api/v1/traces/${id}/violation`, violation(2))]);
      expect(batch.status).toBe(201);
      if (v.status !== 200) conflict(v, /step_index 2 .* is not recorded yet/);
    }
  }, 60_000);

  it('seals once under identical completes sent at once (the same hash and time to all), and refuses another status with 409', async () => {
    for (let round = 0; round < ROUNDS / 2; round++) {
      const id = await open(step(0), step(1));
      const same = await together(e, times(4, ...post(`/api/v1/traces/${id}/complete`, { status: 'completed' })));
      expect(statuses(same)).toEqual([200, 200, 200, 200]);
      expect(new Set(same.map((a) => JSON.stringify(a.body))).size).toBe(1);

      const other = await open(step(0));
      const differ = await together(e, [post(`/api/v1/traces/${other}/complete`, { status: 'completed' }), post(`/api/v1/traces/${other}/complete`, { status: 'aborted' })]);
      expect(statuses(differ)).toEqual([200, 409]);
      conflict(differ.find((x) => x.status === 409)!, /already sealed as/);
    }
  }, 60_000);

  it('answers identical re-sends of steps and of the violation sent at once with a seal as stored', async () => {
    for (let round = 0; round < ROUNDS / 2; round++) {
      const id = await open(step(0), step(1));
      expect((await together(e, [post(`/api/v1/traces/${id}/violation`, violation(1))]))[0].status).toBe(200);
      const answers = await together(e, [
        steps(id, step(0), step(1)),
        steps(id, step(1)),
        post(`/api/v1/traces/${id}/violation`, violation(1)),
        post(`/api/v1/traces/${id}/complete`, { status: 'completed' }),
        post(`/api/v1/traces/${id}/complete`, { status: 'completed' }),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    }
  }, 60_000);

  it('links one incident under identical links sent at once, refuses a second incident with 409, and upserts the incident once', async () => {
    for (let round = 0; round < ROUNDS / 2; round++) {
      const id = await open(step(0));
      const incident = randomUUID();
      const upserts = await together(e, times(4, 'PUT', `/api/v1/incidents/${incident}`, { key, body: { title: 'refunds', severity: 'high' } }));
      expect(statuses(upserts)).toEqual([200, 200, 200, 200]);
      const links = await together(e, [
        ...times(3, ...post(`/api/v1/traces/${id}/incident`, { incident_id: incident })),
        post(`/api/v1/traces/${id}/incident`, { incident_id: randomUUID() }),
      ]);
      expect(serverErrors(links)).toEqual([]);
      const winners = links.filter((a) => a.status === 200).map((a) => a.body.incident_id);
      expect(new Set(winners).size).toBe(1);
      for (const lost of links.filter((a) => a.status !== 200)) conflict(lost, /is already linked to incident/);
    }
    const [{ n }] = (await db.query(`SELECT count(*)::int AS n FROM incidents i GROUP BY i.incident_id ORDER BY 1 DESC LIMIT 1`)).rows;
    expect(n).toBe(1);
  }, 60_000);

  it('leaves every trace consistent: steps 0..n-1 once, totals equal to their sums, sealed ones verified and ledgered once', async () => {
    const ids = [...touched];
    const { rows } = await db.query(
      `SELECT t.trace_id, t.status, t.step_count, t.total_tokens::bigint AS tokens, t.total_cost_cents::bigint AS cost,
         (SELECT count(*) FROM aos_trace_steps s WHERE s.trace_id = t.trace_id)::int AS n,
         (SELECT count(DISTINCT s.step_index) FROM aos_trace_steps s WHERE s.trace_id = t.trace_id)::int AS distinct_n,
         (SELECT coalesce(max(s.step_index), -1) FROM aos_trace_steps s WHERE s.trace_id = t.trace_id)::int AS max_index,
         (SELECT coalesce(sum(s.tokens), 0) FROM aos_trace_steps s WHERE s.trace_id = t.trace_id)::bigint AS sum_tokens,
         (SELECT coalesce(sum(s.cost_cents), 0) FROM aos_trace_steps s WHERE s.trace_id = t.trace_id)::bigint AS sum_cost,
         (SELECT count(*) FROM aos_ledger_leaves l WHERE l.record_id = t.trace_id AND l.leaf_type = 'aos.trace.v1')::int AS leaves,
         (SELECT count(*) FROM policy_snapshots p WHERE p.trace_id = t.trace_id)::int AS snapshots
       FROM aos_traces t WHERE t.trace_id = ANY($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(ids.length);
    const broken = rows.filter(
      (r) =>
        r.n !== r.step_count ||
        r.distinct_n !== r.n ||
        r.max_index !== r.n - 1 ||
        r.tokens !== r.sum_tokens ||
        r.cost !== r.sum_cost ||
        r.leaves !== (r.status === 'active' ? 0 : 1),
    );
    expect(broken).toEqual([]);

    const sealed = rows.filter((r) => r.status !== 'active').map((r) => r.trace_id as string);
    expect(sealed.length).toBeGreaterThan(ROUNDS);
    for (let i = 0; i < sealed.length; i += 16) {
      const verified = await together(e, sealed.slice(i, i + 16).map((id) => ['GET', `/api/v1/logs/llm-runs/${id}/verify`, { key: auditor }] as [string, string, { key: string }]));
      expect(verified.filter((v) => v.status !== 200 || v.body.verified !== true).map((v) => v.text)).toEqual([]);
    }
  }, 60_000);

  it('leaves the ledger of the tenant verifiable after the races', async () => {
    const report = await answerOf(await e.request('POST', '/api/v1/integrity/audit', { key: auditor }));
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ verified: true, mismatch_count: 0 });
    expect(report.body.verified_leaves).toBe(report.body.tree_size);
  }, 60_000);
});
