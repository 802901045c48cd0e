/**
 * Upstream JSON as real servers send it, over HTTP through the simulators: numeric ids past 2^53
 * (the simulators' `numericKeys` send digit strings as bare JSON numbers), exact money and
 * free-form numbers, and a UTF-8 byte order mark before any body — every provider, list, by-id
 * and detail paths. And a client's POST body with a byte order mark.
 */
import { gzipSync } from 'node:zlib';
import { startSimulators } from '../../src/demo.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

type Provider = import('../../src/calls/model.js').Provider;
interface Listed {
  id: string;
  providerCallId: string | null;
  startedAt: string;
  agentId: string | null;
  from: { rawPhoneNumber: string | null };
  cost: { amount: string; currency: string } | null;
  inputParameters: unknown;
  outputParameters: unknown;
}

let h: Harness;
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  h = await startHarness({
    sims: () => startSimulators({ count: 30 }),
    configure: (c) => ({ ...c, http: { ...c.http, breakerThreshold: 1000 } }),
  });
});
afterAll(() => h.stop());
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
  for (const server of h.sims.servers) {
    server.clearFaults();
    server.numericKeys = new Set();
  }
});

function removeAfterTest<T>(rows: T[], row: T): T {
  cleanups.push(() => {
    const at = rows.indexOf(row);
    if (at >= 0) rows.splice(at, 1);
  });
  return row;
}

const FIELDS = 'id providerCallId startedAt agentId from { rawPhoneNumber } cost { amount currency }';
const DETAIL_FIELDS = `${FIELDS} inputParameters outputParameters`;

async function listed(provider: Provider, fields = FIELDS): Promise<GraphQLResponse<{ calls: { nodes: Listed[] } }>> {
  return h.gql(`query($p: [Provider!]) { calls(first: 100, filter: { providers: $p }) { nodes { ${fields} } } }`, { p: [provider] });
}

async function byId(id: string, fields = FIELDS): Promise<GraphQLResponse<{ node: Listed | null }>> {
  return h.gql(`query($id: ID!) { node(id: $id) { ... on Call { ${fields} } } }`, { id });
}

const findCall = (res: GraphQLResponse<{ calls: { nodes: Listed[] } }>, providerCallId: string) =>
  res.body.data?.calls.nodes.find((call) => call.providerCallId === providerCallId);

