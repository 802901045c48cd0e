/**
 * The core on its own, the way graphql-relay-js tests connections: `mergePage` over array-backed
 * fake adapters (one resuming by time window, one by offset), whole pages deep-equalled, and a call
 * recorder (after dataloader's `idLoader`) asserting the exact list requests a walk makes. No HTTP.
 */
import type { Capabilities, CallLocator, CallLookup, ListRequest, ListResult, ProviderAdapter } from '../../src/calls/adapter.js';
import type { CursorPayload } from '../../src/calls/cursor.js';
import { type CallQuery, emptyQuery } from '../../src/calls/filter.js';
import { type MergedPage, mergePage } from '../../src/calls/merge.js';
import type { CallRecord, Provider } from '../../src/calls/model.js';

const T0 = Date.UTC(2026, 0, 1);
const minutes = (n: number): Date => new Date(T0 + n * 60_000);

function call(provider: Provider, connection: string, key: string, at: number): CallRecord {
  return {
    provider, connection, key, providerCallId: key, direction: 'INBOUND', status: 'COMPLETED', providerStatus: 'completed',
    from: { phoneNumber: null, name: null } as CallRecord['from'], to: { phoneNumber: null, name: null } as CallRecord['to'],
    startedAt: minutes(at), answeredAt: null, endedAt: null, durationSeconds: null, cost: null, endReason: null, agentId: null, details: null,
  };
}

/** An adapter over an array (newest first), recording every list request it is sent. */
class ArrayAdapter implements ProviderAdapter {
  readonly requests: ListRequest[] = [];
  readonly capabilities: Capabilities;
  constructor(readonly provider: Provider, readonly connection: string, private readonly rows: CallRecord[], resume: 'window' | 'offset') {
    this.capabilities = { maxPageSize: 4, resume, reportsTotal: false, listsOngoing: true };
  }
  appliesExactly(query: CallQuery): boolean {
    return query === emptyQuery;
  }
  async list(request: ListRequest): Promise<ListResult> {
    this.requests.push(request);
    const index = 'index' in request.page ? request.page.index : Number(request.page.token);
    const inWindow = this.capabilities.resume === 'window'
      ? this.rows.filter((c) => (!request.from || c.startedAt >= request.from) && (!request.until || c.startedAt <= request.until))
      : this.rows;
    const calls = inWindow.slice(index * request.pageSize, (index + 1) * request.pageSize);
    return { calls, next: (index + 1) * request.pageSize < inWindow.length ? { index: index + 1 } : null, total: null };
  }
  async getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return locators.map((l) => this.rows.find((c) => c.key === l.key) ?? null);
  }
}

// Two connections whose calls interleave, with one tie at minute 50 broken by provider rank.
const windowRows = [call('TWENTY2', 'a', 'w1', 90), call('TWENTY2', 'a', 'w2', 70), call('TWENTY2', 'a', 'w3', 50), call('TWENTY2', 'a', 'w4', 30), call('TWENTY2', 'a', 'w5', 10)];
const offsetRows = [call('UNPOD', 'b', 'o1', 80), call('UNPOD', 'b', 'o2', 50), call('UNPOD', 'b', 'o3', 40), call('UNPOD', 'b', 'o4', 20)];

const fresh = () => ({ win: new ArrayAdapter('TWENTY2', 'a', windowRows, 'window'), off: new ArrayAdapter('UNPOD', 'b', offsetRows, 'offset') });

/** A merged page as a client would read it: `{ edges, pageInfo }` plus what the page carries. */
const shape = (page: MergedPage) => ({
  edges: page.edges.map((e) => ({ key: e.row.call.key, position: e.row.position, hints: e.hints })),
  pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage },
  missing: page.missing,
  frontier: page.frontier,
  invalid: page.invalid,
});

const cursorOf = (page: MergedPage, at: 'first' | 'last'): CursorPayload => {
  const edge = at === 'first' ? page.edges[0]! : page.edges.at(-1)!;
  return { position: edge.row.position, hints: edge.hints };
};

const page = (adapters: ProviderAdapter[], direction: 'forward' | 'backward', size: number, after: CursorPayload | null = null, before: CursorPayload | null = null) =>
  mergePage({ adapters, query: emptyQuery, direction, size, after, before, onFailure: (e) => { throw e; } });

describe('mergePage over array-backed adapters', () => {
  it('merges the first page newest first, ties by provider rank', async () => {
    const { win, off } = fresh();
    expect(shape(await page([win, off], 'forward', 3))).toEqual({
      edges: [
        { key: 'w1', position: [T0 + 90 * 60_000, 0, 'a', 'w1'], hints: { 'unpod/b': 0 } },
        { key: 'o1', position: [T0 + 80 * 60_000, 1, 'b', 'o1'], hints: { 'unpod/b': 1 } },
        { key: 'w2', position: [T0 + 70 * 60_000, 0, 'a', 'w2'], hints: { 'unpod/b': 1 } },
      ],
      pageInfo: { hasNextPage: true, hasPreviousPage: false },
      missing: [],
      frontier: null,
      invalid: [],
    });
  });

  it('walks forward page by page through every call exactly once, in the merged order', async () => {
    const { win, off } = fresh();
    const keys: string[] = [];
    let after: CursorPayload | null = null;
    const infos: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await page([win, off], 'forward', 2, after);
      keys.push(...p.edges.map((e) => e.row.call.key));
      infos.push(p.hasNextPage);
      if (!p.hasNextPage) break;
      after = cursorOf(p, 'last');
    }
    expect(keys).toEqual(['w1', 'o1', 'w2', 'w3', 'o2', 'o3', 'w4', 'o4', 'w5']);
    expect(infos).toEqual([true, true, true, true, false]);
  });

  it('walks backward from the end to the same order', async () => {
    const { win, off } = fresh();
    const pages: string[][] = [];
    let before: CursorPayload | null = null;
    for (let i = 0; i < 10; i++) {
      const p = await page([win, off], 'backward', 4, null, before);
      pages.unshift(p.edges.map((e) => e.row.call.key));
      if (!p.hasPreviousPage) break;
      before = cursorOf(p, 'first');
    }
    expect(pages.flat()).toEqual(['w1', 'o1', 'w2', 'w3', 'o2', 'o3', 'w4', 'o4', 'w5']);
  });

  it('sends exactly these list requests for a first page and the page after it', async () => {
    const { win, off } = fresh();
    const first = await page([win, off], 'forward', 2);
    await page([win, off], 'forward', 2, cursorOf(first, 'last'));
    const seen = (a: ArrayAdapter) => a.requests.map((r) => ({ from: r.from?.toISOString() ?? null, until: r.until?.toISOString() ?? null, pageSize: r.pageSize, page: r.page }));
    expect({ window: seen(win), offset: seen(off) }).toEqual(RECORDED);
  });
});

/**
 * First page (2 edges, so 3 rows wanted from each): the window adapter is asked for 3 from the top;
 * the offset adapter for its largest page (the aligned size, so later offsets land on page bounds).
 * The page after `o1` (01:20): the window adapter resumes at that instant, inclusive; the offset
 * adapter from the page holding its hint (1 row seen), page 0 again.
 */
const RECORDED = {
  window: [
    { from: null, until: null, pageSize: 3, page: { index: 0 } },
    { from: null, until: '2026-01-01T01:20:00.000Z', pageSize: 3, page: { index: 0 } },
  ],
  offset: [
    { from: null, until: null, pageSize: 4, page: { index: 0 } },
    { from: null, until: null, pageSize: 4, page: { index: 0 } },
  ],
};
