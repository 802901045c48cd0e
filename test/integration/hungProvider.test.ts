/**
 * A hung or failing provider holds no answer longer than its budget for the request, and while one
 * half-open probe tests it, every other request answers at once without it — at every entry point.
 * Over real HTTP against the simulators; what each client got and which requests reached the
 * provider are counted, never timed (the jest time-outs are the only clocks, and generous).
 */
import { startSimulators } from '../../src/demo.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';
import { PROVIDERS, serverOf } from '../helpers/resilience.js';

const LIST = '{ calls(first: 40) { nodes { id provider } } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

type Errors = NonNullable<GraphQLResponse['body']['errors']>;
const failuresOf = (res: GraphQLResponse, provider: string): Errors =>
  (res.body.errors ?? []).filter((e) => e.extensions?.provider === provider);

describe('a half-open probe holds no other request', () => {
  let h: Harness;
  const OPEN_MS = 300;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startSimulators({ count: 20 }),
      configure: (c) => ({
        ...c,
        // A hang lasts until the test releases it: no time-out ends it first.
        http: { ...c.http, responseTimeoutMs: 60_000, totalTimeoutMs: 60_000, requestBudgetMs: 60_000, retries: 0, breakerThreshold: 1, breakerOpenMs: OPEN_MS },
      }),
    });
  });
  afterAll(() => h.stop());
  afterEach(() => h.sims.servers.forEach((s) => (s.clearFaults(), s.releaseHung())));

  it.each(PROVIDERS)('$key: calls, call, node, nodes, _entities and detail fields answer at once during the probe', async (p) => {
    const sim = serverOf(h.sims, p.key);
    const listed = await h.gql(`{ calls(first: 3, filter: { providers: [${p.provider}] }) { nodes { id } } }`);
    const ids: string[] = listed.body.data.calls.nodes.map((n: { id: string }) => n.id);
    expect(ids).toHaveLength(3);

    // One failure opens the breaker; then the provider hangs.
    sim.faultQueue.push({ kind: 'status', status: 500 });
    expect(failuresOf(await h.gql(LIST), p.provider)).toHaveLength(1);
    sim.persistentFault = { kind: 'hang' };
    await sleep(OPEN_MS + 100); // at least the open period: the next request is the probe
    h.resetCounters();
    const probe = h.gql(LIST);
    let probeAnswered = false;
    void probe.then(() => (probeAnswered = true));
    await until(() => sim.hanging === 1);

    // Old behaviour: each of these waits for the probe. Should that happen, the provider recovers
    // after a while so the assertions below can say so instead of the test timing out.
    const unstick = setTimeout(() => (sim.clearFaults(), sim.releaseHung()), 10_000);
    const during = await Promise.all([
      h.gql(LIST),
      h.gql('query($id: ID!) { call(id: $id) { id recordings { url } } }', { id: ids[0] }),
      h.gql('query($id: ID!) { node(id: $id) { id } }', { id: ids[1] }),
      h.gql('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids }),
      h.gql('query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }', {
        r: ids.map((id) => ({ __typename: 'Call', id })),
      }),
    ]);
    clearTimeout(unstick);

    expect(probeAnswered).toBe(false);
    expect(sim.count()).toBe(1); // the probe, and nothing else
    for (const res of during) {
      expect(res.status).toBe(200);
      const failures = failuresOf(res, p.provider);
      expect(failures.length).toBeGreaterThanOrEqual(1);
      for (const failure of failures) {
        expect(failure.extensions).toEqual({ code: 'PROVIDER_UNAVAILABLE', provider: p.provider, connection: 'default' });
        expect(failure.message).toMatch(/paused/);
      }
    }
    // The list still brings every other provider's calls.
    const others = new Set(during[0]!.body.data.calls.nodes.map((n: { provider: string }) => n.provider));
    expect(others).toEqual(new Set(PROVIDERS.filter((x) => x.key !== p.key).map((x) => x.provider)));

    // The provider recovers: the probe gets its answer and closes the breaker.
    sim.clearFaults();
    expect(sim.releaseHung()).toBe(1);
    const answered = await probe;
    expect(answered.body.errors).toBeUndefined();
    const after = await h.gql(LIST);
    expect(after.body.errors).toBeUndefined();
    expect(sim.count()).toBe(2);
  }, 30_000);
});

