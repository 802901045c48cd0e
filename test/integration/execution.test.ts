/**
 * Execution over HTTP: a document answers the same on its first request, on a repeated one and
 * with a federated trace asked for (Apollo's instrumented path), including where upstreams fail;
 * and a list of look-ups keeps its length with each failed item null where its error points.
 * Switchboard once ran a document's repeated requests on graphql-jit, which lost a failed last
 * item of `nodes`/`_entities` (docs/benchmark.md, "Compiled execution, removed"); the fuzz in
 * test/unit/execution.property.test.ts covers the kind in-process.
 */
import { startHarness, type Harness } from '../helpers/switchboard.js';

const TRACE = { 'apollo-federation-include-trace': 'ftv1' };
const EVERY_FIELD = `id provider connection providerCallId direction status providerStatus
  from { phoneNumber rawPhoneNumber displayName countryCode isStaff }
  to { phoneNumber rawPhoneNumber displayName countryCode isStaff }
  startedAt answeredAt endedAt durationSeconds billedDurationSeconds cost { amount currency }
  endReason agentId recordings { url expiresAt } transcript { url expiresAt } inputParameters outputParameters`;

let h: Harness;
let ids: string[];
beforeAll(async () => {
  h = await startHarness();
  const page = await h.gql('{ calls(first: 40) { nodes { id } } }');
  ids = page.body.data.calls.nodes.map((n: { id: string }) => n.id);
});
afterAll(() => h.stop());

/**
 * Media links are signed for an hour from the moment they are read, so answers a second apart
 * differ there and nowhere else: their expiry is masked before answers are compared.
 */
function withoutExpiry<T extends { body: unknown }>(response: T): T {
  const text = JSON.stringify(response.body).replace(/expires=\d+/g, 'expires=*').replace(/"expiresAt":"[^"]*"/g, '"expiresAt":"*"');
  return { ...response, body: JSON.parse(text) };
}

/** The same request three times: first, repeated (must be equal), traced (minus the trace). */
async function answers(query: string, variables?: Record<string, unknown>) {
  const first = withoutExpiry(await h.gql(query, variables));
  const repeated = withoutExpiry(await h.gql(query, variables));
  expect(repeated.status).toBe(first.status);
  expect(repeated.body).toEqual(first.body);
  const traced = withoutExpiry(await h.gql(query, variables, TRACE));
  const { extensions, ...tracedBody } = traced.body as typeof traced.body & { extensions?: { ftv1?: string } };
  return { repeated, traced: { ...traced, body: tracedBody }, ftv1: extensions?.ftv1 };
}

