/**
 * The whole path over real HTTP: GraphQL → merge → adapters → every provider module's simulator.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { allCalls } from '../helpers/truth.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

interface Row {
  provider: string;
  providerCallId: string | null;
  startedAt: string;
  status: string;
  providerStatus: string;
}

/** What the simulators hold, as (provider, provider id, start, provider status): every module's ground truth. */
function groundTruth(): Row[] {
  return allCalls(h.sims).map((r) => ({
    provider: r.provider,
    providerCallId: r.providerCallId,
    startedAt: r.startedAt.toISOString(),
    status: '',
    providerStatus: r.providerStatus,
  }));
}

const PAGE = `
  query Page($first: Int, $after: String, $last: Int, $before: String, $filter: CallFilter) {
    calls(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { id provider connection providerCallId startedAt status providerStatus } }
      nodes { id }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

type Edge = { cursor: string; node: Row & { id: string; connection: string } };

async function walkForward(first: number): Promise<Edge[]> {
  const edges: Edge[] = [];
  let after: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const res: GraphQLResponse<any> = await h.gql(PAGE, { first, after });
    expect(res.body.errors).toBeUndefined();
    const page: any = res.body.data.calls;
    edges.push(...page.edges);
    expect(page.nodes.map((n: { id: string }) => n.id)).toEqual(page.edges.map((e: Edge) => e.node.id));
    if (!page.pageInfo.hasNextPage) return edges;
    expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1].cursor);
    after = page.pageInfo.endCursor;
  }
  throw new Error('walk did not end');
}

const rank: string[] = PROVIDER_MODULES.map((m) => m.provider);
/** A full walk reads every provider's ~300 calls: its time limit grows with the list (20 s per provider, a loaded machine). */
const WALK_TIMEOUT_MS = 20_000 * PROVIDER_MODULES.length;

describe('calls', () => {
  it('walks forward with first: 7 through every simulated call exactly once, newest first', async () => {
    const edges = await walkForward(7);
    const truth = groundTruth();
    expect(edges).toHaveLength(truth.length);
    expect(new Set(edges.map((e) => e.node.id)).size).toBe(truth.length);
    // Same multiset of (provider, provider id, start, provider status).
    const key = (r: Row) => `${r.provider}|${r.providerCallId}|${r.startedAt}|${r.providerStatus}`;
    expect(edges.map((e) => key(e.node)).sort()).toEqual(truth.map(key).sort());
    // Newest first; ties by provider order, then connection, then key.
    for (let i = 1; i < edges.length; i++) {
      const a = edges[i - 1]!.node;
      const b = edges[i]!.node;
      const ta = Date.parse(a.startedAt);
      const tb = Date.parse(b.startedAt);
      expect(ta).toBeGreaterThanOrEqual(tb);
      if (ta === tb) expect(rank.indexOf(a.provider)).toBeLessThanOrEqual(rank.indexOf(b.provider));
    }
    // The data include exact ties across providers.
    const ties = edges.filter((e, i) => i > 0 && e.node.startedAt === edges[i - 1]!.node.startedAt && e.node.provider !== edges[i - 1]!.node.provider);
    expect(ties.length).toBeGreaterThan(5);
    expect(new Set(edges.map((e) => e.node.provider))).toEqual(new Set(rank));
  }, WALK_TIMEOUT_MS);

  it('walks backward with last/before to the same list', async () => {
    const forward = await walkForward(50);
    const backward: Edge[] = [];
    let before: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const res: GraphQLResponse<any> = await h.gql(PAGE, { last: 37, before });
      expect(res.body.errors).toBeUndefined();
      const page: any = res.body.data.calls;
      backward.unshift(...page.edges);
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(backward.map((e) => e.node.id)).toEqual(forward.map((e) => e.node.id));
  }, WALK_TIMEOUT_MS);

  it('gives byte-identical cursors for the same query', async () => {
    const a = await h.gql(PAGE, { first: 10 });
    const b = await h.gql(PAGE, { first: 10 });
    expect(a.text).toBe(b.text);
  });

  it('round-trips every id through call, node, nodes and _entities', async () => {
    const edges = await walkForward(100);
    const ids = edges.map((e) => e.node.id);
    for (let i = 0; i < ids.length; i += 400) {
      const chunk = ids.slice(i, i + 400);
      const res = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Call { providerCallId startedAt } } }`, { ids: chunk });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.nodes.map((n: { id: string }) => n.id)).toEqual(chunk);
      const ent = await h.gql(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id startedAt } } }`,
        { r: chunk.map((id) => ({ __typename: 'Call', id })) },
      );
      expect(ent.body.errors).toBeUndefined();
      expect(ent.body.data._entities.map((n: { id: string }) => n.id)).toEqual(chunk);
    }
    // call(id) and node(id) on a sample from each provider, aliased in one query.
    const sample = rank.flatMap((p) => edges.filter((e) => e.node.provider === p).slice(0, 5));
    for (let start = 0; start < sample.length; start += 10) {
      const chunk = sample.slice(start, start + 10);
      const query = `{ ${chunk.map((e, i) => `c${i}: call(id: "${e.node.id}") { id startedAt } n${i}: node(id: "${e.node.id}") { id }`).join(' ')} }`;
      const res = await h.gql(query);
      expect(res.body.errors).toBeUndefined();
      chunk.forEach((e, i) => {
        expect(res.body.data[`c${i}`]).toEqual({ id: e.node.id, startedAt: e.node.startedAt });
        expect(res.body.data[`n${i}`]).toEqual({ id: e.node.id });
      });
    }
  });

  it('answers null for a well-formed id nobody knows, and BAD_USER_INPUT for a malformed one', async () => {
    const unknown = Buffer.from(JSON.stringify(['Call', 'TALKSTACK', 'default', 'CAdoesnotexist', 0])).toString('base64url');
    const otherConnection = Buffer.from(JSON.stringify(['Call', 'UNPOD', 'elsewhere', 'x', 0])).toString('base64url');
    const res = await h.gql(`query($a: ID!, $b: ID!) { a: call(id: $a) { id } b: node(id: $b) { id } }`, { a: unknown, b: otherConnection });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data).toEqual({ a: null, b: null });
    const bad = await h.gql(`{ call(id: "nope") { id } }`);
    expect(bad.status).toBe(200);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.body.data).toEqual({ call: null });
  });

  it('accepts an id only as issued: other spellings of the same call are BAD_USER_INPUT at every entry point', async () => {
    const res = await h.gql(`{ calls(first: 40) { nodes { id } } }`);
    const ids: string[] = res.body.data.calls.nodes.map((n: { id: string }) => n.id);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // An id whose last character carries unused pad bits, and the characters that differ only there.
    const id = ids.find((i) => i.length % 4 !== 0)!;
    const sameBytes = [...alphabet].map((c) => id.slice(0, -1) + c).filter((t) => t !== id && Buffer.from(t, 'base64url').equals(Buffer.from(id, 'base64url')));
    expect(sameBytes.length).toBeGreaterThan(0);
    // The same JSON tuple spelt with spaces.
    const spaced = Buffer.from(JSON.stringify(JSON.parse(Buffer.from(id, 'base64url').toString()), null, 1)).toString('base64url');
    const spellings = [...sameBytes, spaced, `${id}=`, `${id};`, ` ${id}`, id.replaceAll('-', '+').replaceAll('_', '/')].filter((s) => s !== id);
    for (const spelling of spellings) {
      const one = await h.gql(`query($id: ID!) { call(id: $id) { id } node(id: $id) { id } }`, { id: spelling });
      expect(one.body.data).toEqual({ call: null, node: null });
      expect(one.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
      const many = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids: [id, spelling] });
      expect(many.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      const entities = await h.gql(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }`, {
        r: [{ __typename: 'Call', id: spelling }],
      });
      expect(entities.body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
    // The issued spelling still works everywhere.
    const ok = await h.gql(`query($id: ID!) { call(id: $id) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }`, { id });
    expect(ok.body).toEqual({ data: { call: { id }, node: { id }, nodes: [{ id }] } });
  });
});
