/**
 * Cursor Connections rules, bad arguments, bad cursors, totalCount, push-down and upstream economy.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { createHmac } from 'node:crypto';
import { startSimulators } from '../../src/demo.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, idsOf } from '../helpers/truth.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SWITCHBOARD_CURSOR_SECRET: SECRET } });
});

const SECRET = 'pagination-test-secret-of-32-chars!';
afterAll(() => h.stop());

async function ok(variables: Record<string, unknown>, query = PAGE): Promise<any> {
  const res: GraphQLResponse<any> = await h.gql(query, variables);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.calls;
}

async function badInput(variables: Record<string, unknown>, argument: RegExp, query = PAGE): Promise<void> {
  const res = await h.gql(query, variables);
  expect(res.status).toBeLessThan(500);
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
  expect(res.body.errors![0]!.message).toMatch(argument);
  expect(res.text).not.toMatch(/stacktrace|\n\s+at /);
}

describe('page rules', () => {
  it('defaults to 20, newest first, with exact pageInfo', async () => {
    const page = await ok({});
    const truth = idsOf(allCalls(h.sims));
    expect(page.edges.map((e: any) => e.node.id)).toEqual(truth.slice(0, 20));
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: page.edges[0].cursor,
      endCursor: page.edges[19].cursor,
    });
  });

  it('knows exactly when the last page is reached, and the empty page has null cursors', async () => {
    const filter = { providers: ['CINNOX'], statuses: ['BUSY'] };
    const truth = idsOf(applyFilter(allCalls(h.sims), filter));
    expect(truth.length).toBeGreaterThan(3);
    const exact = await ok({ first: truth.length, filter });
    expect(exact.pageInfo.hasNextPage).toBe(false);
    const short = await ok({ first: truth.length - 1, filter });
    expect(short.pageInfo.hasNextPage).toBe(true);
    const after = await ok({ first: 5, after: exact.pageInfo.endCursor, filter });
    expect(after).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null } });
    const zero = await ok({ first: 0 });
    expect(zero.edges).toEqual([]);
    expect(zero.pageInfo.hasNextPage).toBe(true);
  });

  it('pages backward with the same edge order and exact hasPreviousPage', async () => {
    const truth = idsOf(allCalls(h.sims));
    const forward = await ok({ first: 30 });
    const back = await ok({ last: 10, before: forward.edges[25].cursor });
    expect(back.edges.map((e: any) => e.node.id)).toEqual(truth.slice(15, 25));
    expect(back.pageInfo.hasPreviousPage).toBe(true);
    expect(back.pageInfo.hasNextPage).toBe(true);
    const top = await ok({ last: 10, before: forward.edges[10].cursor });
    expect(top.edges.map((e: any) => e.node.id)).toEqual(truth.slice(0, 10));
    expect(top.pageInfo.hasPreviousPage).toBe(false);
    const oldest = await ok({ last: 4 });
    expect(oldest.edges.map((e: any) => e.node.id)).toEqual(truth.slice(-4));
    expect(oldest.pageInfo.hasNextPage).toBe(false);
  });

  it('honours after and before together', async () => {
    const truth = idsOf(allCalls(h.sims));
    const page = await ok({ first: 30 });
    const between = await ok({ first: 50, after: page.edges[3].cursor, before: page.edges[9].cursor });
    expect(between.edges.map((e: any) => e.node.id)).toEqual(truth.slice(4, 9));
    // Five calls lie between the cursors, not more than 50: nothing follows within them.
    expect(between.pageInfo.hasNextPage).toBe(false);
  });
});

/**
 * pageInfo as the Cursor Connections Specification computes it (relay.dev/graphql/connections.htm,
 * "PageInfo"), for every combination of arguments. With `first`, hasNextPage says whether more than
 * `first` edges lie between `after` and `before` (the edges ApplyCursorsToEdges keeps), and
 * hasPreviousPage whether `after` is set (the after cursor's own call precedes the page); with
 * `last`, the mirror. `#n` below is the n-th call of the whole list (1-based), `c(n)` its cursor.
 */
