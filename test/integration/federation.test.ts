/**
 * Federation as a platform team would run it: Switchboard's SDL fetched over HTTP from the running
 * server (`_service { sdl }`), composed with a CRM subgraph by @apollo/composition, served by a real
 * @apollo/gateway, and queried over HTTP across both subgraphs — in both directions. The same recipe
 * is in docs/supergraph.md.
 */
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { parse } from 'graphql';
import { startCrmSubgraph, type CrmContact, type CrmSubgraph } from '../helpers/crm-subgraph.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

/** The gateway's own key for Switchboard; clients' keys are forwarded instead when they send one. */
const GATEWAY_KEY = 'gateway-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${GATEWAY_KEY}` };

interface GatewayContext {
  authorization?: string;
}

let h: Harness;
let crm: CrmSubgraph;
let gateway: ApolloServer<GatewayContext>;
let gatewayUrl: string;
let supergraphSdl: string;
let contacts: CrmContact[];
/** Ids of Switchboard's first 40 calls; the CRM has attached two of each provider to contacts. */
let pageIds: string[];

async function post<T = any>(url: string, query: string, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), text };
}

beforeAll(async () => {
  h = await startHarness({ env: { SWITCHBOARD_API_KEYS: GATEWAY_KEY } });

  // Ids as a CRM would have stored them: taken from Switchboard's own `calls`, across providers.
  const page = await h.gql(`{ calls(first: 40) { nodes { id provider } } }`, undefined, AUTH);
  expect(page.body.errors).toBeUndefined();
  const nodes: Array<{ id: string; provider: string }> = page.body.data.calls.nodes;
  pageIds = nodes.map((n) => n.id);
  const [a, b, c, d, e, f, g, i] = ['TWENTY2', 'UNPOD', 'CINNOX', 'TALKSTACK'].flatMap((p) =>
    nodes.filter((n) => n.provider === p).slice(0, 2).map((n) => n.id),
  );
  expect([a, b, c, d, e, f, g, i].every(Boolean)).toBe(true);
  contacts = [
    { id: 'contact-1', name: 'Asha Rao', callIds: [a!, d!, g!] },
    { id: 'contact-2', name: 'Ben Okafor', callIds: [b!, e!] },
    { id: 'contact-3', name: 'Chen Wei', callIds: [c!, f!, i!] },
  ];
  crm = await startCrmSubgraph(contacts);

  // 1. Switchboard's subgraph SDL, over HTTP, as `rover subgraph introspect` fetches it.
  const service = await post(h.server.url, '{ _service { sdl } }', AUTH);
  expect(service.body.errors).toBeUndefined();
  const switchboardSdl: string = service.body.data._service.sdl;

  // 2. Composition, as `rover supergraph compose` does it.
  const composed = composeServices([
    { name: 'switchboard', url: h.server.url, typeDefs: parse(switchboardSdl) },
    { name: 'crm', url: crm.url, typeDefs: parse(crm.sdl) },
  ]);
  expect(composed.errors ?? []).toEqual([]);
  supergraphSdl = composed.supergraphSdl!;

  // 3. A real gateway over the supergraph; it forwards the client's key to Switchboard, else its own.
  const apolloGateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url,
        willSendRequest({ request, context }) {
          if (name !== 'switchboard') return;
          const authorization = context.authorization ?? AUTH.authorization;
          if (authorization !== 'none') request.http?.headers.set('authorization', authorization);
        },
      }),
  });
  gateway = new ApolloServer<GatewayContext>({ gateway: apolloGateway });
  ({ url: gatewayUrl } = await startStandaloneServer(gateway, {
    listen: { port: 0, host: '127.0.0.1' },
    context: async ({ req }) => (req.headers.authorization ? { authorization: req.headers.authorization } : {}),
  }));
});

afterAll(async () => {
  await gateway?.stop();
  await crm?.stop();
  await h?.stop();
});

beforeEach(() => {
  h.resetCounters();
  h.batches.length = 0;
});

const CALL_FIELDS = 'id provider startedAt status from { phoneNumber }';

