/**
 * One unreadable row never takes its connection down (issue 12, 4(b)): for every provider, a row
 * the schema cannot read — first, middle or last of the upstream page, in a list, a by-id answer or
 * a detail body — costs that row alone. The other rows come back; the bad one is a
 * PROVIDER_DATA_INVALID error naming provider, connection and, where it reads, the provider's id,
 * on the pages that would have held it, logged once, without its content. Over real HTTP against
 * the simulators, which send the row unreadable while filing it by its real data.
 */
import { encodeCallId } from '../../src/calls/ids.js';
import { type CallRecord, type Position, comparePositions, positionOf } from '../../src/calls/model.js';
import { startSimulators } from '../../src/demo.js';
import type { UnreadableRows } from '../../src/simulation/harness.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';
import { allCalls, applyFilter, idsOf } from '../helpers/truth.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';

type Provider = 'TWENTY2' | 'UNPOD' | 'CINNOX' | 'TALKSTACK' | 'TWILIO';
type Raw = Record<string, unknown>;

interface ProviderCase {
  provider: Provider;
  /** Where a list body holds its rows, as error paths name it. */
  listPath: string;
  /** The field holding the start, and a value of it the provider's schema cannot read. */
  startField: string;
  badStart: unknown;
  /** Another field made unreadable while the start still reads: the row has an exact place. */
  otherField: string;
  badOther: unknown;
  /** The field holding the provider's id. */
  idField: string;
}

const CASES: ProviderCase[] = [
  // Epoch seconds where an ISO 8601 text is expected.
  { provider: 'TWENTY2', listPath: 'calls', startField: 'started_at', badStart: 1763560005, otherField: 'status', badOther: null, idField: 'call_id' },
  // A day that does not exist.
  { provider: 'UNPOD', listPath: 'data', startField: 'creation_time', badStart: '2026-02-30T05:57:00Z', otherField: 'call_status', badOther: 404, idField: 'id' },
  // A locale format, not RFC 3339.
  { provider: 'CINNOX', listPath: 'result', startField: 'callDate', badStart: '19/11/2026 14:06', otherField: 'callDuration', badOther: '125', idField: 'callID' },
  // 31 November.
  { provider: 'TALKSTACK', listPath: 'calls', startField: 'date', badStart: 'Thu, 31 Nov 2026 14:06:45 +0000', otherField: 'seconds', badOther: -5, idField: 'callSid' },
  // 31 November in RFC 2822; a duration that is no whole count of seconds.
  { provider: 'TWILIO', listPath: 'calls', startField: 'start_time', badStart: 'Tue, 31 Nov 2026 14:06:45 +0000', otherField: 'duration', badOther: '1.5', idField: 'sid' },
];

interface Sim {
  rows: Raw[];
  unreadable: UnreadableRows<Raw>;
}

const simOf = (h: Harness, provider: Provider): Sim =>
  h.sims[provider.toLowerCase() as Lowercase<Provider>] as unknown as Sim;

/** The call a raw row is, by its real data (the simulator keeps it). */
function recordOf(h: Harness, provider: Provider, row: Raw): CallRecord {
  const sim = simOf(h, provider);
  const index = sim.rows.indexOf(row);
  const own = allCalls(h.sims, { withUnreadable: true }).filter((c) => c.provider === provider);
  // The provider's list order is the merged order within one connection, up to ties: match by key.
  const byKey = new Map(own.map((c) => [c.key, c]));
  const id = row[CASES.find((c) => c.provider === provider)!.idField];
  if (typeof id === 'string' && byKey.has(id)) return byKey.get(id)!;
  // Id-less Unpod rows: the truth record at the same creation_time, source and destination.
  const match = own.find(
    (c) =>
      c.providerCallId === null &&
      c.startedAt.getTime() === Date.parse(String(row.creation_time)) &&
      c.from.rawPhoneNumber === row.source_number &&
      c.to.rawPhoneNumber === row.destination_number,
  );
  if (!match) throw new Error(`no record for ${provider} row ${index}`);
  return match;
}

