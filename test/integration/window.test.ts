/**
 * Serving the first pages of `calls` from watched connections' windows (docs/live.md, "Freshness"),
 * over HTTP against every provider's simulator: with the connections watched (a subscriber keeps
 * them so) and a max data age set, a first page sends no list request and reports each window's age
 * (`extensions.dataAge`); walks that start in the windows and run past them return every call once,
 * with filters; a window older than the max data age (its watcher failing) is not used, nor is
 * there one for a connection nobody watches; and with Redis a replica that does not watch serves
 * from the window its peer saved. Polls are 60 s apart where requests are counted, so that the
 * simulators' request logs hold only the page's own requests.
 */
import { startSimulators, type Simulators } from '../../src/demo.js';
import { connectionLabel } from '../../src/calls/model.js';
import type { Config } from '../../src/config.js';
import { type Replicas, startReplicas } from '../helpers/replicas.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, idsOf, type TruthFilter } from '../helpers/truth.js';
import { waitFor } from '../helpers/waitFor.js';

const windowed = (maxDataAgeMs: number, intervalMs: number) => (config: Config): Config => ({ ...config, maxDataAgeMs, watch: { ...config.watch, intervalMs } });

/** Keeps every connection of `h` watched; resolves once each watcher has read successfully. */
async function watchAll(h: Harness, labels = h.sims.connections.map(connectionLabel)) {
  const stop = h.server.events.subscribe(h.sims.connections.filter((c) => labels.includes(connectionLabel(c))), () => {});
  await waitFor('every watcher reads', () => labels.every((l) => h.server.events.watchers().find((w) => w.connection === l)?.state === 'watching'));
  return stop;
}

type Page = { ids: string[]; next: string | null; more: boolean; res: GraphQLResponse };
async function page(h: Harness, variables: Record<string, unknown>): Promise<Page> {
  const res = await h.gql(PAGE, variables);
  const calls = res.body.data?.calls;
  return { ids: calls?.edges.map((e: { node: { id: string } }) => e.node.id) ?? [], next: calls?.pageInfo.endCursor ?? null, more: calls?.pageInfo.hasNextPage ?? false, res };
}

async function walk(h: Harness, size: number, filter?: TruthFilter): Promise<{ ids: string[]; pages: Page[] }> {
  const pages: Page[] = [];
  let after: string | null = null;
  for (let n = 0; n < 200; n++) {
    const p = await page(h, { first: size, after, filter });
    expect(p.res.body.errors).toBeUndefined();
    pages.push(p);
    if (!p.more) break;
    after = p.next;
  }
  return { ids: pages.flatMap((p) => p.ids), pages };
}

const FILTERS: (TruthFilter | undefined)[] = [
  undefined,
  { direction: 'INBOUND' },
  { statuses: ['COMPLETED', 'NO_ANSWER'] },
  { phoneNumber: '+919999999999' },
  { providers: ['TWENTY2', 'UNPOD', 'TWILIO'], direction: 'OUTBOUND' },
];

const CURSOR_SECRET = 'window-test-cursor-secret-0123456789abcdef';

