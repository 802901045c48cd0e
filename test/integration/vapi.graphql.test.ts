/**
 * Vapi through the GraphQL API. The Vapi-side number needs a look-up of the call's phone-number
 * resource (docs/providers/vapi.md): those look-ups are kept per connection across GraphQL requests
 * and shared by concurrent ones, so a walk costs its list pages plus at most one look-up per distinct
 * phone-number id, and a page resumed from a cursor costs one list request. The transcript is text
 * on the row (`transcriptText`), never a second request.
 */
import { createVapiSimulator, type VapiSimulator } from '../../src/providers/vapi/simulator.js';
import { type Harness, startHarness } from '../helpers/switchboard.js';

const PAGE = `query($first: Int, $after: String) {
  calls(first: $first, after: $after) {
    nodes { providerCallId from { phoneNumber } to { phoneNumber } }
    pageInfo { hasNextPage endCursor }
  }
}`;

describe('Vapi over GraphQL', () => {
  let vapi: VapiSimulator;
  /** One harness per test: each starts with a connection whose phone-number cache is empty. */
  let harness: Harness;

  beforeAll(async () => {
    vapi = createVapiSimulator({ count: 300 });
    await vapi.server.start();
  });
  beforeEach(async () => {
    vapi.server.resetCounters();
    vapi.server.clearFaults();
    harness = await startHarness({
      env: { SWITCHBOARD_SCAN_BUDGET: '2' },
      connections: () => [{ provider: 'VAPI', connection: 'default', settings: { baseUrl: vapi.server.url, apiKey: vapi.credentials.apiKey } }],
    });
  });
  afterEach(async () => {
    // The harness's own simulators are not Vapi's: stopping it leaves `vapi` running.
    await harness.stop();
  });
  afterAll(async () => {
    await vapi.server.close();
  });

  const lookups = () => vapi.server.requests.filter((r) => r.path.startsWith('/phone-number/')).length;
  const listRequests = () => vapi.server.requests.filter((r) => r.path === '/call').length;
  const phoneIds = () => new Set(vapi.rows.map((r) => r.phoneNumberId).filter((id) => id !== undefined));

  async function walk(size: number): Promise<{ ids: string[]; pages: number; perPage: number[] }> {
    const ids: string[] = [];
    const perPage: number[] = [];
    let after: string | null = null;
    for (let pages = 1; ; pages++) {
      const before = listRequests();
      const { body }: { body: { errors?: unknown; data?: any } } = await harness.gql(PAGE, { first: size, after });
      expect(body.errors).toBeUndefined();
      perPage.push(listRequests() - before);
      ids.push(...body.data.calls.nodes.map((n: { providerCallId: string }) => n.providerCallId));
      if (!body.data.calls.pageInfo.hasNextPage) return { ids, pages, perPage };
      after = body.data.calls.pageInfo.endCursor;
    }
  }

  it('a whole walk: its list pages, plus one look-up per distinct phone-number id for all its GraphQL requests', async () => {
    expect(phoneIds().size).toBeGreaterThan(1);
    const first = await walk(40);
    expect(first.ids).toHaveLength(vapi.rows.length);
    expect(first.pages).toBeGreaterThan(5);
    // Each page resumes from its cursor: one list request (and no look-up is a list request).
    for (const n of first.perPage) expect(n).toBeLessThanOrEqual(1);
    expect(lookups()).toBe(phoneIds().size);
    // Numbers rarely change: the connection keeps them, so walking again looks none up.
    vapi.server.resetCounters();
    const again = await walk(100);
    expect(again.ids).toEqual(first.ids);
    expect(lookups()).toBe(0);
  });

  it('the agent number is the phone-number resource\'s, on the Vapi side of the call', async () => {
    const { body } = await harness.gql(`{ calls(first: 100) { nodes { providerCallId direction from { phoneNumber isStaff } to { phoneNumber isStaff } } } }`);
    expect(body.errors).toBeUndefined();
    const numbers = new Map(vapi.phoneNumbers.map((p) => [p.id, p.number]));
    let checked = 0;
    for (const node of body.data.calls.nodes) {
      const row = vapi.rows.find((r) => r.id === node.providerCallId)!;
      if (!row.phoneNumberId) continue;
      const agent = node.direction === 'INBOUND' ? node.to : node.from;
      expect(agent).toEqual({ phoneNumber: numbers.get(row.phoneNumberId), isStaff: true });
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('concurrent look-ups share one request per phone-number id: nodes(ids) of many calls, aliases of one page', async () => {
    const ids = vapi.rows.slice(0, 60).map((r) => r.id);
    const listed = await harness.gql(`{ calls(first: 100) { nodes { id providerCallId } } }`);
    const byProviderId = new Map<string, string>(listed.body.data.calls.nodes.map((n: { id: string; providerCallId: string }) => [n.providerCallId, n.id]));
    const wanted = ids.map((id) => byProviderId.get(id)).filter((id): id is string => id !== undefined);
    expect(wanted.length).toBeGreaterThan(20);
    const cold = await startHarness({
      connections: () => [{ provider: 'VAPI', connection: 'default', settings: { baseUrl: vapi.server.url, apiKey: vapi.credentials.apiKey } }],
    });
    try {
      vapi.server.resetCounters();
      const [a, b] = await Promise.all([
        cold.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { from { phoneNumber } to { phoneNumber } } } }`, { ids: wanted }),
        cold.gql(`{ x: calls(first: 100) { nodes { from { phoneNumber } } } y: calls(first: 100) { nodes { to { phoneNumber } } } }`),
      ]);
      expect(a.body.errors).toBeUndefined();
      expect(b.body.errors).toBeUndefined();
      expect(lookups()).toBeLessThanOrEqual(phoneIds().size);
    } finally {
      await cold.stop();
    }
  });

  it('a failed look-up fails the Vapi page, named, and is not kept: the next request asks again', async () => {
    vapi.server.targetedFaults.push({ match: (r) => r.path.startsWith('/phone-number/'), fault: { kind: 'status', status: 503 } });
    const failed = await harness.gql(`{ calls(first: 20) { nodes { providerCallId } } }`);
    expect(failed.body.errors?.map((e) => e.extensions)).toEqual([expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'VAPI', connection: 'default' })]);
    vapi.server.clearFaults();
    const { body } = await harness.gql(`{ calls(first: 20) { nodes { providerCallId from { phoneNumber } } } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data.calls.nodes).toHaveLength(20);
  });

  it('transcriptText is the row\'s artifact.transcript, with no request beyond the list; transcript stays for links (null)', async () => {
    const { body } = await harness.gql(`{ calls(first: 30) { nodes { id providerCallId transcriptText transcript { url } } } }`);
    expect(body.errors).toBeUndefined();
    expect(vapi.server.requests.filter((r) => r.path.startsWith('/call/'))).toEqual([]);
    for (const node of body.data.calls.nodes) {
      const row = vapi.rows.find((r) => r.id === node.providerCallId)!;
      expect(node.transcriptText).toBe(row.artifact?.transcript ?? null);
      expect(node.transcript).toBeNull();
    }
    expect(body.data.calls.nodes.some((n: { transcriptText: string | null }) => n.transcriptText)).toBe(true);
    const withText = body.data.calls.nodes.find((n: { transcriptText: string | null }) => n.transcriptText)!;
    vapi.server.resetCounters();
    const one = await harness.gql('query($id: ID!) { call(id: $id) { transcriptText } }', { id: withText.id });
    expect(one.body.data.call.transcriptText).toBe(withText.transcriptText);
    expect(vapi.server.requests.map((r) => r.path)).toEqual([`/call/${withText.providerCallId}`]);
  });
});