const PAGE = `query Page($first: Int, $after: String, $last: Int, $before: String, $providers: [Provider!]) {
  calls(first: $first, after: $after, last: $last, before: $before, filter: { providers: $providers }) {
    edges { cursor node { id providerCallId } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface Page {
  ids: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
  errors: NonNullable<GraphQLResponse['body']['errors']>;
  text: string;
}

async function page(h: Harness, variables: Record<string, unknown>): Promise<Page> {
  const res = await h.gql(PAGE, variables);
  expect(res.status).toBe(200);
  const calls = res.body.data?.calls;
  expect(calls).toBeTruthy();
  return {
    ids: calls.edges.map((e: { node: { id: string } }) => e.node.id),
    ...calls.pageInfo,
    errors: res.body.errors ?? [],
    text: res.text,
  };
}

const invalidErrors = (p: { errors: Page['errors'] }) =>
  p.errors.filter((e) => e.extensions?.code === 'PROVIDER_DATA_INVALID');

const logLines = (h: Harness) =>
  h.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'provider_data_invalid');

describe('unreadable rows', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sims: () => startSimulators({ count: 40 }) });
  });
  afterAll(() => h.stop());
  afterEach(() => {
    for (const c of CASES) simOf(h, c.provider).unreadable.clear();
    h.sims.twenty2.unreadableDetail.clear();
  });

  describe.each(CASES)('$provider', (c) => {
    const sim = () => simOf(h, c.provider);
    const readableIds = () => idsOf(applyFilter(allCalls(h.sims), { providers: [c.provider] }));

    it.each([
      ['first', 0],
      ['in the middle of', 5],
      ['last', 10],
    ] as const)('a row with an unreadable start %s the upstream page: the others come back, it is named', async (_where, index) => {
      const row = sim().rows[index]!;
      const id = typeof row[c.idField] === 'string' ? (row[c.idField] as string) : null;
      sim().unreadable.set(row, { [c.startField]: c.badStart });
      h.logs.length = 0;
      // first: 10 reads 11 rows upstream: index 10 is the last row of that page.
      const p = await page(h, { first: 10, providers: [c.provider] });
      expect(p.ids).toEqual(readableIds().slice(0, 10));
      expect(p.hasNextPage).toBe(true);
      expect(p.errors).toEqual([
        {
          message: expect.stringContaining(`${c.listPath}[${index}].${c.startField}: `),
          path: ['calls'],
          extensions: { code: 'PROVIDER_DATA_INVALID', provider: c.provider, connection: 'default', ...(id ? { providerCallId: id } : {}) },
        },
      ]);
      expect(p.errors[0]!.message).toMatch(/connection "default" sent a call Switchboard could not read/);
      // Never the row's content: not the bad value, not another field.
      expect(p.text).not.toContain(String(c.badStart));
      // Logged once, at warn, by provider, connection, id and path only.
      const lines = logLines(h);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 40, provider: c.provider, connection: 'default', providerCallId: id, problem: expect.stringContaining(`${c.listPath}[${index}].${c.startField}`) });
      expect(JSON.stringify(lines[0])).not.toContain(String(c.badStart));
      await page(h, { first: 10, providers: [c.provider] });
      expect(logLines(h)).toHaveLength(1);
    });

    it('a row whose start reads but another field does not is named on the one page that holds its place', async () => {
      const row = sim().rows[7]!;
      sim().unreadable.set(row, { [c.otherField]: c.badOther });
      const reported: boolean[] = [];
      let after: string | null = null;
      const ids: string[] = [];
      for (let n = 0; n < 3; n++) {
        const p: Page = await page(h, { first: 5, after, providers: [c.provider] });
        ids.push(...p.ids);
        reported.push(invalidErrors(p).length > 0);
        for (const error of invalidErrors(p)) expect(error.message).toContain(`.${c.otherField}: `);
        after = p.endCursor;
      }
      // Rows 0–6 and 8–… read: page 2 (rows 5, 6, 8, 9, 10) holds row 7's place.
      expect(reported).toEqual([false, true, false]);
      expect(ids).toEqual(readableIds().slice(0, 15));
    });

    it('a look-up of an unreadable row fails that key alone: nodes, call, node, _entities', async () => {
      const [before, bad, after] = [sim().rows[19]!, sim().rows[20]!, sim().rows[21]!];
      const [beforeId, badId, afterId] = [before, bad, after].map((row) => encodeCallId(recordOf(h, c.provider, row)));
      const id = typeof bad[c.idField] === 'string' ? (bad[c.idField] as string) : null;
      sim().unreadable.set(bad, { [c.startField]: c.badStart });
      const expectedError = (path: (string | number)[]) => ({
        message: expect.stringContaining('could not read'),
        path,
        locations: expect.any(Array),
        // The id asked for names the call even where its own id field is what failed.
        extensions: { code: 'PROVIDER_DATA_INVALID', provider: c.provider, connection: 'default', ...(id || c.provider !== 'UNPOD' ? { providerCallId: id ?? expect.any(String) } : {}) },
      });

      const nodes = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [beforeId, badId, afterId] });
      expect(nodes.body.data).toEqual({ nodes: [{ id: beforeId }, null, { id: afterId }] });
      expect(nodes.body.errors).toEqual([expectedError(['nodes', 1])]);
      expect(nodes.text).not.toContain(String(c.badStart));

      const one = await h.gql(`query($bad: ID!, $good: ID!) { bad: call(id: $bad) { id } node: node(id: $bad) { id } good: call(id: $good) { id } }`, {
        bad: badId,
        good: beforeId,
      });
      expect(one.body.data).toEqual({ bad: null, node: null, good: { id: beforeId } });
      expect(one.body.errors).toHaveLength(2);
      expect(one.body.errors).toEqual(expect.arrayContaining([expectedError(['bad']), expectedError(['node'])]));

      const entities = await h.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }`, {
        r: [badId, afterId].map((value) => ({ __typename: 'Call', id: value })),
      });
      expect(entities.body.data).toEqual({ _entities: [null, { id: afterId }] });
      expect(entities.body.errors).toEqual([expectedError(['_entities', 0])]);
    });

    it('totalCount is the provider\'s count: the unreadable row counts, named beside it', async () => {
      sim().unreadable.set(sim().rows[3]!, { [c.startField]: c.badStart });
      const res = await h.gql(`{ calls(first: 5, filter: { providers: [${c.provider}] }) { totalCount nodes { id } } }`);
      // Twenty2 and Unpod report a count; CINNOX and TalkStack none (null, never an estimate).
      const counted = c.provider === 'TWENTY2' || c.provider === 'UNPOD';
      expect(res.body.data.calls.totalCount).toBe(counted ? sim().rows.length : null);
      expect(res.body.data.calls.nodes).toHaveLength(5);
      expect(invalidErrors(res.body as Page)).toHaveLength(1);
    });
  });

  it('an id-less Unpod row that does not read fails the look-ups it may be, never answers null for them', async () => {
    const unpod = h.sims.unpod;
    const bad = unpod.rows.find((row, i) => i > 5 && row.id === undefined)!;
    const badId = encodeCallId(recordOf(h, 'UNPOD', bad as unknown as Raw));
    unpod.unreadable.set(bad, { creation_time: 'yesterday' });
    const res = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [badId] });
    expect(res.body.data).toEqual({ nodes: [null] });
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: ['nodes', 0], extensions: { code: 'PROVIDER_DATA_INVALID', provider: 'UNPOD', connection: 'default' } }),
    ]);
  });

  it('a Twenty2 detail body that does not read fails that call\'s detail fields alone', async () => {
    const row = h.sims.twenty2.rows[2]!;
    h.sims.twenty2.unreadableDetail.set(row, (body) => ({ ...body, transcript: { url: 42 } }));
    const res = await h.gql(`{ calls(first: 5, filter: { providers: [TWENTY2] }) { nodes { providerCallId transcript { url } billedDurationSeconds } } }`);
    const nodes = res.body.data.calls.nodes;
    const listed = allCalls(h.sims).filter((call) => call.provider === 'TWENTY2').slice(0, 5);
    expect(nodes.map((n: { providerCallId: string }) => n.providerCallId)).toEqual(listed.map((call) => call.key));
    const at = listed.findIndex((call) => call.key === row.call_id);
    expect(nodes[at]).toEqual({ providerCallId: row.call_id, transcript: null, billedDurationSeconds: null });
    expect(nodes.filter((n: { billedDurationSeconds: number | null }) => n.billedDurationSeconds !== null)).toHaveLength(4);
    expect(res.body.errors).toHaveLength(2);
    for (const error of res.body.errors!) {
      expect(error.path?.slice(0, 3)).toEqual(['calls', 'nodes', at]);
      expect(error.message).toContain('transcript.url: expected string');
      expect(error.extensions).toEqual({ code: 'PROVIDER_DATA_INVALID', provider: 'TWENTY2', connection: 'default', providerCallId: row.call_id });
    }
  });

  it('an unreadable row is no upstream failure: /health stays ok', async () => {
    for (const c of CASES) simOf(h, c.provider).unreadable.set(simOf(h, c.provider).rows[0]!, { [c.startField]: c.badStart });
    const res = await h.gql(`{ calls(first: 5) { nodes { id } } }`);
    expect(invalidErrors(res.body as Page).map((e) => e.extensions?.provider).sort()).toEqual(CASES.map((c) => c.provider).sort());
    const health = (await (await fetch(h.server.url.replace('/graphql', '/health'))).json()) as { connections: { state: string }[] };
    expect(health.connections.map((c: { state: string }) => c.state)).toEqual(h.sims.connections.map(() => 'ok'));
  });
});

