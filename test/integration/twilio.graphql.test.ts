/**
 * Twilio through the whole API: GraphQL over HTTP against the four demo simulators plus a Twilio
 * simulator (the lead wires Twilio into demo mode; until then this test adds its connection).
 */
import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import type { ConnectionConfig } from '../../src/config.js';
import { toCallRecord } from '../../src/providers/twilio/map.js';
import { twilioRowSchema } from '../../src/providers/twilio/schema.js';
import { createTwilioSimulator, type TwilioSimulator } from '../../src/providers/twilio/simulator.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

type Connection = Extract<ConnectionConfig, { provider: 'TWILIO' }>;

describe('Twilio over GraphQL', () => {
  let twilio: TwilioSimulator;
  let harness: Harness;
  let all: CallRecord[];

  beforeAll(async () => {
    twilio = createTwilioSimulator({ count: 120 });
    await twilio.server.start();
    const connection: Connection = {
      provider: 'TWILIO',
      connection: 'default',
      settings: { baseUrl: twilio.server.url, accountSid: twilio.credentials.accountSid, authToken: twilio.credentials.authToken },
    };
    harness = await startHarness({ connections: (sims) => [...sims.connections, connection] });
    all = twilio.rows.map((row) => toCallRecord(twilioRowSchema.parse(row), 'default'));
  });
  afterAll(async () => {
    await harness?.stop();
    await twilio.server.close();
  });
  beforeEach(() => {
    twilio.server.resetCounters();
    twilio.server.clearFaults();
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
