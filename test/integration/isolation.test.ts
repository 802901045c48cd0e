/**
 * Per-key isolation in every batch, over real HTTP against the simulators: when the upstream
 * request for one call fails, that call alone is null with its PROVIDER_UNAVAILABLE error, and the
 * other calls of the same batch — same provider, same DataLoader batch — still come back. Checked
 * for every provider's by-id path through `nodes`, `_entities`, `call` and `node`, for the detail
 * fields, and for the cache of ended calls (which must not keep a failure).
 */
import { lookupOf } from '../helpers/modules.js';
import { PROVIDERS, newCanary, serverOf, startCanarySimulators, type ProviderKey } from '../helpers/resilience.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

type Provider = (typeof PROVIDERS)[number]['provider'];
interface Listed {
  id: string;
  provider: Provider;
  providerCallId: string | null;
  startedAt: string;
  status: string;
}

const FIELDS = 'id provider providerCallId startedAt status';

const HTTP_500 = { kind: 'status', status: 500 } as const;

async function listAll(h: Harness, provider: Provider): Promise<Listed[]> {
  const res = await h.gql(`query($p: [Provider!]) { calls(first: 100, filter: { providers: $p }) { nodes { ${FIELDS} } } }`, { p: [provider] });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.calls.nodes;
}

/** Two calls of `provider` far apart in time (so Unpod looks them up in two windows), `a` first. */
function twoCalls(calls: readonly Listed[]): [Listed, Listed] {
  const a = calls[0]!;
  const b = calls[calls.length - 1]!;
  expect(Date.parse(a.startedAt) - Date.parse(b.startedAt)).toBeGreaterThan(3_600_000);
  return [a, b];
}

const unavailable = (provider: Provider) => ({ code: 'PROVIDER_UNAVAILABLE', provider, connection: 'default' });

