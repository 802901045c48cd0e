/**
 * The scan budget: a filter the providers cannot apply never reads whole histories for one page.
 * Past SWITCHBOARD_SCAN_BUDGET list requests per connection a page ends short at its frontier,
 * says so in `extensions.warnings`, and its cursor continues the same scan: walking page by page
 * yields exactly the calls an unlimited walk yields, forward and backward, each request within the
 * budget (counted by the simulators), re-reading little.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import fc from 'fast-check';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { capabilitiesOf, streamCount } from '../helpers/modules.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, idsOf, type TruthFilter } from '../helpers/truth.js';

const BUDGET = 2;
let sims: Simulators;
let h: Harness; // the budget above
let unlimited: Harness; // the same simulators, a budget no walk here reaches
beforeAll(async () => {
  sims = await startSimulators();
  h = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_SCAN_BUDGET: String(BUDGET) } });
  unlimited = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_SCAN_BUDGET: '1000' } });
});
afterAll(async () => {
  await unlimited.stop();
  await h.stop();
});

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * Upstream list requests per simulator since the last reset: look-ups of resources other than
 * calls (Vapi's phone numbers, cached per connection) are not list pages, and no budget counts them.
 */
const tally = () => Object.fromEntries(sims.servers.map((s) => [s.name, s.count() - s.countAuxiliary()]));

async function page(harness: Harness, variables: Record<string, unknown>): Promise<{ page: Page; res: GraphQLResponse; requests: Record<string, number> }> {
  harness.resetCounters();
  const res = await harness.gql(PAGE, variables);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return { page: res.body.data.calls, res, requests: tally() };
}

interface Walk {
  ids: string[];
  pages: number;
  /** Upstream requests over the whole walk. */
  requests: number;
  /** Pages the budget cut short. */
  cut: number;
}

/** A whole walk, forward (`first`/`after`) or backward (`last`/`before`), as a client follows it. */
async function walk(harness: Harness, direction: 'forward' | 'backward', size: number, filter: TruthFilter): Promise<Walk> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let requests = 0;
  let cut = 0;
  for (let pages = 1; pages < 500; pages++) {
    const variables = direction === 'forward' ? { first: size, after: cursor, filter } : { last: size, before: cursor, filter };
    const { page: p, res, requests: perSim } = await page(harness, variables);
    const n = Object.values(perSim).reduce((a, b) => a + b, 0);
    requests += n;
    if (harness === h) {
      for (const [name, count] of Object.entries(perSim)) expect([name, count <= BUDGET]).toEqual([name, true]);
    }
    const warnings = (res.body as { extensions?: { warnings?: Array<Record<string, unknown>> } }).extensions?.warnings ?? [];
    const pageIds = p.edges.map((e) => e.node.id);
    if (direction === 'forward') ids.push(...pageIds);
    else ids.unshift(...pageIds);
    const more = direction === 'forward' ? p.pageInfo.hasNextPage : p.pageInfo.hasPreviousPage;
    if (warnings.length > 0) {
      // Cut short: said so, fewer edges than asked, and a cursor at the frontier to go on from.
      cut++;
      expect(warnings).toEqual([
        expect.objectContaining({ code: 'SCAN_LIMITED', path: ['calls'], message: expect.stringMatching(direction === 'forward' ? /after: pageInfo\.endCursor/ : /before: pageInfo\.startCursor/) }),
      ]);
      expect(pageIds.length).toBeLessThanOrEqual(size);
      expect(more).toBe(true);
    } else {
      if (more) expect(pageIds).toHaveLength(size);
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
      expect(p.pageInfo.endCursor).toBe(p.edges[p.edges.length - 1]?.cursor ?? null);
    }
    if (!more) return { ids, pages, requests, cut };
    cursor = direction === 'forward' ? p.pageInfo.endCursor : p.pageInfo.startCursor;
    expect(cursor).not.toBeNull();
  }
  throw new Error('walk did not end');
}