describe('pageInfo for every combination of first/last/after/before', () => {
  let truth: string[];
  let cursors: string[];
  const c = (n: number) => cursors[n - 1]!;
  /** Calls #from..#to (1-based, inclusive); empty when from > to. */
  const calls = (from: number, to: number) => truth.slice(from - 1, Math.max(from - 1, to));

  beforeAll(async () => {
    truth = idsOf(allCalls(h.sims));
    cursors = (await ok({ first: 30 })).edges.map((e: any) => e.cursor);
  });

  type Case = [string, () => Record<string, unknown>, () => string[], boolean, boolean];
  const cases: Case[] = [
    // first
    ['first: 7', () => ({ first: 7 }), () => calls(1, 7), true, false],
    ['first: 7, after #5', () => ({ first: 7, after: c(5) }), () => calls(6, 12), true, true],
    // The case: #6–#8 lie between the cursors, fewer than 7: no next page.
    ['first: 7, after #5, before #9', () => ({ first: 7, after: c(5), before: c(9) }), () => calls(6, 8), false, true],
    ['first: 3, after #5, before #9 (exactly fills)', () => ({ first: 3, after: c(5), before: c(9) }), () => calls(6, 8), false, true],
    ['first: 2, after #5, before #9', () => ({ first: 2, after: c(5), before: c(9) }), () => calls(6, 7), true, true],
    ['first: 0, after #5, before #9', () => ({ first: 0, after: c(5), before: c(9) }), () => [], true, true],
    ['first: 0, after #5, before #6 (nothing between)', () => ({ first: 0, after: c(5), before: c(6) }), () => [], false, true],
    ['first: 7, after #5, before #6 (nothing between)', () => ({ first: 7, after: c(5), before: c(6) }), () => [], false, true],
    ['first: 7, after #9, before #5 (crossed)', () => ({ first: 7, after: c(9), before: c(5) }), () => [], false, true],
    ['first: 7, before #9', () => ({ first: 7, before: c(9) }), () => calls(1, 7), true, false],
    ['first: 20, before #9', () => ({ first: 20, before: c(9) }), () => calls(1, 8), false, false],
    ['first: 8, before #9 (exactly fills)', () => ({ first: 8, before: c(9) }), () => calls(1, 8), false, false],
    // no size: first = 20 forward, except before alone pages backward (last = 20)
    ['after #5', () => ({ after: c(5) }), () => calls(6, 25), true, true],
    ['after #5, before #9', () => ({ after: c(5), before: c(9) }), () => calls(6, 8), false, true],
    ['before #9', () => ({ before: c(9) }), () => calls(1, 8), true, false],
    ['before #25', () => ({ before: c(25) }), () => calls(5, 24), true, true],
    // last
    ['last: 3, before #9', () => ({ last: 3, before: c(9) }), () => calls(6, 8), true, true],
    ['last: 8, before #9 (exactly fills)', () => ({ last: 8, before: c(9) }), () => calls(1, 8), true, false],
    // The mirror of the case: #6–#8 lie between the cursors, not more than 3/7: no previous page.
    ['last: 3, after #5, before #9 (exactly fills)', () => ({ last: 3, after: c(5), before: c(9) }), () => calls(6, 8), true, false],
    ['last: 7, after #5, before #9', () => ({ last: 7, after: c(5), before: c(9) }), () => calls(6, 8), true, false],
    ['last: 2, after #5, before #9', () => ({ last: 2, after: c(5), before: c(9) }), () => calls(7, 8), true, true],
    ['last: 0, after #5, before #9', () => ({ last: 0, after: c(5), before: c(9) }), () => [], true, true],
    ['last: 3, after #5, before #6 (nothing between)', () => ({ last: 3, after: c(5), before: c(6) }), () => [], true, false],
    ['last: 3, after #9, before #5 (crossed)', () => ({ last: 3, after: c(9), before: c(5) }), () => [], true, false],
  ];

  it.each(cases)('%s', async (_name, args, expected, hasNextPage, hasPreviousPage) => {
    const page = await ok(args());
    const ids = expected();
    expect(page.edges.map((e: any) => e.node.id)).toEqual(ids);
    expect(page.pageInfo).toEqual({
      hasNextPage,
      hasPreviousPage,
      startCursor: page.edges[0]?.cursor ?? null,
      endCursor: page.edges[page.edges.length - 1]?.cursor ?? null,
    });
    // The cursors of the page are the cursors of those calls on the first page.
    if (ids.length > 0) expect(page.pageInfo.startCursor).toBe(c(truth.indexOf(ids[0]!) + 1));
  });

  it('last: 3, after #5 (the three oldest calls)', async () => {
    const page = await ok({ last: 3, after: c(5) });
    expect(page.edges.map((e: any) => e.node.id)).toEqual(truth.slice(-3));
    expect(page.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: page.edges[0].cursor, endCursor: page.edges[2].cursor });
  });
});

