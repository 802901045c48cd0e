/**
 * The contract every adapter keeps (src/calls/adapter.ts), written once and run against every
 * provider module of the list over its simulator, over HTTP. A provider added to PROVIDER_MODULES
 * gets this whole suite; each adapter's own test file keeps only its quirks.
 */
import type { CallLocator, ListRequest, ListResult, PageRef, ProviderAdapter } from '../../src/calls/adapter.js';
import { type CallQuery, emptyQuery, matches } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy } from '../../src/providers/http.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule, ProviderSimulator } from '../../src/providers/module.js';

const modules = PROVIDER_MODULES as readonly ProviderModule[];

describe.each(modules.map((m) => [m.provider, m] as const))('%s adapter contract', (provider, module) => {
  const ref = { provider, connection: 'contract' };
  let sim: ProviderSimulator;
  let settings: unknown;
  /** Every readable call, walked at the largest page size with no filter. */
  let everything: CallRecord[];

  const adapter = (): ProviderAdapter =>
    module.createAdapter('contract', settings as never, new ConnectionHttp(ref, { ...defaultHttpPolicy, retries: 0 }), module.connectionState?.() as never);

  /** Pages through from the first page until `next` is null; every page is checked on the way. */
  async function walk(a: ProviderAdapter, overrides: Partial<ListRequest> = {}): Promise<{ calls: CallRecord[]; pages: ListResult[] }> {
    const calls: CallRecord[] = [];
    const pages: ListResult[] = [];
    let page: PageRef | null = { index: 0 };
    while (page) {
      const result = await a.list({ query: emptyQuery, from: null, until: null, pageSize: a.capabilities.maxPageSize, ...overrides, page });
      const times = result.calls.map((c) => c.startedAt.getTime());
      expect(times).toEqual([...times].sort((x, y) => y - x)); // newest first
      for (const call of result.calls) expect([call.provider, call.connection]).toEqual([provider, 'contract']);
      pages.push(result);
      calls.push(...result.calls);
      // `next` is null only on the last page: a page that is not full and has no next ends the walk.
      if (result.next === null) break;
      expect(pages.length).toBeLessThan(1000);
      page = result.next;
    }
    return { calls, pages };
  }

  /** What the core would answer for `query` from an adapter's walk (it filters every row exactly). */
  async function answer(a: ProviderAdapter, query: CallQuery, pageSize?: number): Promise<string[]> {
    const { from, until } = { from: query.startedAfter, until: query.startedBefore ? new Date(query.startedBefore.getTime() - 1) : null };
    const parties: (ListRequest['party'] | undefined)[] =
      query.phoneNumber && a.capabilities.numberFilter === 'per-party' ? ['from', 'to'] : [undefined];
    const keys = new Set<string>();
    for (const party of parties) {
      const { calls } = await walk(a, { query, from, until, ...(pageSize ? { pageSize } : {}), ...(party ? { party } : {}) });
      for (const call of calls) if (matches(call, query)) keys.add(call.key);
    }
    return [...keys].sort();
  }
  const exactly = (query: CallQuery): string[] => everything.filter((c) => matches(c, query)).map((c) => c.key).sort();

  beforeAll(async () => {
    sim = module.simulator.create({ count: 60 });
    const baseUrl = await sim.server.start();
    settings = module.settings.parse(module.simulator.settings(sim, baseUrl));
    everything = (await walk(adapter())).calls;
  });
  afterAll(() => sim.server.close());
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
  });

  it('serves calls, each key once', () => {
    expect(everything.length).toBeGreaterThan(20);
    expect(new Set(everything.map((c) => c.key)).size).toBe(everything.length);
  });

  it('gives the same rows at any page size: no row inside the request is left out, next is null only at the end', async () => {
    const small = await walk(adapter(), { pageSize: 7 });
    expect(small.calls.map((c) => c.key).sort()).toEqual(everything.map((c) => c.key).sort());
    expect(small.pages.length).toBeGreaterThan(1);
    expect(small.pages.slice(0, -1).every((p) => p.next !== null)).toBe(true);
  });

  it('answers a time window with every call inside it (rows outside are allowed)', async () => {
    const sorted = [...everything].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
    const query: CallQuery = { ...emptyQuery, startedBefore: sorted[10]!.startedAt, startedAfter: sorted[30]!.startedAt };
    expect(await answer(adapter(), query, 7)).toEqual(exactly(query));
  });

  const queries: [string, (calls: CallRecord[]) => CallQuery][] = [
    ['status COMPLETED', () => ({ ...emptyQuery, statuses: ['COMPLETED'] })],
    ['statuses BUSY, FAILED', () => ({ ...emptyQuery, statuses: ['BUSY', 'FAILED'] })],
    ['status UNKNOWN', () => ({ ...emptyQuery, statuses: ['UNKNOWN'] })],
    ['direction INBOUND', () => ({ ...emptyQuery, direction: 'INBOUND' })],
    ['direction OUTBOUND', () => ({ ...emptyQuery, direction: 'OUTBOUND' })],
    ['a known number', (calls) => ({ ...emptyQuery, phoneNumber: calls.find((c) => c.from.phoneNumber)!.from.phoneNumber! })],
    ['everything at once', (calls) => ({ ...emptyQuery, statuses: ['COMPLETED'], direction: 'INBOUND', startedAfter: calls[calls.length - 5]!.startedAt })],
  ];

  it.each(queries)('push-down never changes the answer: %s', async (_, make) => {
    const query = make(everything);
    // Statuses other than UNKNOWN select something in every simulator's data: the test is not vacuous.
    if (query.statuses && !query.direction && !query.statuses.includes('UNKNOWN')) expect(exactly(query).length).toBeGreaterThan(0);
    expect(await answer(adapter(), query)).toEqual(exactly(query));
  });

  it.each(queries)('appliesExactly only when the count is exact: %s', async (_, make) => {
    const query = make(everything);
    const a = adapter();
    if (!a.appliesExactly(query) || !a.capabilities.reportsTotal || (query.phoneNumber && a.capabilities.numberFilter === 'per-party')) return;
    const first = await a.list({ query, from: query.startedAfter, until: null, pageSize: 5, page: { index: 0 } });
    expect(first.total).toBe(exactly(query).length);
  });

  it('getCalls answers in locator order, null for an unknown call', async () => {
    const known = [everything[3]!, everything[0]!, everything[everything.length - 1]!];
    const locators: CallLocator[] = [
      ...known.map((c) => ({ key: c.key, startedAt: c.startedAt })),
      { key: 'no-such-call-0000', startedAt: known[0]!.startedAt },
    ];
    locators.splice(1, 0, locators.pop()!);
    const found = await adapter().getCalls(locators);
    expect(found.map((c) => (c === null ? null : c instanceof Error ? c.message : c.key))).toEqual([known[0]!.key, null, known[1]!.key, known[2]!.key]);
  });

  it('getCalls fails only the call whose request failed (its typed error in its place); the others come back', async () => {
    const [a, b, c] = [everything[0]!, everything[Math.floor(everything.length / 2)]!, everything[everything.length - 1]!];
    // The look-up of b alone fails, however this provider looks calls up (its module's lookedUp).
    sim.server.targetedFaults.push({ match: (r) => module.simulator.lookedUp(sim, r).includes(b.key), fault: { kind: 'status', status: 500 } });
    const [foundA, failedB, foundC] = await adapter().getCalls([a, b, c].map((call) => ({ key: call.key, startedAt: call.startedAt })));
    expect(failedB).toBeInstanceOf(UpstreamError);
    expect(failedB).toMatchObject({ provider, connection: 'contract', failure: 'HTTP_STATUS' });
    expect([foundA, foundC].map((call) => (call as CallRecord).key)).toEqual([a.key, c.key]);
  });

  it('getCalls of no locators asks nothing', async () => {
    expect(await adapter().getCalls([])).toEqual([]);
    expect(sim.server.count()).toBe(0);
  });

  it('takes a base URL with a trailing slash: the same page, the same paths asked', async () => {
    if (typeof (settings as { baseUrl?: unknown }).baseUrl !== 'string') return;
    const first = await adapter().list({ query: emptyQuery, from: null, until: null, pageSize: 3, page: { index: 0 } });
    const paths = sim.server.requests.map((r) => r.path);
    sim.server.resetCounters();
    const slashed = module.createAdapter(
      'contract',
      { ...(settings as object), baseUrl: `${(settings as { baseUrl: string }).baseUrl}/` } as never,
      new ConnectionHttp(ref, { ...defaultHttpPolicy, retries: 0 }),
      module.connectionState?.() as never,
    );
    const again = await slashed.list({ query: emptyQuery, from: null, until: null, pageSize: 3, page: { index: 0 } });
    expect(again.calls.map((c) => c.key)).toEqual(first.calls.map((c) => c.key));
    expect(sim.server.requests.map((r) => r.path)).toEqual(paths);
  });

  it('fails a list with a typed upstream error naming the connection', async () => {
    sim.server.persistentFault = { kind: 'status', status: 503 };
    const failure = await adapter().list({ query: emptyQuery, from: null, until: null, pageSize: 5, page: { index: 0 } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure).toMatchObject({ provider, connection: 'contract' });
    expect((failure as Error).message).toContain(`${module.displayName} connection "contract"`);
  });

  it('fails only the look-ups of a failing upstream, each with a typed error', async () => {
    sim.server.persistentFault = { kind: 'status', status: 503 };
    const found = await adapter().getCalls([{ key: everything[0]!.key, startedAt: everything[0]!.startedAt }]);
    expect(found[0]).toBeInstanceOf(UpstreamError);
    expect(found[0]).toMatchObject({ provider, connection: 'contract' });
  });
});