describe('a repeated document answers as its first request and as the traced one', () => {
  test.each([
    ['a merged page with every field, edges and page info', `query P($after: String) { calls(first: 25, after: $after) { edges { cursor node { ${EVERY_FIELD} } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`, {}],
    ['a filtered backward page with aliases and a fragment', `query B { older: calls(last: 7, filter: { providers: [UNPOD, CINNOX], statuses: [COMPLETED, UNKNOWN] }) { edges { ...E } } } fragment E on CallEdge { cursor node { id status s: startedAt } }`, {}],
    ['an empty page', `{ calls(first: 5, filter: { phoneNumber: "+10000000000" }) { edges { cursor } pageInfo { startCursor endCursor hasNextPage } totalCount } }`, {}],
    ['bad input: an argument and a variable', `query V($first: Int) { a: calls(first: $first) { nodes { id } } b: call(id: "nope") { id } }`, { first: 101 }],
    ['a variable of the wrong type', `query V($first: Int) { calls(first: $first) { nodes { id } } }`, { first: 'ten' }],
    ['a non-null variable missing', `query V($id: ID!) { call(id: $id) { id } }`, {}],
  ])('%s', async (_name, query, variables) => {
    const { repeated, traced, ftv1 } = await answers(query, variables);
    expect(typeof ftv1 === 'string' || traced.status !== 200 || traced.body.data === undefined).toBe(true);
    expect(repeated.status).toBe(traced.status);
    expect(repeated.body).toEqual(traced.body);
  });

  test('look-ups by id: call, node, nodes and _entities, with details and a missing id', async () => {
    const missing = Buffer.from(JSON.stringify(['Call', 'TWENTY2', 'default', 'call_nobody', 1_700_000_000_000])).toString('base64url');
    const query = `query L($ids: [ID!]!, $reps: [_Any!]!, $one: ID!) {
      call(id: $one) { ${EVERY_FIELD} }
      node(id: $one) { __typename id ... on Call { status } }
      nodes(ids: $ids) { id ... on Call { status outputParameters } }
      _entities(representations: $reps) { __typename ... on Call { id startedAt } }
    }`;
    const variables = { ids: [...ids.slice(0, 12), missing], reps: ids.slice(10, 20).map((id) => ({ __typename: 'Call', id })), one: ids[3] };
    const { repeated, traced, ftv1 } = await answers(query, variables);
    expect(ftv1).toEqual(expect.any(String)); // the trace path is the instrumented one
    expect(repeated.body.errors).toBeUndefined();
    expect(repeated.body.data.nodes).toHaveLength(13);
    expect(repeated.body.data.nodes[12]).toBeNull();
    expect(repeated.body).toEqual(traced.body);
  });

  test('an upstream failure is reported the same way on both paths', async () => {
    const query = `{ calls(first: 10) { nodes { id provider } } }`;
    h.sims.twenty2.server.persistentFault = { kind: 'status', status: 401 }; // not retried, no breaker
    try {
      const { repeated, traced } = await answers(query);
      expect(repeated.body.errors).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'TWENTY2' }) })]);
      expect(repeated.body.data.calls.nodes.length).toBe(10);
      expect(repeated.body).toEqual(traced.body);
    } finally {
      h.sims.twenty2.server.clearFaults();
    }
  });

  /**
   * A failed look-up in a list, wherever it sits and whenever it fails relative to the others: the
   * list keeps its length, the failed item is null where the error's path says. graphql-jit 0.8.9,
   * which ran repeated documents until it was removed, appended a failed item's null instead of
   * placing it at its index: a last item failing before the others arrived came back one short, a
   * first or middle one failing last one too long. Twenty2 fails (HTTP 401: neither retried nor
   * counted by the breaker); Unpod answers; their latencies decide which settles first.
   */
  describe.each([
    ['nodes', (ids: string[]) => ({ q: `query F($ids: [ID!]!) { nodes(ids: $ids) { id ... on Call { provider } } }`, v: { ids } })],
    ['_entities', (ids: string[]) => ({ q: `query F($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id provider } } }`, v: { r: ids.map((id) => ({ __typename: 'Call', id })) } })],
  ] as const)('%s with one failed look-up', (field, request) => {
    test.each([
      ['the last item, failing before the others answer', ['U', 'T'], 0, 80],
      ['the last item, failing after the others answered', ['U', 'U', 'T'], 80, 0],
      ['the first item, failing after the others answered', ['T', 'U'], 80, 0],
      ['the first item, failing before the others answer', ['T', 'U', 'U'], 0, 80],
      ['a middle item, failing before the others answer', ['U', 'T', 'U'], 0, 80],
      ['a middle item, failing after the others answered', ['U', 'T', 'U'], 80, 0],
    ] as const)('%s', async (_name, layout, twenty2Latency, unpodLatency) => {
      const page = await h.gql('{ calls(first: 100) { nodes { id provider } } }');
      const of = (provider: string) => page.body.data.calls.nodes.filter((n: { provider: string }) => n.provider === provider).map((n: { id: string }) => n.id);
      const [twenty2, unpod] = [of('TWENTY2'), of('UNPOD')];
      const ids = layout.map((p, i) => (p === 'T' ? twenty2[0] : unpod[i]));
      const failed = layout.indexOf('T');
      const { q, v } = request(ids);
      const sims = h.sims;
      sims.twenty2.server.persistentFault = { kind: 'status', status: 401 };
      sims.twenty2.server.latencyMs = twenty2Latency;
      sims.unpod.server.latencyMs = unpodLatency;
      try {
        const { repeated, traced } = await answers(q, v);
        const list = repeated.body.data[field];
        expect(list).toHaveLength(ids.length);
        list.forEach((item: { id: string } | null, i: number) => (i === failed ? expect(item).toBeNull() : expect(item).toEqual({ id: ids[i], provider: 'UNPOD' })));
        expect(repeated.body.errors).toEqual([expect.objectContaining({ path: [field, failed], extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'TWENTY2' }) })]);
        expect(repeated.body).toEqual(traced.body);
      } finally {
        sims.twenty2.server.clearFaults();
        sims.twenty2.server.latencyMs = 0;
        sims.unpod.server.latencyMs = 0;
      }
    });
  });
});
