/**
 * Serving from a watched connection's window (src/calls/streams.ts, `WindowStream`): a differential
 * property over array-backed adapters (no HTTP). For random lists (ties included), windows (the top
 * `k` rows as a watcher read them), filters, anchors and page sizes, a forward walk whose pages start
 * in the window yields page for page exactly what the plain upstream walk yields, with fewer list
 * requests; and an upstream that fails is named on the first page that needs it, not before.
 */
import fc from 'fast-check';
import type { Capabilities, CallLocator, CallLookup, ListRequest, ListResult, ProviderAdapter } from '../../src/calls/adapter.js';
import type { CursorPayload } from '../../src/calls/cursor.js';
import { type CallQuery, emptyQuery, matches } from '../../src/calls/filter.js';
import { type MergedPage, mergePage } from '../../src/calls/merge.js';
import { type CallRecord, type Provider, compareCalls, connectionLabel } from '../../src/calls/model.js';
import type { CallWindow } from '../../src/calls/streams.js';
import { ScanBudget } from '../../src/calls/budget.js';
import { UpstreamError } from '../../src/errors.js';
import { pushedInto, windowOf } from '../../src/live/watcher.js';

const T0 = Date.UTC(2026, 0, 1);
const NUMBERS = ['+14155550100', '+919999999999', '+442071838750'];

function call(provider: Provider, connection: string, key: string, minute: number, n: number): CallRecord {
  return {
    provider, connection, key, providerCallId: key,
    direction: n % 2 === 0 ? 'INBOUND' : 'OUTBOUND',
    status: n % 3 === 0 ? 'COMPLETED' : 'FAILED',
    providerStatus: 'x',
    from: { phoneNumber: NUMBERS[n % 3]!, name: null } as CallRecord['from'],
    to: { phoneNumber: NUMBERS[(n + 1) % 3]!, name: null } as CallRecord['to'],
    startedAt: new Date(T0 + minute * 60_000), answeredAt: null, endedAt: null, durationSeconds: null, cost: null, endReason: null, agentId: null, details: null,
  };
}

/** Rows newest first in the provider's own order (ties: reverse key order, unlike ours), optionally down. */
class ArrayAdapter implements ProviderAdapter {
  requests = 0;
  down = false;
  readonly capabilities: Capabilities;
  constructor(readonly provider: Provider, readonly connection: string, readonly rows: CallRecord[], resume: 'window' | 'offset', perParty: boolean) {
    this.capabilities = { maxPageSize: 5, resume, reportsTotal: false, listsOngoing: true, ...(perParty && resume === 'window' ? { numberFilter: 'per-party' as const } : {}) };
  }
  appliesExactly(): boolean {
    return false;
  }
  async list(request: ListRequest): Promise<ListResult> {
    this.requests++;
    if (this.down) throw new UpstreamError(this, 'TIMEOUT');
    const index = 'index' in request.page ? request.page.index : 0;
    let rows = this.rows;
    if (this.capabilities.resume === 'window') {
      rows = rows.filter((c) => (!request.from || c.startedAt >= request.from) && (!request.until || c.startedAt <= request.until));
      const { party } = request;
      if (party && request.query.phoneNumber) rows = rows.filter((c) => c[party].phoneNumber === request.query.phoneNumber);
    }
    const calls = rows.slice(index * request.pageSize, (index + 1) * request.pageSize);
    return { calls, next: (index + 1) * request.pageSize < rows.length ? { index: index + 1 } : null, total: null };
  }
  async getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return locators.map(() => null);
  }
}

// Few instants for many rows: ties, which the window's edge must not split, are common.
const listArb = fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 0, maxLength: 30, size: 'max' });
const queryArb = fc.record({
  direction: fc.option(fc.constantFrom('INBOUND', 'OUTBOUND'), { nil: null }),
  statuses: fc.option(fc.constant(['COMPLETED']), { nil: null }),
  after: fc.option(fc.integer({ min: 0, max: 12 }), { nil: null }),
  before: fc.option(fc.integer({ min: 0, max: 13 }), { nil: null }),
  phoneNumber: fc.option(fc.constantFrom(...NUMBERS), { nil: null }),
});