/** Each entry point asked for [a, b]: the query, its variables, and where each answer lands. */
const ENTRY_POINTS = [
  {
    name: 'nodes',
    query: `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { ${FIELDS} } } }`,
    variables: (ids: string[]) => ({ ids }),
    answers: (data: any) => data.nodes,
    path: (i: number) => ['nodes', i],
  },
  {
    name: '_entities',
    query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { ${FIELDS} } } }`,
    variables: (ids: string[]) => ({ r: ids.map((id) => ({ __typename: 'Call', id })) }),
    answers: (data: any) => data._entities,
    path: (i: number) => ['_entities', i],
  },
  {
    name: 'call',
    query: `query($a: ID!, $b: ID!) { x0: call(id: $a) { ${FIELDS} } x1: call(id: $b) { ${FIELDS} } }`,
    variables: ([a, b]: string[]) => ({ a, b }),
    answers: (data: any) => [data.x0, data.x1],
    path: (i: number) => [`x${i}`],
  },
  {
    name: 'node',
    query: `query($a: ID!, $b: ID!) { x0: node(id: $a) { ... on Call { ${FIELDS} } } x1: node(id: $b) { ... on Call { ${FIELDS} } } }`,
    variables: ([a, b]: string[]) => ({ a, b }),
    answers: (data: any) => [data.x0, data.x1],
    path: (i: number) => [`x${i}`],
  },
];

describe('one failed look-up fails only its own call', () => {
  let h: Harness;
  const listed = {} as Record<ProviderKey, Listed[]>;

  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(newCanary(), 30),
      // The failures below must not open a breaker for the cases after them.
      configure: (c) => ({ ...c, http: { ...c.http, breakerThreshold: 1000 } }),
    });
    for (const p of PROVIDERS) listed[p.key] = await listAll(h, p.provider);
  });
  afterAll(() => h.stop());
  afterEach(() => h.sims.servers.forEach((s) => s.clearFaults()));

  describe.each(PROVIDERS.map((p) => [p.key, p] as const))('%s', (key, p) => {
    it.each(ENTRY_POINTS.map((e) => [e.name, e] as const))('through %s: the other call of the batch still comes back', async (_name, entry) => {
      const [a, b] = twoCalls(listed[key]);
      const sim = serverOf(h.sims, key);
      sim.targetedFaults.push({ match: lookupOf(h.sims, a.id), fault: HTTP_500 });
      h.resetCounters();
      h.batches.length = 0;
      const res = await h.gql(entry.query, entry.variables([a.id, b.id]));
      expect(res.status).toBe(200);
      expect(entry.answers(res.body.data)).toEqual([null, b]);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]).toMatchObject({ path: entry.path(0), extensions: unavailable(p.provider) });
      // One batch held both, and the failing request was really sent.
      expect(h.batches).toEqual([{ connection: p.label, kind: 'call', size: 2 }]);
      expect(sim.requests.some(lookupOf(h.sims, a.id))).toBe(true);
    });

    it('the same batch with the failure on the second call: the first comes back', async () => {
      const [a, b] = twoCalls(listed[key]);
      serverOf(h.sims, key).targetedFaults.push({ match: lookupOf(h.sims, b.id), fault: HTTP_500 });
      const res = await h.gql(ENTRY_POINTS[0]!.query, { ids: [a.id, b.id] });
      expect(res.body.data.nodes).toEqual([a, null]);
      expect(res.body.errors).toEqual([expect.objectContaining({ path: ['nodes', 1], extensions: unavailable(p.provider) })]);
    });
  });

  it('nodes over every provider with one call failing at each: every other call comes back, one error per failed call', async () => {
    const wanted = PROVIDERS.flatMap((p) => twoCalls(listed[p.key]));
    for (const p of PROVIDERS) serverOf(h.sims, p.key).targetedFaults.push({ match: lookupOf(h.sims, twoCalls(listed[p.key])[0].id), fault: HTTP_500 });
    const res = await h.gql(ENTRY_POINTS[0]!.query, { ids: wanted.map((c) => c.id) });
    expect(res.body.data.nodes).toEqual(wanted.map((c, i) => (i % 2 === 0 ? null : c)));
    expect(res.body.errors!.map((e) => [e.path, e.extensions!.provider]).sort()).toEqual(
      PROVIDERS.map((p, i) => [['nodes', 2 * i], p.provider]).sort(),
    );
  });

  it('a failure and an unknown call in one batch: null with an error, and null without one', async () => {
    const [a, b] = twoCalls(listed.twenty2);
    const unknown = Buffer.from(JSON.stringify(['Call', 'TWENTY2', 'default', 'no_such_call', Date.parse(b.startedAt)])).toString('base64url');
    h.sims.twenty2.server.targetedFaults.push({ match: lookupOf(h.sims, a.id), fault: HTTP_500 });
    const res = await h.gql(ENTRY_POINTS[0]!.query, { ids: [a.id, unknown, b.id] });
    expect(res.body.data.nodes).toEqual([null, null, b]);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: ['nodes', 0], extensions: unavailable('TWENTY2') })]);
  });

  describe('detail fields (Twenty2: one detail request per call)', () => {
    const DETAILS = 'transcript { url } outputParameters billedDurationSeconds';

    it('on a calls page: the failed call’s detail fields are null with their errors, every other call keeps its details', async () => {
      const PAGE = `{ calls(first: 10, filter: { providers: [TWENTY2] }) { nodes { id ${DETAILS} } } }`;
      const clean = await h.gql(PAGE);
      expect(clean.body.errors).toBeUndefined();
      const nodes: Array<Record<string, unknown>> = clean.body.data.calls.nodes;
      const failing = listed.twenty2.find((c) => c.id === nodes[3]!.id)!;
      h.sims.twenty2.server.targetedFaults.push({ match: lookupOf(h.sims, failing.id), fault: HTTP_500 });
      const res = await h.gql(PAGE);
      expect(res.body.data.calls.nodes).toEqual(
        nodes.map((n, i) => (i === 3 ? { id: n.id, transcript: null, outputParameters: null, billedDurationSeconds: null } : n)),
      );
      expect(res.body.errors!.map((e) => e.path)).toEqual(
        expect.arrayContaining([['calls', 'nodes', 3, 'transcript'], ['calls', 'nodes', 3, 'outputParameters'], ['calls', 'nodes', 3, 'billedDurationSeconds']]),
      );
      for (const error of res.body.errors!) expect(error.extensions).toEqual(unavailable('TWENTY2'));
    });

    it('on a calls page with recordings ([MediaLink!]!, non-null up to calls): the failed call answers [] with its error beside it, the page stays', async () => {
      const PAGE = `{ calls(first: 10, filter: { providers: [TWENTY2] }) { nodes { id recordings { url } } } }`;
      const clean = await h.gql(PAGE);
      expect(clean.body.errors).toBeUndefined();
      const nodes: Array<{ id: string; recordings: unknown[] }> = clean.body.data.calls.nodes;
      const withRecording = nodes.findIndex((n) => n.recordings.length > 0);
      expect(withRecording).toBeGreaterThanOrEqual(0);
      const failing = listed.twenty2.find((c) => c.id === nodes[withRecording]!.id)!;
      h.sims.twenty2.server.targetedFaults.push({ match: lookupOf(h.sims, failing.id), fault: HTTP_500 });
      const res = await h.gql(PAGE);
      // Media links are signed for an hour from the moment they are read: compare them unsigned.
      const unsigned = (list: typeof nodes) => JSON.parse(JSON.stringify(list).replace(/expires=\d+/g, 'expires=…'));
      expect(unsigned(res.body.data.calls.nodes)).toEqual(
        unsigned(nodes.map((n, i) => (i === withRecording ? { id: n.id, recordings: [] } : n))),
      );
      expect(res.body.errors).toEqual([
        expect.objectContaining({ path: ['calls', 'nodes', withRecording, 'recordings'], extensions: unavailable('TWENTY2') }),
      ]);
    });

    it.each(ENTRY_POINTS.map((e) => [e.name, e] as const))('through %s: the other call keeps its details', async (_name, entry) => {
      const [a, b] = twoCalls(listed.twenty2);
      h.sims.twenty2.server.targetedFaults.push({ match: lookupOf(h.sims, a.id), fault: HTTP_500 });
      const query = entry.query.replaceAll(FIELDS, `${FIELDS} ${DETAILS}`);
      const res = await h.gql(query, entry.variables([a.id, b.id]));
      const [first, second] = entry.answers(res.body.data);
      expect(first).toBeNull();
      expect(second).toMatchObject({ ...b, outputParameters: expect.anything() });
      expect(res.body.errors).toEqual([expect.objectContaining({ path: entry.path(0), extensions: unavailable('TWENTY2') })]);
    });
  });
});

describe('the cache of ended calls keeps no failure', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sims: () => startCanarySimulators(newCanary(), 30), env: { SWITCHBOARD_CACHE_MAX_ENTRIES: '1000' } });
  });
  afterAll(() => h.stop());

  it.each(PROVIDERS.map((p) => [p.key, p] as const))('%s: a call whose look-up failed is asked again by the next request, and found', async (key, p) => {
    const ended = (await listAll(h, p.provider)).filter((c) => ['COMPLETED', 'NO_ANSWER', 'FAILED', 'BUSY'].includes(c.status));
    const [a, b] = twoCalls(ended);
    const sim = serverOf(h.sims, key);
    sim.targetedFaults.push({ match: lookupOf(h.sims, a.id), fault: HTTP_500 });
    const failed = await h.gql(ENTRY_POINTS[0]!.query, { ids: [a.id, b.id] });
    expect(failed.body.data.nodes).toEqual([null, b]);
    sim.clearFaults();
    h.resetCounters();
    const again = await h.gql(ENTRY_POINTS[0]!.query, { ids: [a.id, b.id] });
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data.nodes).toEqual([a, b]);
    // a was asked upstream again; b, an ended call found before, came from the cache.
    expect(sim.requests.some(lookupOf(h.sims, a.id))).toBe(true);
    expect(sim.requests.some(lookupOf(h.sims, b.id))).toBe(false);
  });
});