describe('Switchboard in a supergraph', () => {
  it('composes: Call is one entity keyed by id, served by both subgraphs', () => {
    const header = /type Call implements Node([^{]*)\{/.exec(supergraphSdl)?.[1] ?? '';
    expect(header).toContain('@join__implements(graph: SWITCHBOARD, interface: "Node")');
    expect(header).toContain('@join__type(graph: SWITCHBOARD, key: "id")');
    expect(header).toContain('@join__type(graph: CRM, key: "id")');
    expect(supergraphSdl).toContain('contact: Contact @join__field(graph: CRM)');
    expect(supergraphSdl).toContain('recentCalls: [Call!]!');
  });

  it('contacts → recentCalls: the CRM lists ids, Switchboard resolves them, data as Switchboard returns it', async () => {
    const res = await post(gatewayUrl, `{ contacts { id name recentCalls { ${CALL_FIELDS} } } }`);
    expect(res.body.errors).toBeUndefined();

    const ids = contacts.flatMap((c) => c.callIds);
    const direct = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { ${CALL_FIELDS} } } }`, { ids }, AUTH);
    expect(direct.body.errors).toBeUndefined();
    const byId = new Map(direct.body.data.nodes.map((n: { id: string }) => [n.id, n]));
    expect(res.body.data.contacts).toEqual(
      contacts.map((c) => ({ id: c.id, name: c.name, recentCalls: c.callIds.map((id) => byId.get(id)) })),
    );
    expect(res.body.data.contacts[0].recentCalls[0].from).toHaveProperty('phoneNumber');
  });

  it('the gateway’s _entities fetch is one batched look-up per connection, no call requested twice', async () => {
    const res = await post(gatewayUrl, `{ contacts { recentCalls { id provider } } }`);
    expect(res.body.errors).toBeUndefined();
    const calls = res.body.data.contacts.flatMap((c: { recentCalls: Array<{ provider: string }> }) => c.recentCalls);
    const perProvider = (p: string) => calls.filter((c: { provider: string }) => c.provider === p).length;
    const batches = h.batches.filter((b) => b.kind === 'call');
    expect(new Set(batches.map((b) => b.connection)).size).toBe(batches.length);
    expect(batches).toHaveLength(4);
    expect(batches.reduce((n, b) => n + b.size, 0)).toBe(8);
    // Providers without a batch endpoint: one request per call; no list walks.
    expect(h.sims.twenty2.server.count()).toBe(perProvider('TWENTY2'));
    expect(h.sims.talkstack.server.count()).toBe(perProvider('TALKSTACK'));
    expect(h.sims.cinnox.server.count()).toBe(perProvider('CINNOX'));
    expect(h.sims.unpod.server.count()).toBeLessThanOrEqual(perProvider('UNPOD'));
    process.stdout.write(
      `gateway _entities for 8 calls: ${JSON.stringify({ batches, upstream: Object.fromEntries(h.sims.servers.map((s) => [s.name, s.count()])) })}\n`,
    );
  });

  it('calls → contact: Switchboard lists, the CRM adds who each call was with', async () => {
    const res = await post(gatewayUrl, `{ calls(first: 40) { nodes { id provider contact { id name } } } }`);
    expect(res.body.errors).toBeUndefined();
    const nodes: Array<{ id: string; contact: { id: string; name: string } | null }> = res.body.data.calls.nodes;
    expect(nodes.map((n) => n.id)).toEqual(pageIds);
    for (const node of nodes) {
      const owner = contacts.find((c) => c.callIds.includes(node.id));
      expect(node.contact).toEqual(owner ? { id: owner.id, name: owner.name } : null);
    }
    expect(nodes.filter((n) => n.contact !== null)).toHaveLength(8);
  });

  it('forwards the client’s key: a key Switchboard does not know gets no calls', async () => {
    // `provider` is Switchboard's: the CRM alone cannot answer it.
    const res = await post(gatewayUrl, `{ contacts { name recentCalls { id provider } } }`, { authorization: 'Bearer not-a-switchboard-key-000' });
    expect(res.body.data).toBeNull();
    expect(res.body.errors?.length).toBeGreaterThan(0);
    expect(h.upstreamCount()).toBe(0);
  });
});