function toQuery(q: { direction: string | null; statuses: readonly string[] | null; after: number | null; before: number | null; phoneNumber: string | null }): CallQuery {
  return {
    ...emptyQuery,
    direction: q.direction as CallQuery['direction'],
    statuses: q.statuses as CallQuery['statuses'],
    startedAfter: q.after === null ? null : new Date(T0 + q.after * 60_000),
    startedBefore: q.before === null ? null : new Date(T0 + q.before * 60_000),
    phoneNumber: q.phoneNumber,
  };
}

/** Rows at these minutes, newest first, ties in the provider's order (key descending). */
function rowsOf(provider: Provider, minutes: number[]): CallRecord[] {
  return minutes
    .map((m, n) => call(provider, 'c', `${provider[0]}${String(n).padStart(2, '0')}`, m, n))
    .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.key < b.key ? 1 : -1));
}

/**
 * A forward walk of `size`-row pages: each page's keys and `hasNextPage`, and the missing labels.
 * With `budget`, each page gets a fresh scan budget of that many list requests per connection, and
 * a page it cuts short is continued from its frontier.
 */
async function walk(adapters: ProviderAdapter[], query: CallQuery, size: number, windows?: Map<string, CallWindow>, budget?: number) {
  const pages: { keys: string[]; more: boolean; missing: string[] }[] = [];
  let after: CursorPayload | null = null;
  for (let n = 0; n < 200; n++) {
    const page: MergedPage = await mergePage({
      adapters, query, direction: 'forward', size, after, before: null, onFailure: () => {},
      ...(windows ? { windows } : {}),
      ...(budget ? { budget: new ScanBudget(budget) } : {}),
    });
    pages.push({ keys: page.edges.map((e) => e.row.call.key), more: page.hasNextPage, missing: page.missing });
    if (!page.hasNextPage) break;
    const last = page.edges[page.edges.length - 1];
    if (page.frontier) after = { ...page.frontier, missing: page.missing };
    else if (last) after = { position: last.row.position, hints: last.hints, missing: page.missing };
    else break;
  }
  return pages;
}

it('a walk that starts in the windows yields page for page what the upstream walk yields, with fewer requests', async () => {
  await fc.assert(
    fc.asyncProperty(listArb, listArb, fc.nat(30), fc.nat(30), queryArb, fc.integer({ min: 1, max: 8 }), fc.boolean(), fc.boolean(), async (a, b, ka, kb, q, size, offsetB, perParty) => {
      const query = toQuery(q);
      const plain = [new ArrayAdapter('TWENTY2', 'c', rowsOf('TWENTY2', a), 'window', perParty), new ArrayAdapter('UNPOD', 'c', rowsOf('UNPOD', b), offsetB ? 'offset' : 'window', perParty)];
      const served = plain.map((x) => new ArrayAdapter(x.provider, x.connection, x.rows, x.capabilities.resume, perParty));
      const windowOf = (rows: CallRecord[], k: number): CallWindow => ({ calls: rows.slice(0, k), readAt: 0, complete: k >= rows.length, servableUntil: null });
      const windows = new Map([
        [connectionLabel(served[0]!), windowOf(served[0]!.rows, ka)],
        [connectionLabel(served[1]!), windowOf(served[1]!.rows, kb)],
      ]);
      const expected = await walk(plain, query, size);
      const actual = await walk(served, query, size, windows);
      expect(actual).toEqual(expected);
      // Every call the filter keeps, once, in the merged order.
      const truth = [...plain[0]!.rows, ...plain[1]!.rows].filter((c) => matches(c, query)).sort(compareCalls).map((c) => c.key);
      expect(actual.flatMap((p) => p.keys)).toEqual(truth);
      expect(served[0]!.requests + served[1]!.requests).toBeLessThanOrEqual(plain[0]!.requests + plain[1]!.requests + 2);
    }),
    { numRuns: 400, seed: 20261130 },
  );
});

