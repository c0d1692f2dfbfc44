import { LRUCache } from 'lru-cache';
import {
  isRfc3339,
  toUtcRfc3339,
  type Page,
  type SortOrder,
  type TraceFilters,
  type TraceListQuery,
  type TraceSortField,
  type TraceSummary,
  TRACE_SORT_FIELDS,
} from '@aos/logs-domain';
import type { Database, Sql } from './database/database';
import { checkSort, finishPage, type ListSpec, type PageCount, type PageRead, pageOf, readPage, textQuery, timeRangeClauses } from './log-list';
import { COUNT_CAP, decodeCursor, Params } from './pagination';
import { toTrace, TRACE_COLUMNS } from './rows';

/**
 * Matching step-search rows (batches of steps) from which a search term counts
 * as common and the list uses the per-trace EXISTS form (see traceSearchClause).
 * A tenth more than COUNT_CAP + 1, so that the probe's own count of traces can
 * pass the cap when some traces have more than one matching batch.
 */
export const SEARCH_PROBE_LIMIT = 1_100;

/**
 * The traces passing a search's other filters that its count tests when nothing
 * cheaper counts it (about what the page itself walks for a 2.5% term); past
 * them the total is a lower bound. Unbounded, the count walked every passing
 * trace at ~15 us each: 0.6 s for a 2% term under a 7% filter of a 550k-trace
 * tenant, and ten times that for a tenant ten times the size.
 */
export const SEARCH_COUNT_WALK = 2_000;

export interface TraceListOptions {
  /** Override of SEARCH_PROBE_LIMIT (tests cross it with a few rows). */
  searchProbeLimit?: number;
  /** Override of SEARCH_COUNT_WALK (likewise). */
  searchCountWalk?: number;
  /** Override of REASON_WALK_ROWS (likewise). */
  reasonWalkRows?: number;
  /** Override of SEARCH_WINDOW_FIRST (likewise). */
  searchWindowFirst?: number;
  /** Override of SEARCH_WINDOW_MAX (likewise; 0: a common term always takes the per-trace walk). */
  searchWindowMax?: number;
}

/**
 * The violated traces the first page of a term only violation reasons hold may
 * walk (see TraceList.walksReasons): a reason in at least 1 of 39 violated
 * traces fills a page of 50 (51 rows) within them.
 */
export const REASON_WALK_ROWS = 2_000;

/**
 * The passing traces, from the page's start in `started_at` order, whose time
 * window a moderately common term's page reads first (see TraceList.windowPage).
 * A window that does not fill the page sizes the next from the matches it held
 * (half again what they predict), at most 16 times larger and at most
 * SEARCH_WINDOW_MAX; past that, the per-trace EXISTS form.
 */
export const SEARCH_WINDOW_FIRST = 4_000;
export const SEARCH_WINDOW_MAX = 256_000;

/**
 * A common term takes the window form when the planner expects it in at most
 * this share of the step-search rows of the tenant's partition, and in at most
 * WINDOW_MAX_MATCHES rows of it: the window reads the term's whole posting list
 * in the partition (~0.15 to 0.6 us a row on the bench VMs) to skip testing
 * trace after trace (~3 to 10 us each).
 * Before the partitions (session 7) a term in 1% of the rows (2% of traces)
 * filled its page sooner by the EXISTS walk (~2,500 traces): 10 ms against the
 * window's 20, the posting list holding every tenant's matches. In its
 * tenant's partition that window takes 4 ms and the walk 10 (session 9); one in
 * 0.2% (0.4% of traces) takes 30 ms by the walk, 15 by two windows.
 */
const WINDOW_MAX_SHARE = 0.015;
const WINDOW_MAX_MATCHES = 60_000;

/**
 * The same under other filters: a window of 4,000 passing traces then spans
 * the time range of many more, all of whose rows the bitmap of the range holds.
 * The 1% term under status=failed (7%): 14 ms by the window, 10 by the walk
 * (session 9).
 */
const FILTERED_WINDOW_MAX_SHARE = 0.006;

/**
 * A moderately common term under other filters takes the union form when the
 * planner expects at most this many of its step-search rows in the tenant's
 * partition (all its tenants': the GIN bitmap's heap reads; only the tenant's
 * traces are then read), where a window sized in passing traces spans every
 * trace of its time range. "quetzal" (4,056 rows, 2,230 the tenant's; estimated 10,000) under
 * status=failed (7%): 15 ms, against 60 ms by windows and 110 ms by the walk
 * (docs/benchmarks.md section 2, session 7).
 */
const UNION_MAX_MATCHES = 12_000;

type SearchForm = 'union' | 'exists';