describe('a number no call has (the reported case)', () => {
  const filter = { phoneNumber: '+10000000000' };

  it('reads at most the budget per connection, says the page is short, and the cursor reads on to the end', async () => {
    const first = await page(h, { first: 20, filter });
    for (const count of Object.values(first.requests)) expect(count).toBeLessThanOrEqual(BUDGET);
    expect(first.page.edges).toEqual([]);
    expect(first.page.pageInfo.hasNextPage).toBe(true);
    expect(first.page.pageInfo.endCursor).toEqual(expect.any(String));
    expect((first.res.body as { extensions?: unknown }).extensions).toEqual({
      warnings: [
        {
          code: 'SCAN_LIMITED',
          path: ['calls'],
          connections: expect.arrayContaining(['twenty2/default', 'unpod/default']),
          message: expect.stringMatching(/^Stopped reading after 2 upstream requests to .*twenty2\/default.*Continue with after: pageInfo\.endCursor/),
        },
      ],
    });
    // TalkStack filters numbers per party: asked for each party, it had nothing (404) and is done.
    const talkstack = sims.talkstack.server.requests.map((r) => r.query);
    expect(talkstack).toEqual(expect.arrayContaining([expect.objectContaining({ from: '+10000000000' }), expect.objectContaining({ to: '+10000000000' })]));
    expect(talkstack).toHaveLength(2);

    const walked = await walk(h, 'forward', 20, filter);
    expect(walked.ids).toEqual([]);
    expect(walked.cut).toBeGreaterThan(0);
  });

  it('without a budget in the way, reads each history once in pages of 100, and TalkStack only for the number (59 requests before)', async () => {
    const { page: p, requests } = await page(unlimited, { first: 20, filter });
    expect(p.edges).toEqual([]);
    expect(p.pageInfo.hasNextPage).toBe(false);
    // 300 calls per provider at 100 rows per request (CINNOX tells the end by a short page: a fourth,
    // empty one); TalkStack, Twilio and Retell filter the number themselves, asked once per party.
    // Any other provider of the list does one or the other.
    expect(Object.keys(requests).sort()).toEqual(PROVIDER_MODULES.map((m) => m.provider.toLowerCase()).sort());
    for (const [key, n] of Object.entries(requests)) {
      const perParty = capabilitiesOf(sims, key.toUpperCase()).numberFilter === 'per-party';
      expect([key, perParty ? n === 2 : n === 3 || n === 4]).toEqual([key, true]);
    }
    expect(requests).toMatchObject({ twenty2: 3, unpod: 3, cinnox: 4, talkstack: 2, twilio: 2, retell: 2 });
  });
});

describe('walking a rare match with the budget', () => {
  const filters: Array<[string, TruthFilter]> = [
    ['a number two providers share', { phoneNumber: SHARED_NUMBERS.india }],
    ['a US number (TalkStack and others)', { phoneNumber: SHARED_NUMBERS.us }],
    ['statuses no provider can push', { statuses: ['CANCELED', 'BUSY'] }],
    ['a direction and a number', { direction: 'INBOUND', phoneNumber: SHARED_NUMBERS.india }],
    ['an old time window (Twenty2 has no time filter)', { startedAfter: '2026-10-10T00:00:00Z', startedBefore: '2026-10-12T00:00:00Z' }],
  ];

  it.each(filters)('%s: forward and backward, the same calls as without a budget', async (_name, filter) => {
    const truth = idsOf(applyFilter(allCalls(sims), filter));
    expect(truth.length).toBeGreaterThan(0);
    for (const direction of ['forward', 'backward'] as const) {
      for (const size of [3, 20]) {
        const free = await walk(unlimited, direction, size, filter);
        expect(free.ids).toEqual(truth);
        const budgeted = await walk(h, direction, size, filter);
        expect(budgeted.ids).toEqual(truth);
        // Resuming at the frontier re-reads at most one upstream page per stream per page request.
        expect(budgeted.requests).toBeLessThanOrEqual(free.requests + budgeted.pages * streamCount(sims, filter));
      }
    }
    // Eight walks over every provider's history: the time limit grows with the list (a loaded machine).
  }, 30_000 * PROVIDER_MODULES.length);
});