it('a first page inside a whole window sends no request; one that runs past it reads upstream from its oldest row', async () => {
  const rows = rowsOf('TWENTY2', [30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
  const adapter = new ArrayAdapter('TWENTY2', 'c', rows, 'window', false);
  const windows = new Map([['twenty2/c', { calls: rows.slice(0, 6), readAt: 0, complete: false, servableUntil: null }]]);
  const inside = await walk([adapter], emptyQuery, 4, windows);
  expect(inside.flatMap((p) => p.keys)).toEqual(rows.map((r) => r.key));
  // Page 1 (4 rows + 1) from the window; page 2 needs rows past minute 25: one request, from there.
  expect(adapter.requests).toBeGreaterThan(0);
  adapter.requests = 0;
  await mergePage({ adapters: [adapter], query: emptyQuery, direction: 'forward', size: 4, after: null, before: null, onFailure: () => {}, windows });
  expect(adapter.requests).toBe(0);
});

it('an upstream that is down is named on the first page that needs it, not on the pages the window answers', async () => {
  const rows = rowsOf('TWENTY2', [30, 29, 28, 27, 26, 25, 24, 23, 22, 21]);
  for (const resume of ['window', 'offset'] as const) {
    const adapter = new ArrayAdapter('TWENTY2', 'c', rows, resume, false);
    adapter.down = true;
    const windows = new Map([['twenty2/c', { calls: rows.slice(0, 7), readAt: 0, complete: false, servableUntil: null }]]);
    const pages = await walk([adapter], emptyQuery, 3, windows);
    // The window vouches for minutes 30..25 (the oldest row's instant, 24, may have siblings upstream).
    expect(pages).toEqual([
      { keys: rows.slice(0, 3).map((r) => r.key), more: true, missing: [] },
      { keys: rows.slice(3, 6).map((r) => r.key), more: false, missing: ['twenty2/c'] },
    ]);
    const plain = await walk([adapter], emptyQuery, 3);
    expect(plain).toEqual([{ keys: [], more: false, missing: ['twenty2/c'] }]);
  }
});

it('with a scan budget (counting upstream requests only), a walk from the windows still returns every call once', async () => {
  await fc.assert(
    fc.asyncProperty(listArb, listArb, fc.nat(30), fc.nat(30), queryArb, fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 2 }), fc.boolean(), async (a, b, ka, kb, q, size, budget, offsetB) => {
      const query = toQuery(q);
      const adapters = [new ArrayAdapter('TWENTY2', 'c', rowsOf('TWENTY2', a), 'offset', false), new ArrayAdapter('UNPOD', 'c', rowsOf('UNPOD', b), offsetB ? 'offset' : 'window', true)];
      const windows = new Map([
        ['twenty2/c', { calls: adapters[0]!.rows.slice(0, ka), readAt: 0, complete: ka >= adapters[0]!.rows.length, servableUntil: null }],
        ['unpod/c', { calls: adapters[1]!.rows.slice(0, kb), readAt: 0, complete: kb >= adapters[1]!.rows.length, servableUntil: null }],
      ]);
      const pages = await walk(adapters, query, size, windows, budget);
      const truth = [...adapters[0]!.rows, ...adapters[1]!.rows].filter((c) => matches(c, query)).sort(compareCalls).map((c) => c.key);
      expect(pages.flatMap((p) => p.keys)).toEqual(truth);
    }),
    { numRuns: 200, seed: 20261201 },
  );
});

describe('the watcher\'s window', () => {
  const rows = rowsOf('TWENTY2', [9, 8, 7, 6]);

  it('is the read\'s rows in the provider\'s order, each call once (a call read on two pages keeps its first row)', () => {
    expect(windowOf([rows[0]!, rows[1]!, rows[1]!, rows[2]!], 5, false)).toEqual({ calls: [rows[0], rows[1], rows[2]], readAt: 5, complete: false, servableUntil: null });
  });

  it('is not served from a minute before a row\'s signed media link expires', () => {
    const expiresAt = new Date(T0 + 3_600_000);
    const details = { billedDurationSeconds: null, recordings: [{ url: 'https://media.example/r1', expiresAt }], transcript: null, inputParameters: null, outputParameters: null } as unknown as CallRecord['details'];
    const linked = { ...rows[1]!, details };
    expect(windowOf([rows[0]!, linked], 5, false).servableUntil).toBe(expiresAt.getTime() - 60_000);
    expect(pushedInto(windowOf([rows[0]!, linked], 5, false), [rows[1]!])!.servableUntil).toBeNull();
  });

  it('takes a pushed call\'s new fields when the call is in it, ignores one that is not, and is dropped when a start moved', () => {
    const top = windowOf(rows.slice(0, 3), 5, false);
    const ended = { ...rows[1]!, status: 'COMPLETED' as const };
    expect(pushedInto(top, [ended, rows[3]!])).toEqual({ calls: [rows[0], ended, rows[2]], readAt: 5, complete: false, servableUntil: null });
    expect(pushedInto(top, [{ ...rows[1]!, startedAt: new Date(rows[1]!.startedAt.getTime() + 1000) }])).toBeNull();
    expect(pushedInto(null, [ended])).toBeNull();
  });
});