/** What a search's probe found (see TraceList.probeSearch). */
interface SearchProbe {
  stepRows: number;
  matches: number | null;
  /** Under a broad filter, the passing traces among the first step matches (up to COUNT_CAP + 1); else null. */
  stepMatches: number | null;
  /**
   * The planner's count of step-search rows in the tenant's partition, all its tenants'
   * (pg_class.reltuples of the partition its first match lies in; 0 or less: never
   * counted; null: no match).
   */
  searchRows: number | null;
}

/**
 * With other filters, a common term is counted from its step matches when at
 * least this share of the probe's traces pass them (a broad filter), reading at
 * most SEARCH_COUNT_REACH times the probe's rows: 1,001 passing traces are then
 * expected within 2,002 rows. The share comes from the first rows of a scan, not
 * a random sample: a filter passed by 5% of traces showed 12% in one (then the
 * count from the step matches took 95 ms where the EXISTS form takes 28).
 */
const SEARCH_COUNT_MIN_SHARE = 0.5;
const SEARCH_COUNT_REACH = 4;

/** Of a common term's probe, the traces tested against the other filters. */
const PASSING_SAMPLE = 250;

/** A page of the LLM-runs list as read, with the spec that finishes it (see TraceList.list). */
interface TracePageRead {
  spec: ListSpec<TraceSortField>;
  read: PageRead;
}

/** searchCount's answer when the count walks the passing traces: from what the page read (countFromPage). */
const WALK_AFTER_PAGE = 'walk-after-page';