describe('walking past unreadable rows', () => {
  let h: Harness;
  /** Per provider: the rows sent unreadable, and whether each keeps a readable start. */
  const bad: { provider: Provider; row: Raw; exact: boolean; id: string | null }[] = [];

  beforeAll(async () => {
    h = await startHarness({ sims: () => startSimulators({ count: 40 }) });
    for (const c of CASES) {
      const sim = simOf(h, c.provider);
      const last = sim.rows.length - 1;
      // Errors tell bad rows apart by id: give the Unpod ones an id (about half its rows have none).
      if (c.provider === 'UNPOD') for (const i of [0, 12, 13, 20, last]) sim.rows[i]!.id ??= `call_bad${i}`;
      const mark = (index: number, fields: Raw, exact = false) => {
        const row = sim.rows[index]!;
        sim.unreadable.set(row, fields);
        const id = typeof row[c.idField] === 'string' && !(c.idField in fields) ? (row[c.idField] as string) : null;
        bad.push({ provider: c.provider, row, exact, id });
      };
      // The first and last of the provider's list, two in a row, one with its place, one without an id.
      mark(0, { [c.startField]: c.badStart });
      mark(12, { [c.startField]: c.badStart });
      mark(13, { [c.startField]: c.badStart });
      mark(20, { [c.otherField]: c.badOther }, true);
      mark(27, { [c.idField]: undefined, [c.startField]: c.badStart });
      mark(last, { [c.startField]: c.badStart });
    }
  });
  afterAll(() => h.stop());

  /** Which bad row an error names: by its id, or the one of its provider without one. */
  function which(error: Page['errors'][number]) {
    const { provider, providerCallId } = error.extensions as { provider: Provider; providerCallId?: string };
    const found = bad.filter((b) => b.provider === provider && b.id === (providerCallId ?? null));
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  // "Any position at instant t": as the pagination docs define a bad row's stretch.
  const firstAt = (t: number): Position => [t, -1, '', ''];
  const lastAt = (t: number): Position => [t, 99, '', ''];

  /** Where a bad row truly is: its own position, or between its readable neighbours' instants. */
  function truePlace(b: (typeof bad)[number]): { newest: Position | null; oldest: Position | null } {
    const record = recordOf(h, b.provider, b.row);
    if (b.exact) return { newest: positionOf(record), oldest: positionOf(record) };
    const sim = simOf(h, b.provider);
    const at = sim.rows.indexOf(b.row);
    const readable = (i: number) => i >= 0 && i < sim.rows.length && !sim.unreadable.has(sim.rows[i]!);
    let before = at - 1;
    while (before >= 0 && !readable(before)) before--;
    let after = at + 1;
    while (after < sim.rows.length && !readable(after)) after++;
    const time = (i: number) => recordOf(h, b.provider, sim.rows[i]!).startedAt.getTime();
    return {
      newest: before >= 0 ? firstAt(time(before)) : null,
      oldest: after < sim.rows.length ? lastAt(time(after)) : null,
    };
  }

  /** Whether a bad row's true place meets a page's span (newest end exclusive, oldest inclusive, null open). */
  function near(place: ReturnType<typeof truePlace>, newest: Position | null, oldest: Position | null): boolean {
    if (place.oldest && newest && comparePositions(place.oldest, newest) <= 0) return false;
    if (place.newest && oldest && comparePositions(place.newest, oldest) > 0) return false;
    return true;
  }

  const positionById = () => new Map(allCalls(h.sims).map((c) => [encodeCallId(c), positionOf(c)]));

  it.each([1, 4, 9, 25])('forward in pages of %i: every readable call once, every bad row named, never far from it', async (size) => {
    const truth = idsOf(allCalls(h.sims));
    const positions = positionById();
    const walked: string[] = [];
    const named = new Set<(typeof bad)[number]>();
    let after: string | null = null;
    let previousLast: Position | null = null;
    for (let n = 0; n < 1000; n++) {
      const p: Page = await page(h, { first: size, after });
      walked.push(...p.ids);
      expect(p.errors.filter((e) => e.extensions?.code !== 'PROVIDER_DATA_INVALID')).toEqual([]);
      const last = p.hasNextPage ? positions.get(p.ids[p.ids.length - 1]!)! : null;
      for (const error of invalidErrors(p)) {
        const b = which(error);
        named.add(b);
        expect({ page: n, row: b.id, near: near(truePlace(b), previousLast, last) }).toEqual({ page: n, row: b.id, near: true });
      }
      if (!p.hasNextPage) break;
      after = p.endCursor;
      previousLast = last;
    }
    expect(walked).toEqual(truth);
    expect([...named].length).toBe(bad.length);
  }, 120_000);

  it.each([4, 25])('backward in pages of %i: every readable call once, every bad row named, never far from it', async (size) => {
    const truth = idsOf(allCalls(h.sims));
    const positions = positionById();
    const walked: string[] = [];
    const named = new Set<(typeof bad)[number]>();
    let before: string | null = null;
    let previousFirst: Position | null = null;
    for (let n = 0; n < 1000; n++) {
      const p: Page = await page(h, { last: size, before });
      walked.unshift(...p.ids);
      expect(p.errors.filter((e) => e.extensions?.code !== 'PROVIDER_DATA_INVALID')).toEqual([]);
      const first = p.hasPreviousPage ? positions.get(p.ids[0]!)! : null;
      for (const error of invalidErrors(p)) {
        const b = which(error);
        named.add(b);
        // A backward page stands for [first edge, before): the mirror of the forward span.
        const place = truePlace(b);
        const meets =
          !(place.oldest && first && comparePositions(place.oldest, first) < 0) &&
          !(place.newest && previousFirst && comparePositions(place.newest, previousFirst) >= 0);
        expect({ page: n, row: b.id, near: meets }).toEqual({ page: n, row: b.id, near: true });
      }
      if (!p.hasPreviousPage) break;
      before = p.startCursor;
      previousFirst = first;
    }
    expect(walked).toEqual(truth);
    expect([...named].length).toBe(bad.length);
  }, 120_000);
});

describe('a provider whose rows all stop reading', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startSimulators({ count: 150 }),
      connections: (sims) => sims.connections.filter((c) => c.provider === 'TALKSTACK'),
      // 99 bad rows take 17 pages of 6 to read past; the default scan budget (10) would end the page
      // short after the first calls (a frontier cursor and a SCAN_LIMITED warning), which
      // scanBudget.test.ts covers. Here the question is only what the bad rows cost.
      env: { SWITCHBOARD_SCAN_BUDGET: '100' },
    });
  });
  afterAll(() => h.stop());

  const LIST = `{ calls(first: 5) { nodes { providerCallId } } }`;
  const garble = (count: number) => {
    const sim = h.sims.talkstack;
    sim.unreadable.clear();
    for (const row of sim.rows.slice(0, count)) sim.unreadable.set(row, { date: 'Thu, 31 Nov 2026 14:06:45 +0000' });
  };

  it('99 unreadable rows in a row are 99 rows: named, and the calls after them come back', async () => {
    garble(99);
    const res = await h.gql(LIST);
    expect(res.body.data.calls.nodes.map((n: { providerCallId: string }) => n.providerCallId)).toEqual(
      h.sims.talkstack.rows.slice(99, 104).map((row) => row.callSid),
    );
    expect(res.body.errors).toHaveLength(99);
    expect(new Set(res.body.errors!.map((e) => e.extensions?.code))).toEqual(new Set(['PROVIDER_DATA_INVALID']));
  });

  it('100 in a row are the provider failing: one PROVIDER_UNAVAILABLE, and it stops reading there', async () => {
    garble(150);
    h.resetCounters();
    const res = await h.gql(LIST);
    expect(res.body.data.calls.nodes).toEqual([]);
    expect(res.body.errors).toEqual([
      expect.objectContaining({
        path: ['calls'],
        message: expect.stringContaining('sent a response Switchboard could not read: 100 rows in a row could not be read'),
        extensions: { code: 'PROVIDER_UNAVAILABLE', provider: 'TALKSTACK', connection: 'default' },
      }),
    ]);
    // Pages of 6 (a page of 5 and one more): 17 requests hold the first 100 rows, not the 25 of all 150.
    expect(h.upstreamCount()).toBe(17);
  });
});