describe('the budget, kind by kind', () => {
  it('the end-of-list cursor of a cut `last` scan: `before` reads on, `after` has nothing after it', async () => {
    const filter = { phoneNumber: SHARED_NUMBERS.us };
    const first = await page(h, { last: 5, filter });
    expect(first.page.edges).toEqual([]);
    expect(first.page.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: expect.any(String), endCursor: null });
    const afterEnd = await page(h, { first: 5, after: first.page.pageInfo.startCursor, filter });
    expect(afterEnd.page).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null } });
    expect(Object.values(afterEnd.requests).reduce((a, b) => a + b, 0)).toBe(0);
    const { page: next } = await page(h, { last: 5, before: first.page.pageInfo.startCursor, filter });
    expect(next.pageInfo.hasNextPage).toBe(false);
  });

  it('a frontier cursor is bound to its filter like any other', async () => {
    const filter = { phoneNumber: SHARED_NUMBERS.india };
    const first = await page(h, { first: 20, filter });
    const cursor = first.page.pageInfo.endCursor;
    const other = await h.gql(PAGE, { first: 20, after: cursor, filter: { phoneNumber: SHARED_NUMBERS.us } });
    expect(other.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('aliases share one budget per connection (each still reads its first page), and each cut page names its own path', async () => {
    h.resetCounters();
    const fields = 'edges { node { id } } pageInfo { hasNextPage endCursor }';
    const res = await h.gql(`query($f: CallFilter) { a: calls(first: 20, filter: $f) { ${fields} } b: calls(first: 20, filter: $f) { ${fields} } }`, {
      f: { phoneNumber: '+10000000000' },
    });
    // Every field moves: one request per stream at least (TalkStack, Twilio, Retell: one per party), the budget beyond.
    // Any other provider of the list does one or the other.
    const tallied = tally();
    expect(Object.keys(tallied).sort()).toEqual(PROVIDER_MODULES.map((m) => m.provider.toLowerCase()).sort());
    for (const [key, n] of Object.entries(tallied)) expect([key, n]).toEqual([key, capabilitiesOf(sims, key.toUpperCase()).numberFilter === 'per-party' ? 4 : 2]);
    expect(tallied).toMatchObject({ twenty2: 2, unpod: 2, cinnox: 2, talkstack: 4, twilio: 4, retell: 4 });
    const warnings = (res.body as { extensions?: { warnings?: Array<{ path: string[] }> } }).extensions?.warnings ?? [];
    expect(warnings.map((w) => w.path).sort()).toEqual([['a'], ['b']]);
  });

  it('totalCount never scans: null for a filter no provider applies, within the budget', async () => {
    h.resetCounters();
    const res = await h.gql('{ calls(first: 5, filter: { phoneNumber: "+10000000000" }) { totalCount } }');
    expect(res.body.data.calls.totalCount).toBeNull();
    for (const count of Object.values(tally())) expect(count).toBeLessThanOrEqual(BUDGET);
  });

  it('TalkStack reports no direction: a direction filter sends it nothing', async () => {
    const { page: p, requests } = await page(h, { first: 5, filter: { providers: ['TALKSTACK'], direction: 'INBOUND' } });
    expect(p.edges).toEqual([]);
    expect(p.pageInfo.hasNextPage).toBe(false);
    expect(requests.talkstack).toBe(0);
  });

  it('Twenty2 has no time filter: a forward read stops once past startedAfter', async () => {
    const recent = allCalls(sims).filter((c) => c.provider === 'TWENTY2')[10]!.startedAt.toISOString();
    const filter = { providers: ['TWENTY2'], startedAfter: recent };
    const { page: p, requests } = await page(unlimited, { first: 50, filter });
    expect(p.edges.map((e) => e.node.id)).toEqual(idsOf(applyFilter(allCalls(sims), filter)));
    expect(requests.twenty2).toBe(1);
  });
});

describe('property: any filter, size and direction walks the same with a budget of 2 as without', () => {
  const PROVIDERS: string[] = PROVIDER_MODULES.map((m) => m.provider);
  const STATUSES = ['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED', 'UNKNOWN'];

  it('holds', async () => {
    const calls = allCalls(sims);
    const [oldest, newest] = [calls[calls.length - 1]!.startedAt.getTime(), calls[0]!.startedAt.getTime()];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.constantFrom('forward', 'backward'),
        fc.record(
          {
            providers: fc.subarray(PROVIDERS, { minLength: 1 }),
            direction: fc.constantFrom('INBOUND', 'OUTBOUND'),
            statuses: fc.subarray(STATUSES, { minLength: 1 }),
            window: fc.tuple(fc.integer({ min: oldest - 1000, max: newest + 1000 }), fc.integer({ min: oldest - 1000, max: newest + 1000 })),
            phoneNumber: fc.constantFrom(SHARED_NUMBERS.india, SHARED_NUMBERS.us, '+10000000000'),
          },
          { requiredKeys: [] },
        ),
        async (size, direction, raw) => {
          const { window, ...rest } = raw as { window?: [number, number] } & TruthFilter;
          const filter: TruthFilter = { ...rest };
          if (window) {
            filter.startedAfter = new Date(Math.min(...window)).toISOString();
            filter.startedBefore = new Date(Math.max(...window)).toISOString();
          }
          const walked = await walk(h, direction, size, filter);
          expect(walked.ids).toEqual(idsOf(applyFilter(calls, filter)));
        },
      ),
      { numRuns: Number(process.env.SCAN_BUDGET_RUNS ?? 40), seed: Number(process.env.PROPERTY_SEED ?? 20261124), endOnFailure: true },
    );
  }, 240_000);
});