describe('numeric ids past 2^53 keep every digit', () => {
  it('Unpod 9007199254740993 and 9007199254740992 in one second: two calls, two ids, both on a first: 1 walk', async () => {
    const { unpod } = h.sims;
    unpod.server.numericKeys = new Set(['id', 'agent_id']);
    const a = removeAfterTest(unpod.rows, unpod.addCall({ id: '9007199254740993', agent_id: '12345678901234567890' }));
    removeAfterTest(unpod.rows, unpod.addCall({ id: '9007199254740992', creation_time: a.creation_time }));

    const seen: Listed[] = [];
    let after: string | null = null;
    for (let page = 0; page < 4; page++) {
      const res: GraphQLResponse = await h.gql(
        `query($after: String) { calls(first: 1, after: $after, filter: { providers: [UNPOD] }) { nodes { ${FIELDS} } pageInfo { endCursor } } }`,
        { after },
      );
      expect(res.body.errors).toBeUndefined();
      seen.push(...res.body.data.calls.nodes);
      after = res.body.data.calls.pageInfo.endCursor;
    }
    const big = seen.filter((call) => call.providerCallId?.startsWith('90071992547409'));
    expect(big.map((call) => call.providerCallId).sort()).toEqual(['9007199254740992', '9007199254740993']);
    expect(new Set(big.map((call) => call.id)).size).toBe(2);
    expect(big.find((call) => call.providerCallId === '9007199254740993')?.agentId).toBe('12345678901234567890');

    // Found again by id (a creation_time window, matched by key), through every entry point.
    for (const call of big) {
      const res = await byId(call.id);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.node?.providerCallId).toBe(call.providerCallId);
    }
    const ids = big.map((call) => call.id);
    const all = await h.gql(
      `query($a: ID!, $ids: [ID!]!, $reps: [_Any!]!) {
        call(id: $a) { providerCallId }
        nodes(ids: $ids) { ... on Call { providerCallId } }
        _entities(representations: $reps) { ... on Call { providerCallId } }
      }`,
      { a: ids[0], ids, reps: ids.map((id) => ({ __typename: 'Call', id })) },
    );
    expect(all.body.errors).toBeUndefined();
    const expected = big.map((call) => ({ providerCallId: call.providerCallId }));
    expect(all.body.data).toEqual({ call: expected[0], nodes: expected, _entities: expected });
  });

  it('Twenty2: numeric call_id in the list, the detail and by id; free-form numbers exact', async () => {
    const { twenty2 } = h.sims;
    twenty2.server.numericKeys = new Set(['call_id', 'agent_id', 'order_id']);
    removeAfterTest(twenty2.rows, twenty2.addCall({ call_id: '9007199254740992' }));
    removeAfterTest(
      twenty2.rows,
      twenty2.addCall(
        { call_id: '9007199254740993', agent_id: '9007199254740995' },
        { input_parameters: { order_id: '123456789012345678901', attempt: 2 }, output_parameters: { order_id: '42' } },
      ),
    );
    const list = await listed('TWENTY2', DETAIL_FIELDS);
    expect(list.body.errors).toBeUndefined();
    expect(findCall(list, '9007199254740992')).toBeDefined();
    const call = findCall(list, '9007199254740993')!;
    expect(call).toMatchObject({
      agentId: '9007199254740995',
      inputParameters: { order_id: '123456789012345678901', attempt: 2 },
      outputParameters: { order_id: 42 }, // a number a double holds stays a number
    });
    const res = await byId(call.id, DETAIL_FIELDS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.node).toMatchObject({ providerCallId: '9007199254740993', inputParameters: { order_id: '123456789012345678901' } });
  });

  it('CINNOX: numeric callID in the list and the callID look-up; a long phone number kept whole', async () => {
    const { cinnox } = h.sims;
    cinnox.server.numericKeys = new Set(['callID', 'phoneNumber']);
    const template = cinnox.rows[0]!;
    removeAfterTest(
      cinnox.rows,
      cinnox.addCall({
        callID: '9007199254740993',
        // A digit string here is sent as a bare JSON number (numericKeys): 20 digits, past any double.
        callerInfo: { ...template.callerInfo, phoneNumber: '85298765432109876543' as unknown as number },
      }),
    );
    const list = await listed('CINNOX');
    expect(list.body.errors).toBeUndefined();
    const call = findCall(list, '9007199254740993')!;
    expect(call.from.rawPhoneNumber).toBe('85298765432109876543');
    const res = await byId(call.id);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.node).toMatchObject({ providerCallId: '9007199254740993', from: { rawPhoneNumber: '85298765432109876543' } });
  });

  it('TalkStack: numeric callSid by list and POST /call; cost and data digits exact', async () => {
    const { talkstack } = h.sims;
    talkstack.server.numericKeys = new Set(['callSid', 'cost', 'ref']);
    removeAfterTest(
      talkstack.rows,
      talkstack.addCall({
        callSid: '9007199254740993',
        status: 'completed',
        cost: '0.07700000000000000001' as unknown as number, // sent as a bare number (numericKeys)
        data: { ref: '123456789012345678901' },
      }),
    );
    const list = await listed('TALKSTACK', DETAIL_FIELDS);
    expect(list.body.errors).toBeUndefined();
    const call = findCall(list, '9007199254740993')!;
    expect(call.cost).toEqual({ amount: '0.07700000000000000001', currency: 'USD' });
    expect(call.outputParameters).toEqual({ ref: '123456789012345678901' });
    const res = await byId(call.id, DETAIL_FIELDS);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.node).toMatchObject({ providerCallId: '9007199254740993', cost: { amount: '0.07700000000000000001' } });
  });
});

