/**
 * Batching and laziness, counted at the simulators: what one GraphQL request costs each provider.
 * The contract: no detail request unless a detail field is selected; detail and by-id requests of
 * one request are batched and de-duplicated; a call already listed in the request is not fetched
 * again; and a connection never has more requests in flight than its concurrency cap.
 */
import { decodeCallId } from '../../src/calls/ids.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { RecordedRequest } from '../../src/simulation/harness.js';
import { keysLookedUp, lookupsAt } from '../helpers/modules.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

let h: Harness;

type Provider = import('../../src/calls/model.js').Provider;
interface Listed {
  id: string;
  provider: Provider;
  providerCallId: string | null;
  startedAt: string;
}

/** Every call of every provider, newest first, as `calls` lists them. */
const everyCall = Object.fromEntries(PROVIDER_MODULES.map((m) => [m.provider, [] as Listed[]])) as Record<Provider, Listed[]>;

const PROVIDERS: Provider[] = PROVIDER_MODULES.map((m) => m.provider);

beforeAll(async () => {
  h = await startHarness();
  for (const provider of PROVIDERS) {
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResponse = await h.gql(
        `query($after: String, $p: [Provider!]) {
          calls(first: 100, after: $after, filter: { providers: $p }) {
            nodes { id provider providerCallId startedAt }
            pageInfo { hasNextPage endCursor }
          }
        }`,
        { after, p: [provider] },
      );
      expect(res.body.errors).toBeUndefined();
      everyCall[provider].push(...res.body.data.calls.nodes);
      if (!res.body.data.calls.pageInfo.hasNextPage) break;
      after = res.body.data.calls.pageInfo.endCursor;
    }
  }
});
afterAll(() => h.stop());

beforeEach(() => {
  h.resetCounters();
  h.batches.length = 0;
  for (const server of h.sims.servers) server.latencyMs = 0;
});

/** An id in Switchboard's format for a call no provider has (ids are opaque to clients, not to tests). */
const unknownId = (provider: Provider, startedAt: string) =>
  Buffer.from(JSON.stringify(['Call', provider, 'default', `no_such_call_${provider.toLowerCase()}`, Date.parse(startedAt)])).toString('base64url');

/** Requests that looked calls up, per provider (each module's `lookedUp`): what a page without detail fields must never cause. */
const lookups = (): Record<Provider, RecordedRequest[]> =>
  Object.fromEntries(PROVIDERS.map((p) => [p, lookupsAt(h.sims, p)])) as Record<Provider, RecordedRequest[]>;
/** Look-up requests of every provider together. */
const allLookups = () => PROVIDERS.flatMap((p) => lookupsAt(h.sims, p));