describe('served from the window', () => {
  let sims: Simulators;
  let h: Harness;
  /** The same simulators behind a replica that never serves from a window; cursors signed alike. */
  let plain: Harness;
  let stop: () => void;
  beforeAll(async () => {
    sims = await startSimulators({ count: 80 });
    h = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_CURSOR_SECRET: CURSOR_SECRET }, configure: windowed(60_000, 60_000) });
    plain = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_CURSOR_SECRET: CURSOR_SECRET } });
    stop = await watchAll(h);
  });
  afterAll(async () => {
    stop?.();
    await plain?.server.stop();
    await h?.stop();
  });

  it('its cursors work on a replica without a window, and the other way round: a walk alternating between them returns every call once', async () => {
    const ids: string[] = [];
    let after: string | null = null;
    for (let n = 0; n < 100; n++) {
      const p = await page(n % 2 === 0 ? h : plain, { first: 7, after });
      expect(p.res.body.errors).toBeUndefined();
      ids.push(...p.ids);
      if (!p.more) break;
      after = p.next;
    }
    expect(ids).toEqual(idsOf(allCalls(sims)));
  });

  it('answers a first page with no upstream request and says how old each window is', async () => {
    h.resetCounters();
    const p = await page(h, { first: 20 });
    expect(p.res.body.errors).toBeUndefined();
    expect(h.upstreamCount()).toBe(0);
    expect(p.ids).toEqual(idsOf(allCalls(sims)).slice(0, 20));
    const dataAge = (p.res.body as { extensions?: { dataAge?: Record<string, number> } }).extensions?.dataAge ?? {};
    // Only the connections whose rows the page needed; each age in seconds, under the maximum.
    expect(Object.keys(dataAge).length).toBeGreaterThan(0);
    for (const [label, age] of Object.entries(dataAge)) {
      expect(sims.connections.map(connectionLabel)).toContain(label);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60);
    }
    // The request's log line says so too, with no upstream request.
    const line = h.logs.map((l) => JSON.parse(l)).filter((l) => l.event === 'graphql_request').at(-1);
    expect(line).toMatchObject({ upstreamRequests: 0, dataAge });
  });

  it.each(FILTERS.map((f) => [JSON.stringify(f ?? {}), f]))('walks from the windows past them, every call once (filter %s)', async (_name, filter) => {
    h.resetCounters();
    const { ids, pages } = await walk(h, 9, filter);
    expect(ids).toEqual(idsOf(applyFilter(allCalls(sims), filter ?? {})));
    expect(new Set(ids).size).toBe(ids.length);
    // The first page came from the windows; the walk needed upstream reads past them.
    expect((pages[0]!.res.body as { extensions?: { dataAge?: object } }).extensions?.dataAge).toBeDefined();
    expect(h.upstreamCount()).toBeGreaterThan(0);
  });

  it('answers as the upstream read does at the windows\' edges: time bounds around each oldest row, either party\'s number, totalCount and every list field', async () => {
    const FULL = `query P($first: Int, $filter: CallFilter) {
      calls(first: $first, filter: $filter) {
        totalCount
        edges { node { id provider connection providerCallId direction status providerStatus startedAt answeredAt endedAt durationSeconds endReason agentId
          from { phoneNumber rawPhoneNumber displayName countryCode isStaff } to { phoneNumber rawPhoneNumber displayName countryCode isStaff } cost { amount currency } } }
        pageInfo { hasNextPage hasPreviousPage }
      } }`;
    const calls = allCalls(sims);
    const filters: TruthFilter[] = [];
    for (const provider of new Set(calls.map((c) => c.provider))) {
      const mine = calls.filter((c) => c.provider === provider);
      // The window holds the newest 50 rows (WATCH_PAGE_SIZE): its oldest instant is row 49's.
      for (const at of [48, 49, 50].map((i) => mine[i]!.startedAt.getTime())) {
        for (const ms of [at - 1, at, at + 1]) {
          filters.push({ providers: [provider], startedAfter: new Date(ms).toISOString() }, { providers: [provider], startedBefore: new Date(ms).toISOString() });
        }
      }
      for (const call of [mine[3]!, mine[30]!]) {
        for (const phoneNumber of [call.from.phoneNumber, call.to.phoneNumber]) if (phoneNumber) filters.push({ providers: [provider], phoneNumber });
      }
    }
    for (const filter of filters) {
      const [served, upstream] = await Promise.all([h.gql(FULL, { first: 60, filter }), plain.gql(FULL, { first: 60, filter })]);
      expect([filter, served.body.errors, served.body.data]).toEqual([filter, upstream.body.errors, upstream.body.data]);
      // A page without an upper time bound starts in the window.
      if (!filter.startedBefore) expect((served.body as { extensions?: { dataAge?: object } }).extensions?.dataAge).toBeDefined();
    }
  });

  it('reports a data age only when the filter can match a row the window vouches for: not for a startedBefore at its oldest instant', async () => {
    // Twenty2's window is its newest 50 rows: it vouches for the calls after the 50th one's instant.
    const mine = allCalls(sims).filter((c) => c.provider === 'TWENTY2');
    const before = (i: number): TruthFilter => ({ providers: ['TWENTY2'], startedBefore: new Date(mine[i]!.startedAt.getTime() + 1).toISOString() });
    for (const [filter, windowed] of [[before(49), false], [before(48), true]] as const) {
      h.resetCounters();
      const served = await page(h, { first: 5, filter });
      expect(served.ids).toEqual(idsOf(applyFilter(allCalls(sims), filter)).slice(0, 5));
      const dataAge = (served.res.body as { extensions?: { dataAge?: object } }).extensions?.dataAge;
      if (windowed) expect(dataAge).toEqual({ 'twenty2/default': expect.any(Number) });
      // Every row is read upstream: no age to report, as a replica without windows reports none.
      else expect([dataAge, h.upstreamCount() > 0]).toEqual([undefined, true]);
    }
  });

  it('serves the page after a cursor inside the windows with no request either', async () => {
    const first = await page(h, { first: 5 });
    h.resetCounters();
    const second = await page(h, { first: 5, after: first.next });
    expect(h.upstreamCount()).toBe(0);
    expect([...first.ids, ...second.ids]).toEqual(idsOf(allCalls(sims)).slice(0, 10));
  });

  it('reads backward pages upstream, with no data age', async () => {
    const first = await page(h, { first: 5 });
    h.resetCounters();
    const back = await page(h, { last: 2, before: first.next });
    expect(back.ids).toEqual(first.ids.slice(2, 4));
    expect(h.upstreamCount()).toBeGreaterThan(0);
    expect((back.res.body as { extensions?: { dataAge?: object } }).extensions?.dataAge).toBeUndefined();
  });
});