interface SearchClauseOptions {
  form: SearchForm;
  /** The union form's source of step-matched trace ids (default: every matching batch). */
  stepIds?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The LLM-runs list (spec 4.5 and 11.1) of one tenant: every filter, keyset or
 * offset paging, and the full-text search, whose plan depends on how common the
 * term is (a bounded probe, the planner's estimate, then one of the forms below).
 * Its limits are constants; the options override them for tests.
 */
export class TraceList {
  private readonly searchProbeLimit: number;
  private readonly searchCountWalk: number;
  private readonly reasonWalkRows: number;
  private readonly searchWindowFirst: number;
  private readonly searchWindowMax: number;
  /** Each tenant's partition of aos_step_search (fixed by the migrations), by tenant id. */
  private readonly stepSearchPartitions = new LRUCache<string, string>({ max: 10_000 });
  /**
   * The planner's share of a term in a tenant's partition (commonTermForm), by
   * tenant and term: an estimate from statistics that change at ANALYZE, so a
   * minute old is as good, and a console paging or refreshing one search plans
   * it once.
   */
  private readonly termShares = new LRUCache<string, number>({ max: 10_000, ttl: 60_000 });

  constructor(
    private readonly db: Database,
    options: TraceListOptions = {},
  ) {
    this.searchProbeLimit = options.searchProbeLimit ?? SEARCH_PROBE_LIMIT;
    this.searchCountWalk = options.searchCountWalk ?? SEARCH_COUNT_WALK;
    this.reasonWalkRows = options.reasonWalkRows ?? REASON_WALK_ROWS;
    const limits = { searchProbeLimit: this.searchProbeLimit, searchCountWalk: this.searchCountWalk, reasonWalkRows: this.reasonWalkRows };
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
    }
    this.searchWindowFirst = options.searchWindowFirst ?? SEARCH_WINDOW_FIRST;
    this.searchWindowMax = options.searchWindowMax ?? SEARCH_WINDOW_MAX;
    if (!Number.isInteger(this.searchWindowFirst) || this.searchWindowFirst < 1) throw new Error('searchWindowFirst must be a positive integer');
    if (!Number.isInteger(this.searchWindowMax) || this.searchWindowMax < 0) throw new Error('searchWindowMax must be a non-negative integer');
  }

  /** The LLM-runs list: every filter of spec 4.5, keyset or offset paging. */
  async list(tenantId: string, query: TraceListQuery): Promise<Page<TraceSummary>> {
    // Sort and order go into the SQL of the probes and walks below, not only the page's.
    checkSort(TRACE_SORT_FIELDS, query.sort, query.order);
    return this.db.transaction({ tenantId }, async (sql) => {
      // A search term's shape of clause depends on how common it is (see traceSearchClause),
      // and a probe tells; it counts the page's total where it can (see searchCount).
      const probe = query.search ? await this.probeSearch(sql, tenantId, query) : undefined;
      const common = probe !== undefined && probe.stepRows >= this.searchProbeLimit;
      const counted = probe ? this.searchCount(probe, common) : undefined;
      const page = async (table: string, p: Params, where: string[]): Promise<TracePageRead> => {
        const spec: ListSpec<TraceSortField> = {
          table,
          alias: 't',
          idColumn: 'trace_id',
          columns: TRACE_COLUMNS.replace(/(\w+)/g, 't.$1'),
          where,
          params: p,
          sortFields: TRACE_SORT_FIELDS,
          timestampFields: ['started_at', 'created_at'],
          ...pageOf(query),
        };
        return { spec, read: await readPage(sql, spec) };
      };
      // The page first, then its count: a count that walks the passing traces starts from what the page read.
      const finish = async ({ spec, read }: TracePageRead) =>
        finishPage(sql, spec, read, toTrace, counted === WALK_AFTER_PAGE ? await this.countFromPage(sql, tenantId, query, probe!, read) : counted);
      if (probe && this.walksReasons(query, probe)) {
        // The first page of a term only violation reasons hold, in many traces: the tenant's
        // violated traces newest (or oldest) first, at most reasonWalkRows of them (an index
        // walk the planner cannot turn into reading every tenant's reason matches and sorting,
        // which it picks because it estimates a reason term 20x too rare). A full page from it
        // is the answer; else the general form below.
        const p = new Params();
        const walk = `(SELECT w.* FROM aos_traces w WHERE w.tenant_id = ${p.add(tenantId)} AND w.violation_step_index IS NOT NULL
          ORDER BY w.started_at ${query.order}, w.trace_id ${query.order} LIMIT ${this.reasonWalkRows}) t`;
        const walked = await page(walk, p, [`t.reason_search @@ ${textQuery(p, query.search!)}`]);
        if (walked.read.rows.length > query.limit) return finish(walked);
      }
      const form = common ? await this.commonTermForm(sql, tenantId, query, probe) : 'union';
      if (form === 'window') {
        const windowed = await this.windowPage(sql, tenantId, query, page);
        if (windowed) return finish(windowed);
      }
      const p = new Params();
      if (query.search && form === 'union' && query.sort === 'started_at') {
        return finish(await page(await this.matchesInOrder(sql, tenantId, query, query.search, p), p, ['true']));
      }
      return finish(await page('aos_traces t', p, traceFilterClauses(p, tenantId, query, { form: form === 'union' ? 'union' : 'exists' })));
    });
  }

  /**
   * The union form's traces in `started_at` order, as a table for readPage: the
   * term's matching traces (each search row carries its trace's `started_at`;
   * reason and id matches too) are sorted first, then looked up one by one with
   * the other filters, so a page stops after the lookups it needs. The general
   * form looks up every match and sorts those that pass: "quetzal" (2,250 matching
   * traces) under status=failed looked up all of them, 9 ms, where 950 in order
   * fill the page, 6 ms (docs/benchmarks.md section 2, session 9). The matches'
   * own `trace_id` and `started_at` are the page's sort key; the lookup stays a
   * per-match subplan behind OFFSET 0.
   */
  private async matchesInOrder(sql: Sql, tenantId: string, query: TraceListQuery, search: string, p: Params): Promise<string> {
    const partition = await this.stepSearchPartition(sql, tenantId);
    const others = traceFilterClauses(p, tenantId, { ...query, search: undefined });
    const tenant = p.add(tenantId);
    const q = textQuery(p, search);
    const matches = [
      `SELECT x.trace_id, x.started_at FROM ${partition} x WHERE x.tenant_id = ${tenant} AND x.search_vector @@ ${q}`,
      `SELECT r.trace_id, r.started_at FROM aos_traces r WHERE r.tenant_id = ${tenant} AND ${reasonMatch('r', q)}`,
    ];
    const term = search.trim();
    if (UUID_RE.test(term)) {
      matches.push(`SELECT i.trace_id, i.started_at FROM aos_traces i WHERE i.tenant_id = ${tenant} AND (${idMatch('i', `${p.add(term.toLowerCase())}::uuid`)})`);
    }
    const columns = TRACE_COLUMNS.replace(/(\w+)/g, (c) => (c === 'trace_id' || c === 'started_at' ? `m.${c}` : `l.${c}`));
    // Sorted inside: the planner keeps the order through the per-match lookups (and so the page's
    // ORDER BY costs nothing and its LIMIT stops them); sorted outside, it looked up every match first.
    return `(SELECT ${columns} FROM (${matches.join(' UNION ')} ORDER BY started_at ${query.order}, trace_id ${query.order}) m
      CROSS JOIN LATERAL (SELECT t.* FROM aos_traces t WHERE t.trace_id = m.trace_id AND ${others.join(' AND ')} OFFSET 0) l) t`;
  }

  /** Whether a common term's page may come from time windows: `started_at` order, keyset or first page, no id to match. */
  private windowed(query: TraceListQuery): boolean {
    return query.sort === 'started_at' && (query.offset === 0 || !!query.cursor) && !isUuidTerm(query);
  }

  /**
   * The page's form for a term the probe found common. The planner's statistics
   * tell how common: they know each frequent lexeme's share (and put any other
   * below the least of them), per partition; no rows are read. A term in at most
   * WINDOW_MAX_SHARE of the rows of the tenant's partition (FILTERED_WINDOW_MAX_SHARE
   * under other filters; and WINDOW_MAX_MATCHES of its `searchRows`) is
   * moderately common: under other filters, with at most
   * UNION_MAX_MATCHES expected in the partition, the union form (all the tenant's,
   * then the filters) costs least; else time windows where the sort allows. Any
   * commoner term fills its page soonest by the per-trace walk.
   */
  private async commonTermForm(sql: Sql, tenantId: string, query: TraceListQuery, probe: SearchProbe): Promise<SearchForm | 'window'> {
    if (this.searchWindowMax === 0 || !probe.searchRows || probe.searchRows <= 0) return 'exists';
    const share = await this.termShare(sql, tenantId, query.search!);
    const inPartition = share * probe.searchRows;
    const filtered = hasOtherFilters(query);
    if (share > (filtered ? FILTERED_WINDOW_MAX_SHARE : WINDOW_MAX_SHARE) || inPartition > WINDOW_MAX_MATCHES) return 'exists';
    if (filtered && inPartition <= UNION_MAX_MATCHES) return 'union';
    return this.windowed(query) ? 'window' : 'exists';
  }

  /** The planner's estimate of the share of the tenant's partition's step-search rows that hold the term (cached, termShares). */
  private async termShare(sql: Sql, tenantId: string, search: string): Promise<number> {
    const key = `${tenantId}\n${search}`;
    const known = this.termShares.get(key);
    if (known !== undefined) return known;
    const p = new Params();
    const tenant = p.add(tenantId);
    const [plan] = await sql.query<{ 'QUERY PLAN': Array<{ Plan: { Plans: Array<{ 'Plan Rows': number }> } }> }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM (SELECT 1 FROM aos_step_search x WHERE x.tenant_id = ${tenant} AND x.search_vector @@ ${textQuery(p, search)} OFFSET 0) a
       UNION ALL SELECT 1 FROM (SELECT 1 FROM aos_step_search y WHERE y.tenant_id = ${tenant} OFFSET 0) b`,
      p.values,
    );
    // Both read the tenant's partition, and under row-level security both estimates carry
    // the same guess of the tenant's share of it: their ratio is the term's share of the
    // partition. OFFSET 0 keeps each branch one node in the plan.
    const [matching, rows] = plan['QUERY PLAN'][0].Plan.Plans.map((n) => n['Plan Rows']);
    const share = rows > 0 ? matching / rows : 1;
    this.termShares.set(key, share);
    return share;
  }

  /**
   * A moderately common term's page from a time window: the next k passing
   * traces in page order (SEARCH_WINDOW_FIRST, ...) bound the window's far end; the term's
   * step-search rows inside it come from the GIN bitmap ANDed with the tenant's
   * rows in that time range (`aos_step_search_started_idx`), so only matches are
   * read. Every trace past the window comes after every trace in it, so a full
   * page from the window is the page. Undefined when no window fills it.
   */
  private async windowPage(
    sql: Sql,
    tenantId: string,
    query: TraceListQuery,
    page: (table: string, p: Params, where: string[]) => Promise<TracePageRead>,
  ): Promise<TracePageRead | undefined> {
    const desc = query.order === 'desc';
    // readPage checks the cursor (and refuses a bad one); here it only bounds the window.
    const cursor = query.cursor ? decodeCursor(query.cursor, query.sort, query.order) : undefined;
    if (cursor && (typeof cursor.value !== 'string' || !isRfc3339(cursor.value))) return undefined;
    const after = cursor && toUtcRfc3339(cursor.value as string);
    for (let k = Math.min(this.searchWindowFirst, this.searchWindowMax); ; ) {
      const e = new Params();
      const ahead = traceFilterClauses(e, tenantId, { ...query, search: undefined });
      if (cursor) ahead.push(`(t.started_at, t.trace_id) ${desc ? '<' : '>'} (${e.add(after)}::timestamptz, ${e.add(cursor.id)}::uuid)`);
      const [{ edge, n }] = await sql.query<{ edge: Date | null; n: number }>(
        `SELECT ${desc ? 'min' : 'max'}(w.started_at) AS edge, count(*)::int AS n FROM (
           SELECT t.started_at FROM aos_traces t WHERE ${ahead.join(' AND ')}
           ORDER BY t.started_at ${query.order}, t.trace_id ${query.order} LIMIT ${e.add(k)}) w`,
        e.values,
      );
      if (edge === null) return undefined;
      const p = new Params();
      const where = traceFilterClauses(p, tenantId, { ...query, search: undefined });
      const far = p.add(edge);
      where.push(`t.started_at ${desc ? '>=' : '<='} ${far}`);
      const near = cursor ? ` AND x.started_at ${desc ? '<=' : '>='} ${p.add(after)}::timestamptz` : '';
      const q = textQuery(p, query.search!);
      where.push(
        `(t.trace_id = ANY(ARRAY(SELECT x.trace_id FROM aos_step_search x WHERE x.tenant_id = ${p.add(tenantId)}
            AND x.started_at ${desc ? '>=' : '<='} ${far}${near} AND x.search_vector @@ ${q}))
          OR ${reasonMatch('t', q)})`,
      );
      const found = await page('aos_traces t', p, where);
      const full = found.read.rows.length > query.limit;
      // Short of k traces, the window held every one left.
      if (full || n < k || k >= this.searchWindowMax) return full || n < k ? found : undefined;
      const predicted = Math.ceil((1.5 * k * (query.limit + 1)) / Math.max(found.read.rows.length, 1));
      k = Math.min(Math.max(predicted, 2 * k), 16 * k, this.searchWindowMax);
    }
  }

  /**
   * Whether the first page of a search may come from walking the violated traces:
   * no step matches and more than COUNT_CAP reason matches (so a full page exists),
   * no other filter, the first page in `started_at` order (the violated traces'
   * index), and no id to match.
   */
  private walksReasons(query: TraceListQuery, probe: SearchProbe): boolean {
    return (
      probe.stepRows === 0 &&
      (probe.matches ?? 0) > COUNT_CAP &&
      !hasOtherFilters(query) &&
      query.sort === 'started_at' &&
      query.offset === 0 &&
      !query.cursor &&
      query.limit < this.reasonWalkRows &&
      !isUuidTerm(query)
    );
  }

  /**
   * One statement: the tenant's matching step-search rows (batches), up to
   * `searchProbeLimit` (`stepRows`). With their traces as the union form's step
   * ids it also counts, up to COUNT_CAP + 1, the traces that pass every filter
   * (`matches`): under the limit those are every match, so this is the page's
   * count; at the limit it is a lower bound, the count once it passes the cap.
   * It is skipped when the term is common and other filters are set: then nearly
   * all the probe's traces would have to pass them to reach the cap, and the
   * reason matches it would read are not bounded by the LIMIT. Instead it counts
   * how many of the probe's first rows belong to traces that pass the other
   * filters (`passing`); when at least SEARCH_COUNT_MIN_SHARE of them do (a broad
   * filter), it counts the passing traces among the step matches, reading on
   * past the probe's rows up to SEARCH_COUNT_REACH times as many, each trace once
   * (`stepMatches`). The step-search rows are read once for all of it: the CTE
   * yields rows only as far as its readers ask.
   */
  private async probeSearch(sql: Sql, tenantId: string, query: TraceListQuery): Promise<SearchProbe> {
    // For a very common term the probe is a LIMIT-ed sequential scan. With synchronized
    // scans it starts wherever the last scan of the table stopped, in other tenants' rows
    // as often as not: p50 3 ms, p95 17 ms. From the first block it is steady.
    await sql.query(`SET LOCAL synchronize_seqscans = off`);
    const p = new Params();
    const others = traceFilterClauses(p, tenantId, { ...query, search: undefined });
    const filtered = others.length > 1;
    const limit = p.add(this.searchProbeLimit);
    const q = textQuery(p, query.search!);
    const tenant = p.add(tenantId);
    // The tenant's partition by name: through the parent the scan is planned without the LIMIT
    // (StepSearchPartitionsReadable1770500000000).
    const partition = await this.stepSearchPartition(sql, tenantId);
    const matchingBatches = `SELECT x.trace_id, x.first_step_index, x.part, x.tableoid FROM ${partition} x
      WHERE x.tenant_id = ${tenant} AND x.search_vector @@ ${q} LIMIT ${p.add(this.searchProbeLimit * (filtered ? SEARCH_COUNT_REACH : 1))}`;
    const where = traceFilterClauses(p, tenantId, query, { form: 'union', stepIds: 'SELECT s.trace_id FROM s' });
    const sample = Math.min(PASSING_SAMPLE, this.searchProbeLimit);
    // CASE evaluates a subquery only when it is reached. Without other filters, more than
    // COUNT_CAP distinct traces among the step matches pass the cap without reading a trace.
    // (With other filters, `s` holds more than `limit` rows only when st.n reached it.) The
    // step matches' count takes each trace once, at its first matching row (by batch, then part); its NOT EXISTS
    // stays a per-row subplan behind OFFSET 0 (an anti-join would read every match), and
    // the MATERIALIZED CTE plans the matching batches alone, for their first rows (beside
    // the NOT EXISTS the planner once ANDed in a bitmap of the tenant's ~1.1M rows: 45 to 76 ms).
    // The passing sample looks each of its traces up by key (EXISTS behind OFFSET 0): joined,
    // the planner hashed every trace of a narrow filter, 37,000 of an agent's, for 250 (8 ms).
    const [row] = await sql.query<{ step_rows: number; matches: number | null; search_rows: number | null; step_matches: number | null }>(
      `WITH s AS MATERIALIZED (${matchingBatches})
       SELECT pr.*,
              CASE WHEN pr.passing >= ${Math.ceil(SEARCH_COUNT_MIN_SHARE * sample)} THEN
                (SELECT count(*) FROM (SELECT 1 FROM s m JOIN aos_traces t ON t.trace_id = m.trace_id
                   WHERE NOT EXISTS (SELECT 1 FROM aos_step_search y WHERE y.tenant_id = ${tenant} AND y.trace_id = m.trace_id
                                       AND (y.first_step_index, y.part) < (m.first_step_index, m.part) AND y.search_vector @@ ${q} OFFSET 0)
                     AND ${others.join(' AND ')} LIMIT ${COUNT_CAP + 1}) c)::int
              END AS step_matches
       FROM (SELECT st.n AS step_rows,
              CASE WHEN ${!filtered} AND st.traces > ${COUNT_CAP} THEN st.traces
              WHEN st.n < ${limit} OR ${!filtered} THEN
                (SELECT count(*) FROM (SELECT 1 FROM aos_traces t WHERE ${where.join(' AND ')} LIMIT ${COUNT_CAP + 1}) c)::int
              END AS matches,
              CASE WHEN st.n >= ${limit} AND ${filtered} THEN
                (SELECT count(*) FROM (SELECT s.trace_id FROM s LIMIT ${sample}) x
                 WHERE EXISTS (SELECT 1 FROM aos_traces t WHERE t.trace_id = x.trace_id AND ${others.join(' AND ')} OFFSET 0))::int
              END AS passing,
              (SELECT c.reltuples::float8 FROM pg_class c WHERE c.oid = (SELECT s.tableoid FROM s LIMIT 1)) AS search_rows
            FROM (SELECT count(*)::int AS n, count(DISTINCT f.trace_id)::int AS traces FROM (SELECT s.trace_id FROM s LIMIT ${limit}) f) st
            OFFSET 0) pr`,
      p.values,
    );
    return { stepRows: row.step_rows, matches: row.matches, searchRows: row.search_rows, stepMatches: row.step_matches };
  }

  /**
   * The tenant's partition of `aos_step_search`, as a quoted name: the one whose
   * hash bound the tenant id satisfies, if it has a row-security policy and this
   * role may read it (StepSearchPartitionsReadable1770500000000; the grant comes
   * with openDatabase). Else the parent's, which is always right, if slower: an
   * instance started with migrations off ahead of them must not read a partition
   * that shows it no row. Read once per tenant (the parent, once a minute).
   */
  private async stepSearchPartition(sql: Sql, tenantId: string): Promise<string> {
    const known = this.stepSearchPartitions.get(tenantId);
    if (known !== undefined) return known;
    const [row] = await sql.query<{ name: string }>(
      `SELECT c.oid::regclass::text AS name
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
            LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'modulus (\\d+), remainder (\\d+)') b
       WHERE i.inhparent = 'aos_step_search'::regclass
         AND satisfies_hash_partition('aos_step_search'::regclass, b[1]::int, b[2]::int, $1::uuid)
         AND EXISTS (SELECT 1 FROM pg_policy y WHERE y.polrelid = c.oid) AND has_table_privilege(c.oid, 'SELECT')`,
      [tenantId],
    );
    if (row) {
      this.stepSearchPartitions.set(tenantId, row.name);
      return row.name;
    }
    // Asked again in a minute: the migration may have run since.
    this.stepSearchPartitions.set(tenantId, 'aos_step_search', { ttl: 60_000 });
    return 'aos_step_search';
  }

  /**
   * The page's count of a search, min(total, COUNT_CAP + 1), or a lower bound
   * where counting exactly would cost more than the page. A rare term's probe saw
   * every match; a common term's may have found more than the cap. Under a broad
   * filter the probe counted the passing traces among the step matches, up to
   * the cap. The per-trace form would walk (cap / the term's share) traces
   * instead: ~52,000 for a 2% term under an 85% filter, a ~200 to 290 ms count;
   * the list answered in 44 to 65 ms at p95 then (docs/benchmarks.md section 2,
   * session 5). What is left is counted on at most SEARCH_COUNT_WALK passing
   * traces, after the page (WALK_AFTER_PAGE, countFromPage).
   */
  private searchCount(probe: SearchProbe, common: boolean): PageCount | typeof WALK_AFTER_PAGE {
    if (probe.matches !== null && (!common || probe.matches > COUNT_CAP)) return probe.matches;
    // Every trace counted there matches and passes: past the cap it is the answer.
    if (probe.stepMatches !== null && probe.stepMatches > COUNT_CAP) return probe.stepMatches;
    return WALK_AFTER_PAGE;
  }

  /**
   * A common term's count on the first SEARCH_COUNT_WALK + 1 traces that pass
   * the other filters, in the page's order: exact when they are all of them,
   * past the cap when more than COUNT_CAP match, else a lower bound (the probe's
   * own count is one too). The page has read the matches up to its last row
   * (`read`), so only the passing traces after it are tested, and none when the
   * page alone reached past the walk's end: a term in 2% of traces under
   * status=failed fills its page within ~2,550 failed traces, and its count then
   * reads only their index entries (~0.5 ms, where testing 2,001 took ~9 ms).
   * A cursor's position comes from an earlier statement, so a keyset page short
   * of the walk's end counts from the list's start.
   */
  private async countFromPage(sql: Sql, tenantId: string, query: TraceListQuery, probe: SearchProbe, read: PageRead): Promise<PageCount> {
    const { rows, limit, position, keyset } = read;
    const probeMatches = probe.matches ?? 0;
    const last = rows[rows.length - 1];
    // The page read every match left: an offset page then knows the total.
    if (rows.length <= limit && !keyset && (last || position === 0)) return position + rows.length;
    const walk = this.searchCountWalk;
    const tally = (walked: number, hits: number): PageCount =>
      walked <= walk || hits > COUNT_CAP ? hits : { atLeast: Math.max(hits, probeMatches) };
    if (!last) return tally(...(await this.walkHits(sql, tenantId, query, walk + 1)));
    // One statement: the passing traces through the page's last row (up to the walk's end),
    // then the term tested on those after it, as many as the walk has left.
    const p = new Params();
    const others = traceFilterClauses(p, tenantId, { ...query, search: undefined });
    const at = `${p.add(last[query.sort])}, ${p.add(last.trace_id)}::uuid`;
    const [through, after] = query.order === 'desc' ? ['>=', '<'] : ['<=', '>'];
    const hit = traceSearchClause(p, tenantId, query.search!, { form: 'exists' });
    const [{ n, walked, hits }] = await sql.query<{ n: number; walked: number; hits: number }>(
      `SELECT d.n, count(w.hit)::int AS walked, count(*) FILTER (WHERE w.hit)::int AS hits
       FROM (SELECT count(*)::int AS n FROM (
               SELECT 1 FROM aos_traces t WHERE ${others.join(' AND ')} AND ${sortKey(query)} ${through} (${at})
               ORDER BY ${sortKey(query, query.order)} LIMIT ${walk + 1}) c) d
       LEFT JOIN LATERAL (
               SELECT coalesce(${hit}, false) AS hit FROM aos_traces t WHERE ${others.join(' AND ')} AND ${sortKey(query)} ${after} (${at})
               ORDER BY ${sortKey(query, query.order)} LIMIT greatest(0, ${keyset ? 0 : walk + 1} - d.n)) w ON true
       GROUP BY d.n`,
      p.values,
    );
    if (n > walk) return { atLeast: probeMatches };
    return keyset ? tally(...(await this.walkHits(sql, tenantId, query, walk + 1))) : tally(n + walked, position + rows.length + hits);
  }

  /** Of the first `limit` traces passing the other filters, in page order, how many, and how many match the term. */
  private async walkHits(sql: Sql, tenantId: string, query: TraceListQuery, limit: number): Promise<[walked: number, hits: number]> {
    const p = new Params();
    const others = traceFilterClauses(p, tenantId, { ...query, search: undefined });
    const hit = traceSearchClause(p, tenantId, query.search!, { form: 'exists' });
    const [{ walked, hits }] = await sql.query<{ walked: number; hits: number }>(
      `SELECT count(*)::int AS walked, count(*) FILTER (WHERE w.hit)::int AS hits FROM (
         SELECT ${hit} AS hit FROM aos_traces t WHERE ${others.join(' AND ')}
         ORDER BY ${sortKey(query, query.order)} LIMIT ${limit}) w`,
      p.values,
    );
    return [walked, hits];
  }
}

/** WHERE clauses for the LLM-run filters of spec 4.5, led by the tenant. */
export function traceFilterClauses(p: Params, tenantId: string, f: TraceFilters, search: SearchClauseOptions = { form: 'union' }): string[] {
  const where = [`t.tenant_id = ${p.add(tenantId)}`];
  if (f.run_id) where.push(`t.run_id = ${p.add(f.run_id)}`);
  if (f.agent_id) where.push(`t.agent_id = ${p.add(f.agent_id)}`);
  if (f.status) where.push(`t.status = ${p.add(f.status)}`);
  if (f.has_violation === true) where.push(`t.violation_step_index IS NOT NULL`);
  if (f.has_violation === false) where.push(`t.violation_step_index IS NULL`);
  if (f.policy_id) where.push(`t.violation_policy_id = ${p.add(f.policy_id)}`);
  where.push(...timeRangeClauses(p, 't.started_at', f));
  if (f.search) where.push(traceSearchClause(p, tenantId, f.search, search));
  return where;
}

/** The list's keyset, `(t."sort", t.trace_id)`, or with an order its ORDER BY. */
function sortKey(query: TraceListQuery, order?: SortOrder): string {
  return order ? `t."${query.sort}" ${order}, t.trace_id ${order}` : `(t."${query.sort}", t.trace_id)`;
}

/** Whether any filter but the search term is set (the tenant's clause aside). */
function hasOtherFilters(query: TraceFilters): boolean {
  return traceFilterClauses(new Params(), '', { ...query, search: undefined }).length > 1;
}

/** Whether the search term is a UUID, matched against the id columns too. */
function isUuidTerm(query: TraceFilters): boolean {
  return UUID_RE.test((query.search ?? '').trim());
}

/**
 * A search term (`q`, a tsquery) matched against a trace's violation reason
 * (`alias` is the trace's); the null test lets the planner use the partial GIN.
 */
function reasonMatch(alias: string, q: string): string {
  return `(${alias}.violation_reason IS NOT NULL AND ${alias}.reason_search @@ ${q})`;
}

/** An id-shaped search term matched against a trace's ids (`alias` is the trace's). */
function idMatch(alias: string, id: string): string {
  return ['trace_id', 'run_id', 'agent_id', 'violation_policy_id', 'incident_id'].map((c) => `${alias}.${c} = ${id}`).join(' OR ');
}

/**
 * Full-text match over step content (the asynchronous step index) and the
 * violation reason; an id-shaped term also matches ids. Both forms match the
 * same traces; they differ in the plan they leave the planner.
 *
 * - `union`: the ids of every matching batch (and id match) as one array, OR the
 *   reason match. The planner starts from the GIN indexes (a bitmap of every
 *   match): fast for rare terms, but the array must be complete before the page,
 *   so a term in ~45% of traces would take seconds.
 * - `exists`: a per-trace EXISTS. The planner walks the ordered trace index and
 *   probes each trace's few batches, stopping at the page (or the count cap):
 *   fast for common terms, slow for rare ones (it walks the whole tenant).
 *
 * TraceList.list chooses by a bounded probe (docs/benchmarks.md section 2).
 */
function traceSearchClause(p: Params, tenantId: string, search: string, { form, stepIds }: SearchClauseOptions): string {
  const q = textQuery(p, search);
  // Added once, and only if used: PostgreSQL refuses a parameter no placeholder names.
  let tenantParam: string | undefined;
  const tenant = () => (tenantParam ??= p.add(tenantId));
  const term = search.trim();
  const id = UUID_RE.test(term) ? `${p.add(term.toLowerCase())}::uuid` : null;
  if (form === 'exists') {
    const any = [
      // OFFSET 0 keeps the EXISTS a per-row subplan: without it the planner turns it into a
      // hashed subplan over every matching batch (a full scan for a common term, 0.7 s).
      `EXISTS (SELECT 1 FROM aos_step_search x WHERE x.tenant_id = ${tenant()} AND x.trace_id = t.trace_id AND x.search_vector @@ ${q} OFFSET 0)`,
      reasonMatch('t', q),
    ];
    if (id) any.push(idMatch('t', id));
    return `(${any.join(' OR ')})`;
  }
  // The step and id matches become one array (an InitPlan), the reason match stays a
  // condition on the trace: the planner ORs the primary-key bitmap of the array with the
  // reason GIN bitmap and reads each matching trace once (no second fetch by key).
  const ids = [stepIds ?? `SELECT x.trace_id FROM aos_step_search x WHERE x.tenant_id = ${tenant()} AND x.search_vector @@ ${q}`];
  if (id) {
    ids.push(
      `SELECT i.trace_id FROM aos_traces i WHERE i.tenant_id = ${tenant()} AND (${idMatch('i', id)})`,
    );
  }
  return `(t.trace_id = ANY(ARRAY(${ids.join(' UNION ')})) OR ${reasonMatch('t', q)})`;
}