/** The value `key` picks from each request, with how often each was asked. */
function repeated(requests: RecordedRequest[], key: (r: RecordedRequest) => string): string[] {
  const seen = new Map<string, number>();
  for (const r of requests) seen.set(key(r), (seen.get(key(r)) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

const sidOf = (r: RecordedRequest) => String((r.body as { sid?: unknown }).sid);
/** A request as the provider sees it: two equal ones asked the same thing twice. */
const asked = (r: RecordedRequest) => JSON.stringify([r.method, r.path, r.query, r.body ?? null]);

/** Requests per provider's simulator, for comparing two queries. */
const perSimulator = (): Record<Provider, number> =>
  Object.fromEntries(PROVIDERS.map((p) => [p, h.sims[p.toLowerCase() as Lowercase<Provider>].server.count()])) as Record<Provider, number>;

describe('laziness on a calls page', () => {
  const LEAN = `{ calls(first: 100) { nodes { id provider status startedAt from { phoneNumber } to { phoneNumber } cost { amount } } } }`;
  const DETAILED = `{ calls(first: 100) { nodes { id provider providerCallId transcript { url } outputParameters } } }`;

  it('makes no detail or by-id request when no detail field is selected', async () => {
    const res = await h.gql(LEAN);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.calls.nodes).toHaveLength(100);
    // The page holds calls of every provider, so laziness is tested for each.
    expect(new Set(res.body.data.calls.nodes.map((n: Listed) => n.provider))).toEqual(new Set(PROVIDERS));
    expect(allLookups()).toEqual([]);
    // No loader ran at all: Unpod (whose look-ups are list requests too) did no look-up either.
    expect(h.batches).toEqual([]);
  });

  it('with transcript and outputParameters: one detail request per call on the page of a provider whose list lacks them (Twenty2), none for the others', async () => {
    await h.gql(LEAN);
    const leanCost = perSimulator();
    h.resetCounters();
    h.batches.length = 0;

    const res = await h.gql(DETAILED);
    expect(res.body.errors).toBeUndefined();
    const nodes: Array<Listed & { transcript: { url: string } | null; outputParameters: unknown }> = res.body.data.calls.nodes;
    const cost = perSimulator();
    const expectedBatches = [];
    for (const provider of PROVIDERS) {
      const ids = nodes.filter((n) => n.provider === provider).map((n) => decodeCallId(n.id).key);
      const extra = cost[provider] - leanCost[provider];
      // Either the list rows are complete (nothing more asked), or one detail request per call of
      // the page, each asked once, in one details batch of the connection.
      if (extra === 0) continue;
      expect([provider, extra]).toEqual([provider, ids.length]);
      const looked = lookups()[provider].flatMap((r) => keysLookedUp(h.sims, provider, r));
      if (looked.length > 0) expect(looked.sort()).toEqual([...ids].sort());
      expect(repeated(h.sims[provider.toLowerCase() as Lowercase<Provider>].server.requests, asked)).toEqual([]);
      expectedBatches.push({ connection: `${provider.toLowerCase()}/default`, kind: 'details', size: ids.length });
    }
    // Twenty2's list has neither transcript nor output parameters (its quirk): it is one of them.
    expect(cost.TWENTY2 - leanCost.TWENTY2).toBe(nodes.filter((n) => n.provider === 'TWENTY2').length);
    expect(h.batches).toEqual(expectedBatches);
    // The details arrived (the simulator gives Twenty2 transcripts and TalkStack data).
    expect(nodes.some((n) => n.provider === 'TWENTY2' && n.transcript !== null)).toBe(true);
    expect(nodes.some((n) => n.provider === 'TALKSTACK' && n.outputParameters !== null)).toBe(true);
  });
});

describe('calls by id: nodes and _entities', () => {
  /** 49 calls per provider spread over the whole history, plus one unknown id each: 50 ids per provider. */
  function fiftyEach(): { ids: string[]; expected: Array<Listed | null> } {
    const perProvider = PROVIDERS.map((provider) => {
      const all = everyCall[provider];
      expect(all.length).toBeGreaterThanOrEqual(49 * 6);
      const known: Array<Listed | null> = Array.from({ length: 49 }, (_, i) => all[i * 6]!);
      // The unknown id sits beside real calls, so Unpod has to look in a real window for it.
      known.splice(20, 0, null);
      return known.map((call) => ({ call, id: call ? call.id : unknownId(provider, all[120]!.startedAt) }));
    });
    // Interleave the providers: order is the client's, not the providers'.
    const rows = Array.from({ length: 50 }, (_, i) => perProvider.map((list) => list[(i * 7) % 50]!)).flat();
    return { ids: rows.map((r) => r.id), expected: rows.map((r) => r.call) };
  }

  /**
   * What each provider was asked: nothing but look-ups (no list walks, no detail requests on top),
   * at most one per id (one per id where there is no batch endpoint), none asked twice, every
   * known call among what they looked up. Unpod, with no by-id endpoint, asks ranged lists: far
   * fewer than its 50 ids.
   */
  function expectMinimalUpstreamCost(expected: Array<Listed | null>) {
    const cost: Record<string, number> = {};
    for (const provider of PROVIDERS) {
      const requests = h.sims[provider.toLowerCase() as Lowercase<Provider>].server.requests;
      const looked = new Set(requests.flatMap((r) => keysLookedUp(h.sims, provider, r)));
      const wanted = expected.filter((c) => c?.provider === provider).map((c) => decodeCallId(c!.id).key);
      expect([provider, wanted.filter((id) => !looked.has(id))]).toEqual([provider, []]);
      expect([provider, requests.length <= 50, repeated(requests, asked)]).toEqual([provider, true, []]);
      expect([provider, lookupsAt(h.sims, provider).length]).toEqual([provider, requests.length]);
      cost[provider.toLowerCase()] = requests.length;
    }
    expect(h.sims.unpod.server.count()).toBeLessThanOrEqual(10);
    return cost;
  }

  it('nodes(50 ids per provider): in order, null for unknown ids, at most the requests the providers force', async () => {
    const { ids, expected } = fiftyEach();
    const res = await h.gql(
      `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Call { provider providerCallId startedAt transcript { url } } } }`,
      { ids },
    );
    expect(res.body.errors).toBeUndefined();
    const nodes: Array<Listed | null> = res.body.data.nodes;
    expect(nodes.map((n) => n && { id: n.id, provider: n.provider, providerCallId: n.providerCallId, startedAt: n.startedAt })).toEqual(expected);
    // Twenty2 look-ups come with details: the transcript cost no second request.
    const cost = expectMinimalUpstreamCost(expected);
    // One by-id batch per connection.
    expect(h.batches.filter((b) => b.kind === 'details')).toEqual([]);
    expect(h.batches.map((b) => `${b.connection}:${b.size}`).sort()).toEqual(PROVIDERS.map((p) => `${p.toLowerCase()}/default:50`).sort());
    process.stdout.write(`nodes(${ids.length} ids) upstream requests: ${JSON.stringify(cost)}\n`);
  });

  it('_entities with the same representations: same order, same nulls, same cost', async () => {
    const { ids, expected } = fiftyEach();
    const res = await h.gql(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id provider providerCallId startedAt } } }`,
      { r: ids.map((id) => ({ __typename: 'Call', id })) },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data._entities).toEqual(expected);
    const cost = expectMinimalUpstreamCost(expected);
    process.stdout.write(`_entities(${ids.length}) upstream requests: ${JSON.stringify(cost)}\n`);
  });

  it('asks upstream once for an id given twice', async () => {
    const twenty2 = everyCall.TWENTY2[3]!;
    const talkstack = everyCall.TALKSTACK[3]!;
    const res = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, {
      ids: [twenty2.id, talkstack.id, twenty2.id, talkstack.id],
    });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.nodes.map((n: { id: string }) => n.id)).toEqual([twenty2.id, talkstack.id, twenty2.id, talkstack.id]);
    expect(h.sims.twenty2.server.requests.map((r) => r.query.call_id)).toEqual([twenty2.providerCallId]);
    expect(h.sims.talkstack.server.requests.map(sidOf)).toEqual([talkstack.providerCallId]);
  });
});

describe('a call already listed in the request', () => {
  // Root fields run in parallel: the look-up must wait for the list instead of racing it.
  it.each([
    ['call after calls', (id: string) => `{ calls(first: 20) { nodes { id } } call(id: "${id}") { id provider transcript { url } } }`],
    ['call before calls', (id: string) => `{ call(id: "${id}") { id provider transcript { url } } calls(first: 20) { nodes { id } } }`],
    ['nodes beside calls', (id: string) => `{ nodes(ids: ["${id}"]) { id } calls(first: 20) { nodes { id } } }`],
    ['_entities beside calls', (id: string) => `{ _entities(representations: [{ __typename: "Call", id: "${id}" }]) { ... on Call { id } } calls(first: 20) { nodes { id } } }`],
  ])('%s: no look-up of a call on the page', async (_name, query) => {
    const page = await h.gql(`{ calls(first: 20) { nodes { id provider providerCallId } } }`);
    const listed: Listed[] = page.body.data.calls.nodes;
    const pick = (p: Provider) => listed.find((n) => n.provider === p)!;
    for (const provider of PROVIDERS) {
      const call = pick(provider);
      expect(call).toBeDefined();
      h.resetCounters();
      h.batches.length = 0;
      const res = await h.gql(query(call.id));
      expect(res.body.errors).toBeUndefined();
      expect(JSON.stringify(res.body.data)).toContain(call.id);
      // A Twenty2 transcript still needs its one detail request (a look-up of that call, Twenty2's
      // quirk); no other call is looked up, and no call batch ran.
      const withTranscript = query(call.id).includes('transcript');
      expect(allLookups().length).toBeLessThanOrEqual(withTranscript ? 1 : 0);
      if (provider === 'TWENTY2') expect(allLookups()).toHaveLength(withTranscript ? 1 : 0);
      expect(h.batches.filter((b) => b.kind === 'call')).toEqual([]);
    }
  });

  it('a call not on the page is still looked up, once', async () => {
    const far = everyCall.TWENTY2[250]!;
    const res = await h.gql(`{ calls(first: 5) { nodes { id } } call(id: "${far.id}") { id } }`);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.call).toEqual({ id: far.id });
    expect(lookups().TWENTY2.map((r) => r.query.call_id)).toEqual([far.providerCallId]);
    expect(allLookups()).toHaveLength(1);
  });
});

describe('concurrency cap', () => {
  it('200 Twenty2 look-ups never have more than 16 requests in flight at the provider', async () => {
    const server = h.sims.twenty2.server;
    server.latencyMs = 50; // room for 16 requests to go out before the first answer, on a loaded machine too
    const ids = everyCall.TWENTY2.slice(0, 200).map((c) => c.id);
    const started = Date.now();
    const res = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    const elapsed = Date.now() - started;
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.nodes.map((n: { id: string }) => n.id)).toEqual(ids);
    expect(server.count('/call/detail')).toBe(200);
    // The cap holds, and is used: the look-ups ran side by side, not one by one.
    expect(server.maxInFlight).toBeLessThanOrEqual(16);
    expect(server.maxInFlight).toBeGreaterThanOrEqual(8);
    expect(server.inFlight).toBe(0);
    // Keep-alive: the 200 requests reuse the connections of the first 16 instead of opening their own.
    expect(server.connectionsOpened).toBeLessThanOrEqual(16);
    // 200 requests of 50 ms, 16 at a time: at least 13 rounds.
    expect(elapsed).toBeGreaterThanOrEqual(Math.floor(200 / 16) * 50);
    process.stdout.write(`200 Twenty2 look-ups: max in flight ${server.maxInFlight}, ${server.connectionsOpened} connections opened, ${elapsed} ms\n`);
  });

  it('the largest nodes (500 ids, 300 of one provider) resolves every id: look-ups queue, none is refused', async () => {
    for (const sim of h.sims.servers) sim.latencyMs = 5;
    const ids = [
      ...everyCall.TWENTY2.slice(0, 300),
      ...everyCall.TALKSTACK.slice(0, 100),
      ...everyCall.CINNOX.slice(0, 100),
    ].map((c) => c.id);
    expect(ids).toHaveLength(500);
    const res = await h.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.nodes.map((n: { id: string }) => n.id)).toEqual(ids);
    expect(h.sims.twenty2.server.count('/call/detail')).toBe(300);
    for (const sim of [h.sims.twenty2, h.sims.talkstack, h.sims.cinnox]) expect(sim.server.maxInFlight).toBeLessThanOrEqual(16);
  });
});

describe('a raised concurrency cap', () => {
  it('is the only cap: 100 look-ups with SWITCHBOARD_UPSTREAM_CONCURRENCY=100 are all in flight at once', async () => {
    const wide = await startHarness({ env: { SWITCHBOARD_UPSTREAM_CONCURRENCY: '100' } });
    try {
      const page = await wide.gql(`{ calls(first: 100, filter: { providers: [TWENTY2] }) { nodes { id } } }`);
      const ids = page.body.data.calls.nodes.map((n: { id: string }) => n.id);
      const server = wide.sims.twenty2.server;
      // Long enough that the last of 100 new connections opens before the first answer comes back,
      // even on a loaded machine (at 50 ms a CI run once saw 83 at once); a socket cap shows at any latency.
      server.latencyMs = 500;
      wide.resetCounters();
      // A fresh request: the page above primed only its own loaders.
      const res = await wide.gql(`query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Call { outputParameters } } }`, { ids });
      expect(res.body.errors).toBeUndefined();
      expect(server.count('/call/detail')).toBe(100);
      // No per-host socket limit below the cap (the agent once allowed 64, sending two waves).
      expect(server.maxInFlight).toBe(100);
    } finally {
      await wide.stop();
    }
  });
});