describe('past the max data age', () => {
  let sims: Simulators;
  let h: Harness;
  beforeAll(async () => {
    sims = await startSimulators({ count: 30 });
    // A breaker that opens in the outage probes again soon, so the recovery shows within the test.
    h = await startHarness({ sims: async () => sims, configure: (config) => windowed(1_000, 150)({ ...config, http: { ...config.http, breakerOpenMs: 500 } }) });
  });
  afterAll(() => h?.stop());

  const TWENTY2 = { providers: ['TWENTY2'] };
  const ageOf = (p: Page) => (p.res.body as { extensions?: { dataAge?: Record<string, number> } }).extensions?.dataAge;

  it('a window whose watcher fails for longer is not used: the page goes upstream (and names the failure)', async () => {
    const stop = await watchAll(h, ['twenty2/default']);
    try {
      const fresh = await page(h, { first: 5, filter: TWENTY2 });
      expect(Object.keys(ageOf(fresh) ?? {})).toEqual(['twenty2/default']);

      sims.twenty2.server.persistentFault = { kind: 'status', status: 503 };
      const failingSince = Date.now();
      await waitFor('the watcher fails', () => h.server.events.watchers()[0]?.state === 'failing');
      await waitFor('the window ages past 1 s', () => Date.now() - failingSince > 1_300);
      const stale = await page(h, { first: 5, filter: TWENTY2 });
      expect(ageOf(stale)).toBeUndefined();
      expect(stale.res.body.errors?.map((e) => [e.extensions?.code, e.extensions?.provider])).toEqual([['PROVIDER_UNAVAILABLE', 'TWENTY2']]);

      sims.twenty2.server.persistentFault = null;
      await waitFor('the watcher reads again', () => h.server.events.watchers()[0]?.state === 'watching');
      const again = await page(h, { first: 5, filter: TWENTY2 });
      expect(again.ids).toEqual(fresh.ids);
      expect(Object.keys(ageOf(again) ?? {})).toEqual(['twenty2/default']);
    } finally {
      sims.twenty2.server.persistentFault = null;
      stop();
    }
  });

  it('a connection nobody watches has no window: its page is read upstream', async () => {
    await waitFor('no watcher', () => h.server.events.watchers().length === 0);
    h.resetCounters();
    const p = await page(h, { first: 5, filter: TWENTY2 });
    expect(ageOf(p)).toBeUndefined();
    expect(sims.twenty2.server.count()).toBeGreaterThan(0);
  });
});

describe('two replicas sharing Redis', () => {
  let replicas: Replicas;
  let sims: Simulators;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    replicas = await startReplicas({
      sims: { count: 40 },
      harness: { configure: (config: Config) => ({ ...config, maxDataAgeMs: 60_000, watch: { intervalMs: 60_000, leaseMs: 1_000, heartbeatMs: 100 } }) },
    });
    ({ sims, a, b } = replicas);
  });
  afterAll(() => replicas?.stop());

  it('the replica without the lease serves its first page from the window its peer saved', async () => {
    const stop = await watchAll(a);
    try {
      expect(b.server.events.watchers()).toEqual([]);
      a.resetCounters();
      const p = await page(b, { first: 20 });
      expect(p.res.body.errors).toBeUndefined();
      expect(a.upstreamCount()).toBe(0);
      expect(p.ids).toEqual(idsOf(allCalls(sims)).slice(0, 20));
      const dataAge = (p.res.body as { extensions?: { dataAge?: Record<string, number> } }).extensions?.dataAge ?? {};
      expect(Object.keys(dataAge).length).toBeGreaterThan(0);
      // And a walk from there past the windows returns every call once.
      const { ids } = await walk(b, 30);
      expect(ids).toEqual(idsOf(allCalls(sims)));
    } finally {
      stop();
    }
  });
});