describe('bad arguments', () => {
  it.each([
    [{ first: -1 }, /"first"/],
    [{ first: 101 }, /"first"/],
    [{ last: -5 }, /"last"/],
    [{ last: 1000 }, /"last"/],
    [{ first: 5, last: 5 }, /"first".*"last"/],
    [{ filter: { startedAfter: '2026-02-01T00:00:00Z', startedBefore: '2026-01-01T00:00:00Z' } }, /filter\.startedAfter/],
    [{ filter: { phoneNumber: 'call me maybe' } }, /filter\.phoneNumber/],
    [{ filter: { startedAfter: 'yesterday' } }, /DateTime/],
    [{ after: 'not-a-cursor' }, /"after"/],
    [{ before: 'not.a.cursor' }, /"before"/],
  ])('%j is BAD_USER_INPUT naming the argument', async (variables, argument) => {
    await badInput(variables, argument);
  });

  it('refuses an altered cursor, one issued for another filter, and a stale one', async () => {
    const page = await ok({ first: 2 });
    const cursor: string = page.edges[1].cursor;
    const [data, signature] = cursor.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(data, 'base64url').toString());
    payload.p[0] -= 1000;
    const altered = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
    await badInput({ first: 2, after: altered }, /"after".*altered/);
    await badInput({ first: 2, after: cursor, filter: { providers: ['UNPOD'] } }, /another filter/);
    // A correctly signed cursor of an older format: test/unit/tokens.test.ts (the codec, pinned).
    // Signed with another server's secret.
    const foreign = createHmac('sha256', 'another-secret').update(data).digest().subarray(0, 16).toString('base64url');
    await badInput({ first: 2, after: `${data}.${foreign}` }, /"after"/);
  });

  it('refuses every other spelling of an issued cursor, though it decodes to the same bytes', async () => {
    const page = await ok({ first: 2 });
    const cursor: string = page.edges[1].cursor;
    expect((await ok({ first: 2, after: cursor })).edges).toHaveLength(2);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The signature's last character carries unused pad bits: the characters that differ only there.
    const sameBytes = [...alphabet]
      .map((c) => cursor.slice(0, -1) + c)
      .filter((t) => t !== cursor && Buffer.from(t.split('.')[1]!, 'base64url').equals(Buffer.from(cursor.split('.')[1]!, 'base64url')));
    expect(sameBytes.length).toBeGreaterThan(0);
    const [data, signature] = cursor.split('.') as [string, string];
    const spellings = [...sameBytes, `${cursor}=`, `${cursor}==`, `${cursor};`, `${cursor} `, `${data}.${signature.slice(0, 5)}\n${signature.slice(5)}`, cursor.replaceAll('-', '+').replaceAll('_', '/')];
    for (const spelling of spellings.filter((s) => s !== cursor)) {
      await badInput({ first: 2, after: spelling }, /"after".*not a cursor this server issued/);
      await badInput({ last: 2, before: spelling }, /"before".*not a cursor this server issued/);
    }
  });
});

