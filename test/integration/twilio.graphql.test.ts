/**
 * Twilio through the whole API: GraphQL over HTTP against every provider's simulator (demo mode's
 * connections), Twilio's quirks: its filters against the core's, recordings asked only when
 * selected (one Recordings request per call, in one batch, cached once the call ended).
 */
import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { startSimulators } from '../../src/demo.js';
import { twilio as twilioModule } from '../../src/providers/twilio/module.js';
import type { TwilioSimulator } from '../../src/providers/twilio/simulator.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

/** Final statuses of calls that never connected: their recordings are known to be none (src/providers/twilio/map.ts). */
const NEVER_CONNECTED = ['busy', 'no-answer', 'canceled', 'failed'];

describe('Twilio over GraphQL', () => {
  let twilio: TwilioSimulator;
  let harness: Harness;
  let all: CallRecord[];

  beforeAll(async () => {
    harness = await startHarness({ sims: () => startSimulators({ count: 120 }) });
    twilio = harness.sims.twilio;
    all = twilioModule.simulator.calls(twilio, {});
  });
  afterAll(async () => {
    await harness?.stop();
  });
  beforeEach(() => {
    twilio.server.resetCounters();
    twilio.server.clearFaults();
    harness.batches.length = 0;
  });

  /** Every Twilio call the API returns for `filter`, walking forward `first` at a time. */
  async function walk(filter: Record<string, unknown>, fields = 'providerCallId status cost { amount currency } startedAt') {
    const nodes: Record<string, unknown>[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const { body }: GraphQLResponse = await harness.gql(
        `query($after: String, $filter: CallFilter) { calls(first: 50, after: $after, filter: $filter) { nodes { provider ${fields} } pageInfo { hasNextPage endCursor } } }`,
        { after, filter },
      );
      expect(body.errors).toBeUndefined();
      nodes.push(...body.data.calls.nodes);
      if (!body.data.calls.pageInfo.hasNextPage) return nodes;
      after = body.data.calls.pageInfo.endCursor;
    }
    throw new Error('the walk does not end');
  }

  const keysOf = (query: CallQuery) => all.filter((call) => matches(call, query)).map((call) => call.key);

  it('walks every Twilio call exactly once, in order, without a Recordings request', async () => {
    const nodes = await walk({ providers: ['TWILIO'] });
    expect(nodes.map((node) => node.providerCallId)).toEqual(all.map((call) => call.key));
    expect(nodes.map((node) => node.cost)).toEqual(all.map((call) => call.cost));
    expect(twilio.server.count('/Recordings.json')).toBe(0);
  });

  it('walks them backward too, from the end, each once', async () => {
    const keys: string[] = [];
    let before: string | null = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const { body }: GraphQLResponse = await harness.gql(
        `query($before: String) { calls(last: 50, before: $before, filter: { providers: [TWILIO] }) { nodes { providerCallId } pageInfo { hasPreviousPage startCursor } } }`,
        { before },
      );
      expect(body.errors).toBeUndefined();
      keys.unshift(...body.data.calls.nodes.map((node: { providerCallId: string }) => node.providerCallId));
      if (!body.data.calls.pageInfo.hasPreviousPage) break;
      before = body.data.calls.pageInfo.startCursor;
    }
    expect(keys).toEqual(all.map((call) => call.key));
  });

  it.each([
    ['a single status (pushed down)', { statuses: ['BUSY'] }],
    ['INITIATED (not pushed down)', { statuses: ['INITIATED'] }],
    ['a number on either party', { phoneNumber: SHARED_NUMBERS.us }],
    ['a direction', { direction: 'INBOUND' }],
    ['a time window', { startedAfter: '2026-11-01T10:30:00.000Z', startedBefore: '2026-11-12T08:00:00.000Z' }],
  ])('filters by %s exactly as the core would', async (_name, filter) => {
    const query: CallQuery = {
      ...emptyQuery,
      ...(filter as Partial<CallQuery>),
      ...('startedAfter' in filter ? { startedAfter: new Date(filter.startedAfter), startedBefore: new Date(filter.startedBefore) } : {}),
    };
    const nodes = await walk({ providers: ['TWILIO'], ...filter });
    expect(nodes.map((node) => node.providerCallId)).toEqual(keysOf(query));
  });

  it('fetches recordings only when selected, once per call that may have any', async () => {
    const nodes = (await harness.gql(`{ calls(first: 30, filter: { providers: [TWILIO] }) { nodes { providerCallId providerStatus recordings { url expiresAt } } } }`)).body.data.calls.nodes as {
      providerCallId: string;
      providerStatus: string;
      recordings: { url: string }[];
    }[];
    const asked = nodes.filter((node) => !['busy', 'no-answer', 'canceled', 'failed'].includes(node.providerStatus));
    expect(twilio.server.count('/Recordings.json')).toBe(asked.length);
    for (const node of nodes) {
      const wanted = (twilio.recordings.get(node.providerCallId) ?? []).filter((r) => r.status === 'completed');
      expect(node.recordings.map((r) => r.url).sort()).toEqual(
        wanted.map((r) => `${twilio.server.url}${r.uri.replace(/\.json$/, r.encryption_details ? '.wav' : '.mp3')}`).sort(),
      );
    }
  });

  it('asks nothing for the detail fields Twilio does not have (null), and for recordings only when they are selected', async () => {
    await harness.gql(`{ calls(first: 30, filter: { providers: [TWILIO] }) { nodes { id } } }`);
    const lean = twilio.server.count();
    twilio.server.resetCounters();
    const res = await harness.gql(
      `{ calls(first: 30, filter: { providers: [TWILIO] }) { nodes { transcript { url } transcriptText billedDurationSeconds inputParameters outputParameters } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    for (const node of res.body.data.calls.nodes) {
      expect(node).toEqual({ transcript: null, transcriptText: null, billedDurationSeconds: null, inputParameters: null, outputParameters: null });
    }
    expect(twilio.server.count()).toBe(lean);
    expect(twilio.server.count('/Recordings.json')).toBe(0);
    expect(harness.batches).toEqual([]);
  });

  it('asks the recordings of a page in one batch, one request per call that may have any', async () => {
    const res = await harness.gql(`{ calls(first: 30, filter: { providers: [TWILIO] }) { nodes { providerStatus recordings { url } } } }`);
    expect(res.body.errors).toBeUndefined();
    const asked = res.body.data.calls.nodes.filter((node: { providerStatus: string }) => !NEVER_CONNECTED.includes(node.providerStatus));
    expect(harness.batches).toEqual([{ connection: 'twilio/default', kind: 'details', size: asked.length }]);
  });

  it('by id: the look-up (FetchCall) does not answer recordings; selecting them asks the Recordings request after it', async () => {
    const sid = [...twilio.recordings].find(([key, list]) => list.some((r) => r.status === 'completed') && all.some((c) => c.key === key))![0];
    const call = all.find((c) => c.key === sid)!;
    const { encodeCallId } = await import('../../src/calls/ids.js');
    const res = await harness.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { providerCallId recordings { url } } } }`, { ids: [encodeCallId(call)] });
    expect(res.body.errors).toBeUndefined();
    const wanted = twilio.recordings.get(sid)!.filter((r) => r.status === 'completed');
    expect(res.body.data.nodes[0].recordings).toHaveLength(wanted.length);
    expect(twilio.server.requests.map((r) => r.path.replace(/^.*\/Calls\//, ''))).toEqual([`${sid}.json`, `${sid}/Recordings.json`]);
  });

  it('finds a call again by id', async () => {
    const { body } = await harness.gql(`{ calls(first: 3, filter: { providers: [TWILIO] }) { nodes { id providerCallId } } }`);
    const [first] = body.data.calls.nodes as { id: string; providerCallId: string }[];
    twilio.server.resetCounters();
    const again = await harness.gql(`query($id: ID!) { call(id: $id) { providerCallId provider connection } }`, { id: first!.id });
    expect(again.body.data.call).toEqual({ providerCallId: first!.providerCallId, provider: 'TWILIO', connection: 'default' });
  });

  it('a failing Twilio is named, and the other providers still answer', async () => {
    twilio.server.persistentFault = { kind: 'status', status: 500 };
    const { body } = await harness.gql(`{ calls(first: 10) { nodes { provider } } }`);
    expect(body.data.calls.nodes.length).toBe(10);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', provider: 'TWILIO', connection: 'default' });
  });
});

describe('Twilio recordings and the cache of ended calls', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ sims: () => startSimulators({ count: 60 }), env: { SWITCHBOARD_CACHE_MAX_ENTRIES: '1000' } });
  });
  afterAll(() => harness?.stop());

  it('asks the recordings of an ended call once; those of a call still in progress every time', async () => {
    const twilio = harness.sims.twilio;
    const query = `{ calls(first: 60, filter: { providers: [TWILIO] }) { nodes { providerCallId status providerStatus recordings { url } } } }`;
    const first = await harness.gql(query);
    expect(first.body.errors).toBeUndefined();
    const nodes: { providerCallId: string; status: string; providerStatus: string }[] = first.body.data.calls.nodes;
    const asked = nodes.filter((n) => !NEVER_CONNECTED.includes(n.providerStatus));
    const inFlight = asked.filter((n) => ['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS'].includes(n.status));
    expect(asked.length).toBeGreaterThan(inFlight.length);
    expect(twilio.server.count('/Recordings.json')).toBe(asked.length);
    twilio.server.resetCounters();
    const second = await harness.gql(query);
    expect(second.body.data).toEqual(first.body.data);
    expect(twilio.server.requests.filter((r) => r.path.endsWith('/Recordings.json')).map((r) => /Calls\/([^/]+)\//.exec(r.path)![1]).sort()).toEqual(
      inFlight.map((n) => n.providerCallId).sort(),
    );
  });
});