/**
 * What real providers do between the watcher's read and the page (the window is up to the max data
 * age old): calls start on top, calls in progress end (their row changes in place; where the
 * provider lists only ended calls, the row appears at the place of its start), and a call's start
 * moves later (Vapi: a queued call's start is its creation until it starts). A walk that starts in
 * such a stale window must still be a well-formed walk: every page but the last full, no call twice,
 * every call older than the window's oldest instant once, and nothing the provider never listed.
 */
it('a walk from a stale window (calls started, ended, or moved since the read) is full, once each, and complete below the window', async () => {
  const changeArb = fc.record({
    added: fc.array(fc.integer({ min: 0, max: 14 }), { maxLength: 4 }),
    appeared: fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
    moved: fc.array(fc.nat(29), { maxLength: 3 }),
  });
  await fc.assert(
    fc.asyncProperty(listArb, listArb, fc.nat(30), fc.nat(30), changeArb, fc.integer({ min: 1, max: 6 }), fc.boolean(), async (a, b, ka, kb, change, size, offsetB) => {
      const before = [rowsOf('TWENTY2', a), rowsOf('UNPOD', b)];
      const windows = new Map([
        ['twenty2/c', { calls: before[0]!.slice(0, ka), readAt: 0, complete: ka >= before[0]!.length, servableUntil: null }],
        ['unpod/c', { calls: before[1]!.slice(0, kb), readAt: 0, complete: kb >= before[1]!.length, servableUntil: null }],
      ]);
      // The provider's list now: TWENTY2 gains calls (new on top, or ended ones listed at their start)
      // and some calls start later than listed before; UNPOD is unchanged.
      let now = before[0]!.map((c) => (change.moved.includes(before[0]!.indexOf(c)) ? { ...c, startedAt: new Date(c.startedAt.getTime() + 60_000) } : c));
      const extra = [...change.added.map((m) => m + 2), ...change.appeared].map((m, n) => call('TWENTY2', 'c', `N${n}`, m, n));
      now = [...now, ...extra].sort((x, y) => y.startedAt.getTime() - x.startedAt.getTime() || (x.key < y.key ? 1 : -1));
      const adapters = [new ArrayAdapter('TWENTY2', 'c', now, 'offset', false), new ArrayAdapter('UNPOD', 'c', before[1]!, offsetB ? 'offset' : 'window', false)];
      const pages = await walk(adapters, emptyQuery, size, windows);
      const keys = pages.flatMap((p) => p.keys);
      pages.slice(0, -1).forEach((p) => expect(p.keys).toHaveLength(size));
      expect(new Set(keys).size).toBe(keys.length);
      const listed = new Set([...before[0]!, ...now, ...before[1]!].map((c) => c.key));
      for (const key of keys) expect(listed.has(key)).toBe(true);
      // Below each window's oldest instant, the provider's list as it is now.
      for (const [rows, window] of [[now, windows.get('twenty2/c')!], [before[1]!, windows.get('unpod/c')!]] as const) {
        if (window.complete) continue;
        const edge = Math.min(...window.calls.map((c) => c.startedAt.getTime()));
        const below = rows.filter((c) => c.startedAt.getTime() < edge).map((c) => c.key);
        for (const key of below) expect(keys).toContain(key);
      }
    }),
    { numRuns: 400, seed: 20261202 },
  );
});