describe('requests queued behind a hung provider', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      configure: (c) => ({
        ...c,
        http: { ...c.http, concurrency: 1, queueSize: 10, responseTimeoutMs: 1000, totalTimeoutMs: 1000, requestBudgetMs: 60_000, retries: 0, breakerThreshold: 1, breakerOpenMs: 60_000 },
      }),
    });
  });
  afterAll(() => h.stop());

  it('are not sent once the breaker opened while they waited for a slot', async () => {
    const sim = h.sims.twenty2.server;
    sim.persistentFault = { kind: 'hang' };
    const TWENTY2 = '{ calls(first: 5, filter: { providers: [TWENTY2] }) { nodes { id } } }';
    const answers = await Promise.all([h.gql(TWENTY2), h.gql(TWENTY2), h.gql(TWENTY2)]);
    // The first timed out and opened the breaker; the two queued behind it never reached Twenty2.
    expect(sim.count()).toBe(1);
    const messages = answers.map((res) => {
      expect(failuresOf(res, 'TWENTY2')).toHaveLength(1);
      return failuresOf(res, 'TWENTY2')[0]!.message;
    });
    expect(messages.filter((m) => /did not answer in time/.test(m))).toHaveLength(1);
    expect(messages.filter((m) => /paused/.test(m))).toHaveLength(2);
  }, 30_000);
});

describe("a request's time budget per connection", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      configure: (c) => ({
        ...c,
        http: {
          ...c.http,
          concurrency: 1,
          queueSize: 10,
          // The provider's own time-outs would let a hang last a minute; the budget ends it first.
          responseTimeoutMs: 60_000,
          totalTimeoutMs: 60_000,
          requestBudgetMs: 1000,
          retries: 2,
          maxRetryAfterMs: 5000,
          breakerThreshold: 1000,
        },
      }),
    });
  });
  afterAll(() => h.stop());
  afterEach(() => h.sims.servers.forEach((s) => (s.clearFaults(), s.releaseHung())));

  it('ends the wait in flight and in the queue, and never sends what waited past it', async () => {
    const sim = h.sims.twenty2.server;
    sim.persistentFault = { kind: 'hang' };
    h.resetCounters();
    // Three lists of one request share its Twenty2 budget; with one slot, two wait behind the hung
    // one. Jest's time-out is the only clock: without the budget each would wait for a minute.
    const res = await h.gql(`{ a: ${LIST.slice(2, -2)} b: ${LIST.slice(2, -2)} c: ${LIST.slice(2, -2)} }`);
    expect(sim.count()).toBe(1);
    const failures = failuresOf(res, 'TWENTY2');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    for (const failure of failures) {
      expect(failure.message).toMatch(/did not answer in time: this request's time budget for it ran out/);
    }
    for (const alias of ['a', 'b', 'c']) {
      expect(new Set(res.body.data[alias].nodes.map((n: { provider: string }) => n.provider))).toEqual(new Set(PROVIDERS.filter((x) => x.provider !== 'TWENTY2').map((x) => x.provider)));
    }
    await until(() => sim.hanging === 0); // the hung request's socket was closed
  }, 20_000);

  it('sends no retry whose Retry-After would end past it, and says when to come back', async () => {
    const sim = h.sims.unpod.server;
    sim.persistentFault = { kind: 'status', status: 503, retryAfter: '2' };
    h.resetCounters();
    const res = await h.gql(LIST);
    expect(sim.count()).toBe(1);
    expect(failuresOf(res, 'UNPOD').map((e) => e.extensions)).toEqual([
      { code: 'PROVIDER_UNAVAILABLE', provider: 'UNPOD', connection: 'default', retryAfter: 2 },
    ]);
  });

  it('still retries what fits in it', async () => {
    const sim = h.sims.cinnox.server;
    sim.faultQueue.push({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    h.resetCounters();
    const res = await h.gql(LIST);
    expect(res.body.errors).toBeUndefined();
    expect(sim.count()).toBe(3);
  });
});