describe('Twilio money: price is decimal text, exact', () => {
  it('a price sent as a bare JSON number past a double keeps every digit, its sign flipped ("-0.0770…01" → "0.0770…01"), by list and by FetchCall', async () => {
    const { twilio } = h.sims;
    twilio.server.numericKeys = new Set(['price']);
    const sid = `CA${'9'.repeat(32)}`;
    removeAfterTest(twilio.rows, twilio.addCall({ sid, status: 'completed', price: '-0.07700000000000000001', price_unit: 'usd' }));
    const list = await listed('TWILIO');
    expect(list.body.errors).toBeUndefined();
    const call = findCall(list, sid)!;
    expect(call.cost).toEqual({ amount: '0.07700000000000000001', currency: 'USD' });
    const res = await byId(call.id);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.node).toMatchObject({ providerCallId: sid, cost: { amount: '0.07700000000000000001', currency: 'USD' } });
  });

  it('a price in exponent form is moved, never rounded, and "-0.200" is "0.200" (the digits as sent)', async () => {
    const { twilio } = h.sims;
    const [small, plain] = [`CA${'8'.repeat(32)}`, `CA${'7'.repeat(32)}`];
    removeAfterTest(twilio.rows, twilio.addCall({ sid: small, status: 'completed', price: '-7.7E-4', price_unit: 'USD' }));
    removeAfterTest(twilio.rows, twilio.addCall({ sid: plain, status: 'completed', price: '-0.200', price_unit: 'USD' }));
    const list = await listed('TWILIO');
    expect(list.body.errors).toBeUndefined();
    expect(findCall(list, small)!.cost).toEqual({ amount: '0.00077', currency: 'USD' });
    expect(findCall(list, plain)!.cost).toEqual({ amount: '0.200', currency: 'USD' });
  });
});

describe('a UTF-8 byte order mark before an upstream body is ignored (RFC 8259 §8.1)', () => {
  const cases = PROVIDER_MODULES.map((m) => [m.provider, m.provider.toLowerCase() as Lowercase<Provider>] as const);

  it.each(cases)('%s: list, by id and detail bodies, plain and gzip-encoded', async (provider, key) => {
    const clean = await listed(provider, DETAIL_FIELDS);
    expect(clean.body.errors).toBeUndefined();
    const server = h.sims[key].server;
    for (const gzip of [false, true]) {
      server.persistentFault = { kind: 'bom', gzip };
      const withBom = await listed(provider, DETAIL_FIELDS);
      expect(withBom.body.errors).toBeUndefined();
      expect(withBom.body.data).toEqual(clean.body.data);
      const first = clean.body.data!.calls.nodes[0]!;
      const one = await byId(first.id, DETAIL_FIELDS);
      expect(one.body.errors).toBeUndefined();
      expect(one.body.data?.node).toEqual(first);
    }
    // The faults really were served.
    expect(server.requests.length).toBeGreaterThan(0);
  });
});

describe("a client's POST body with a byte order mark", () => {
  const query = JSON.stringify({ query: '{ calls(first: 1) { nodes { id } } }' });
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);

  it.each([
    ['plain', Buffer.concat([bom, Buffer.from(query)]), {}],
    ['gzip-encoded', gzipSync(Buffer.concat([bom, Buffer.from(query)])), { 'content-encoding': 'gzip' }],
  ])('%s: answered as without it', async (_, body, headers) => {
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { data?: { calls: { nodes: unknown[] } }; errors?: unknown };
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.calls.nodes).toHaveLength(1);
  });

  it('a byte order mark anywhere else is still not JSON', async () => {
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from(' '), bom, Buffer.from(query)]),
    });
    expect(response.status).toBe(400);
  });
});