describe('filters and totalCount', () => {
  const COUNT = `query($filter: CallFilter) { calls(first: 1, filter: $filter) { totalCount } }`;

  it('is exact when every provider involved reports a count for the filter, else null', async () => {
    const calls = allCalls(h.sims);
    const count = async (filter: object) => (await ok({ filter }, COUNT)).totalCount;
    expect(await count({ providers: ['UNPOD'] })).toBe(applyFilter(calls, { providers: ['UNPOD'] }).length);
    expect(await count({ providers: ['UNPOD'], direction: 'INBOUND' })).toBe(
      applyFilter(calls, { providers: ['UNPOD'], direction: 'INBOUND' }).length,
    );
    expect(await count({ providers: ['UNPOD', 'TWENTY2'] })).toBe(applyFilter(calls, { providers: ['UNPOD', 'TWENTY2'] }).length);
    // Twenty2 cannot filter by status upstream; CINNOX and TalkStack report no count.
    expect(await count({ providers: ['UNPOD', 'TWENTY2'], statuses: ['COMPLETED'] })).toBeNull();
    expect(await count({})).toBeNull();
  });

  it('counts the same on a page reached by cursor, with one extra request per connection', async () => {
    const filter = { providers: ['UNPOD', 'TWENTY2'] };
    const QUERY = `query($after: String, $filter: CallFilter) { calls(first: 5, after: $after, filter: $filter) { totalCount pageInfo { endCursor } } }`;
    const first = await ok({ filter }, QUERY);
    h.resetCounters();
    const second = await ok({ filter, after: first.pageInfo.endCursor }, QUERY);
    expect(second.totalCount).toBe(first.totalCount);
    expect(second.totalCount).toBe(applyFilter(allCalls(h.sims), filter).length);
    // One page request and one count request per connection.
    expect(h.sims.unpod.server.count()).toBe(2);
    expect(h.sims.twenty2.server.count()).toBe(2);
  });

  it('sends no request to a provider the filter excludes', async () => {
    h.resetCounters();
    await ok({ first: 10, filter: { providers: ['UNPOD', 'CINNOX'] } });
    expect(h.sims.twenty2.server.count()).toBe(0);
    expect(h.sims.talkstack.server.count()).toBe(0);
    expect(h.sims.unpod.server.count()).toBeGreaterThan(0);
  });

  it('pushes time and direction to Unpod and applies the rest itself, with the same answer', async () => {
    const filter = {
      providers: ['UNPOD', 'TWENTY2', 'TALKSTACK', 'CINNOX'],
      direction: 'OUTBOUND',
      startedAfter: '2026-10-20T00:00:00Z',
      startedBefore: '2026-11-10T00:00:00Z',
    };
    h.resetCounters();
    const page = await ok({ first: 100, filter });
    const unpodQuery = h.sims.unpod.server.requests[0]!.query;
    expect(unpodQuery).toMatchObject({ call_type: 'outbound', start_date: '2026-10-20T00:00:00.000Z' });
    expect(page.edges.map((e: any) => e.node.id)).toEqual(idsOf(applyFilter(allCalls(h.sims), filter)).slice(0, 100));
  });
});

describe('upstream economy', () => {
  it('costs page 10 no more upstream requests than page 1 across every provider', async () => {
    h.resetCounters();
    let page = await ok({ first: 20 });
    const first = h.upstreamCount();
    for (let i = 2; i <= 9; i++) page = await ok({ first: 20, after: page.pageInfo.endCursor });
    h.resetCounters();
    const tenth = await ok({ first: 20, after: page.pageInfo.endCursor });
    const tenthCount = h.upstreamCount();
    expect(tenth.edges).toHaveLength(20);
    expect(first).toBe(PROVIDER_MODULES.length);
    expect(tenthCount).toBeLessThanOrEqual(first + 1);
    // Each provider was asked for at most 21 rows (a page plus the one that proves hasNextPage).
    expect(Number(h.sims.unpod.server.requests[0]!.query.page_size)).toBeLessThanOrEqual(21);
  });
});

describe('ties the provider orders its own way', () => {
  it('a backward page after calls arrived still returns the tie sibling the provider lists after the cursor', async () => {
    const own = await startHarness({
      sims: () => startSimulators({ count: 20 }),
      connections: (sims) => sims.connections.filter((c) => c.provider === 'TWENTY2'),
    });
    try {
      const sim = own.sims.twenty2;
      const t = new Date(Date.parse(sim.rows[0]!.started_at) + 60_000).toISOString().replace('.000Z', 'Z');
      sim.addCall({ call_id: 'call_0000000000', started_at: t });
      sim.addCall({ call_id: 'call_ffffffffff', started_at: t });
      // Twenty2 lists call_ffff… first; Switchboard breaks the tie by id, call_0000… first.
      expect(sim.rows.slice(0, 2).map((row) => row.call_id)).toEqual(['call_ffffffffff', 'call_0000000000']);
      const get = async (variables: Record<string, unknown>) => {
        const res: GraphQLResponse<any> = await own.gql(PAGE, variables);
        expect(res.body.errors).toBeUndefined();
        return res.body.data.calls.edges as { cursor: string; node: { id: string } }[];
      };
      const twenty2 = () => idsOf(allCalls(own.sims).filter((call) => call.provider === 'TWENTY2'));
      const [zeros, effs] = await get({ first: 2 });
      expect(effs!.node.id).toBe(twenty2()[1]);
      // A call arrives and pushes both down a row: call_0000… now follows the cursor's page upstream.
      sim.addCall();
      const back = await get({ last: 5, before: effs!.cursor });
      expect(back.map((e) => e.node.id)).toEqual([twenty2()[0], zeros!.node.id]);
    } finally {
      await own.stop();
    }
  });
});
