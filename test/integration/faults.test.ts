/**
 * The fault matrix: each simulator through each fault the harness can make, over real HTTP.
 * Whatever one provider does, Switchboard answers 200 with the other providers' calls, an error
 * naming the failed provider and connection, the number of upstream requests the policy promises,
 * and within the time-out budget.
 */
import type { Fault } from '../../src/simulation/harness.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { PROVIDERS, newCanary, serverOf, startCanarySimulators } from '../helpers/resilience.js';

const LIST = '{ calls(first: 40) { nodes { id provider } } }';
const TOTAL_TIMEOUT_MS = 800;
const RESPONSE_TIMEOUT_MS = 500;

interface Case {
  name: string;
  /** Faults queued for the next requests. */
  queue?: Fault[];
  /** A fault for every request. */
  persistent?: Fault;
  /** Requests the failing simulator must receive. */
  hits: number;
  /** false: the provider recovers within the retries and its calls are present with no error. */
  fails: boolean;
  /** The failure kind the upstream_failure log line must name. */
  failure?: string;
  retryAfter?: number;
  /** And take at least this long (a Retry-After honoured). */
  atLeastMs?: number;
}

// Harness below: retries 2, responses 500 ms, whole request 800 ms, Retry-After honoured up to 2 s.
const cases: Case[] = [
  { name: '500 (retried twice, then given up)', persistent: { kind: 'status', status: 500 }, hits: 3, fails: true },
  { name: '503, 503, 200 (recovered by the retries)', queue: [{ kind: 'status', status: 503 }, { kind: 'status', status: 503 }], hits: 3, fails: false },
  { name: 'hang (not retried: time-outs would multiply)', queue: [{ kind: 'hang' }], hits: 1, fails: true },
  { name: 'slow body', queue: [{ kind: 'slowBody', delayMs: 5000 }], hits: 1, fails: true },
  { name: 'connection reset (retried)', persistent: { kind: 'reset' }, hits: 3, fails: true },
  { name: 'invalid JSON', queue: [{ kind: 'invalidJson' }], hits: 1, fails: true },
  { name: 'HTML with 200', queue: [{ kind: 'html' }], hits: 1, fails: true },
  { name: 'oversized body', queue: [{ kind: 'oversized', bytes: 3_000_000 }], hits: 1, fails: true, failure: 'TOO_LARGE' },
  { name: 'oversized once inflated (3 MB in a few kB of gzip)', queue: [{ kind: 'oversized', bytes: 3_000_000, gzip: true }], hits: 1, fails: true, failure: 'TOO_LARGE' },
  { name: 'gzip-encoded answer (inflated and read)', queue: [{ kind: 'gzip' }], hits: 1, fails: false },
  { name: '429 with a short Retry-After (waited for, then served)', queue: [{ kind: 'status', status: 429, retryAfter: '1' }], hits: 2, fails: false, atLeastMs: 950 },
  { name: '429 with a long Retry-After (fails fast)', queue: [{ kind: 'status', status: 429, retryAfter: '120' }], hits: 1, fails: true, retryAfter: 120 },
  { name: '401 (not retried)', queue: [{ kind: 'status', status: 401, body: '{"detail":"Invalid token."}' }], hits: 1, fails: true },
  { name: 'a body that fails its schema', queue: [{ kind: 'wrongShape' }], hits: 1, fails: true },
];

describe('fault matrix', () => {
  let h: Harness;
  beforeAll(async () => {
    const canary = newCanary();
    h = await startHarness({
      sims: () => startCanarySimulators(canary, 30),
      configure: (c) => ({
        ...c,
        http: {
          ...c.http,
          totalTimeoutMs: TOTAL_TIMEOUT_MS,
          responseTimeoutMs: RESPONSE_TIMEOUT_MS,
          connectTimeoutMs: 300,
          retries: 2,
          maxRetryAfterMs: 2000,
          // Failures of one case must not open the breaker for the next: tested on its own below.
          breakerThreshold: 1000,
          maxBodyBytes: 512 * 1024,
        },
      }),
    });
  });
  afterAll(() => h.stop());
  afterEach(() => h.sims.servers.forEach((s) => s.clearFaults()));

  const everyone = new Set(PROVIDERS.map((p) => p.provider));

  for (const p of PROVIDERS) {
    describe(p.key, () => {
      it.each(cases)('$name', async (c) => {
        const sim = serverOf(h.sims, p.key);
        h.resetCounters();
        h.logs.length = 0;
        if (c.queue) sim.faultQueue.push(...c.queue);
        if (c.persistent) sim.persistentFault = c.persistent;
        const started = performance.now();
        const res = await h.gql(LIST);
        const elapsed = performance.now() - started;

        expect(res.status).toBe(200);
        const providers = new Set<string>(res.body.data.calls.nodes.map((n: { provider: string }) => n.provider));
        const others = [...everyone].filter((x) => x !== p.provider);
        for (const other of others) expect(providers).toContain(other);
        // List requests: look-ups of resources other than calls (Vapi's phone numbers) are not counted.
        const listRequests = (server: typeof sim) => server.count() - server.countAuxiliary();
        expect(listRequests(sim)).toBe(c.hits);
        // Every other simulator answered its one list request, untouched by the fault.
        for (const other of PROVIDERS.filter((x) => x.key !== p.key)) expect(listRequests(serverOf(h.sims, other.key))).toBe(1);
        // No upper bound on time (a loaded machine would fail it): the hit count proves the retries
        // stopped, and `fails` that a hung or slow answer was cut by the time-outs rather than
        // awaited. A lower bound is safe: a Retry-After must have been waited for.
        if (c.atLeastMs) expect(elapsed).toBeGreaterThanOrEqual(c.atLeastMs);

        if (c.fails) {
          expect(providers.has(p.provider)).toBe(false);
          expect(res.body.errors).toHaveLength(1);
          const error = res.body.errors![0]!;
          expect(error.path).toEqual(['calls']);
          expect(error.extensions).toEqual({
            code: 'PROVIDER_UNAVAILABLE',
            provider: p.provider,
            connection: 'default',
            ...(c.retryAfter !== undefined ? { retryAfter: c.retryAfter } : {}),
          });
          expect(error.message).toMatch(/connection "default"/);
          if (c.failure) {
            const failures = h.logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'upstream_failure');
            expect(failures.map((entry) => [entry.provider, entry.failure])).toContainEqual([p.provider, c.failure]);
          }
        } else {
          expect(res.body.errors).toBeUndefined();
          expect(providers.has(p.provider)).toBe(true);
        }

        // Next request, no fault: the provider is back at once (no breaker opened, nothing cached).
        sim.clearFaults();
        h.resetCounters();
        const after = await h.gql(LIST);
        expect(after.body.errors).toBeUndefined();
        expect(new Set(after.body.data.calls.nodes.map((n: { provider: string }) => n.provider))).toEqual(everyone);
      });
    });
  }
});

describe('circuit breaker', () => {
  let h: Harness;
  const OPEN_MS = 1200;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(newCanary(), 20),
      configure: (c) => ({
        ...c,
        http: { ...c.http, totalTimeoutMs: 800, responseTimeoutMs: 500, retries: 0, breakerThreshold: 3, breakerOpenMs: OPEN_MS },
      }),
    });
  });
  afterAll(() => h.stop());

  it.each(PROVIDERS)('$key: opens after 3 failures, sends nothing while open, closes after one good probe', async (p) => {
    const sim = serverOf(h.sims, p.key);
    sim.persistentFault = { kind: 'status', status: 500 };
    h.resetCounters();
    for (let i = 0; i < 3; i++) {
      const res = await h.gql(LIST);
      expect(res.status).toBe(200);
      expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', provider: p.provider, connection: 'default' });
    }
    expect(sim.count()).toBe(3);

    // Open: the provider receives no request (so nothing waits on it), the others still answer.
    // No wall-clock bound here: a loaded CI machine once took 506 ms for this answer.
    const open = await h.gql(LIST);
    expect(open.status).toBe(200);
    expect(sim.count()).toBe(3);
    expect(open.body.errors).toHaveLength(1);
    expect(open.body.errors![0]!.extensions).toEqual({ code: 'PROVIDER_UNAVAILABLE', provider: p.provider, connection: 'default' });
    expect(open.body.errors![0]!.message).toMatch(/paused/);
    expect(open.body.data.calls.nodes.length).toBeGreaterThan(0);
    const health = (await (await fetch(h.server.url.replace('/graphql', '/health'))).json()) as { connections: Array<Record<string, unknown>> };
    expect(JSON.stringify(health)).toMatch(new RegExp(`${p.label}.*open|open.*${p.label}`));

    // After the open period one probe goes through; it succeeds and the breaker closes.
    sim.clearFaults();
    await new Promise((r) => setTimeout(r, OPEN_MS + 100));
    const probe = await h.gql(LIST);
    expect(probe.body.errors).toBeUndefined();
    expect(sim.count()).toBe(4);
    const closed = await h.gql(LIST);
    expect(closed.body.errors).toBeUndefined();
    expect(sim.count()).toBe(5);
  });
});

describe('paging on past a failed connection', () => {
  let h: Harness;
  const PAGE = `query Page($first: Int, $after: String, $last: Int, $before: String) {
    calls(first: $first, after: $after, last: $last, before: $before) { nodes { id provider } pageInfo { endCursor startCursor hasNextPage } }
  }`;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(newCanary(), 15),
      configure: (c) => ({ ...c, http: { ...c.http, totalTimeoutMs: 800, responseTimeoutMs: 500 } }),
    });
  });
  afterAll(() => h.stop());
  afterEach(() => h.sims.servers.forEach((s) => s.clearFaults()));

  const earlier = (errors: Array<{ message: string; extensions?: Record<string, unknown> }> | undefined) =>
    (errors ?? []).filter((e) => /earlier page/.test(e.message));

  it('says on every later page that the failed connection\'s earlier calls were not returned', async () => {
    h.sims.unpod.server.persistentFault = { kind: 'status', status: 500 };
    const first = await h.gql(PAGE, { first: 10 });
    expect(first.body.errors).toHaveLength(1);
    expect(first.body.data.calls.nodes.some((n: { provider: string }) => n.provider === 'UNPOD')).toBe(false);
    h.sims.unpod.server.clearFaults();

    // Unpod is back: its calls after the cursor come, and the gap before it is reported.
    let after = first.body.data.calls.pageInfo.endCursor;
    const second = await h.gql(PAGE, { first: 10, after });
    expect(second.status).toBe(200);
    expect(earlier(second.body.errors)).toEqual([
      {
        message: expect.stringMatching(/Unpod connection "default" failed on an earlier page.*start again from the first page/),
        path: ['calls'],
        extensions: { code: 'PROVIDER_UNAVAILABLE', provider: 'UNPOD', connection: 'default' },
      },
    ]);
    expect(second.body.errors).toHaveLength(1);
    expect(second.body.data.calls.nodes.length).toBe(10);

    // Carried forward to the end of the walk, on every page.
    after = second.body.data.calls.pageInfo.endCursor;
    let pages = 0;
    for (let more = true; more; pages++) {
      const page = await h.gql(PAGE, { first: 10, after });
      expect(earlier(page.body.errors)).toHaveLength(1);
      more = page.body.data.calls.pageInfo.hasNextPage;
      after = page.body.data.calls.pageInfo.endCursor;
    }
    expect(pages).toBeGreaterThan(1);

    // Backward from a cursor of that walk says so too.
    const back = await h.gql(PAGE, { last: 3, before: second.body.data.calls.pageInfo.endCursor });
    expect(earlier(back.body.errors)).toHaveLength(1);

    // A walk started again from the first page is whole and carries no such error.
    let fresh: string | null = null;
    const seen: string[] = [];
    for (let more = true; more; ) {
      const page: { body: any } = await h.gql(PAGE, { first: 10, after: fresh });
      expect(page.body.errors).toBeUndefined();
      seen.push(...page.body.data.calls.nodes.map((n: { id: string }) => n.id));
      more = page.body.data.calls.pageInfo.hasNextPage;
      fresh = page.body.data.calls.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(15 * PROVIDERS.length); // 15 calls on each provider's simulator
  });

  it('a connection failing in the middle of a walk is reported from the next page on', async () => {
    const first = await h.gql(PAGE, { first: 10 });
    expect(first.body.errors).toBeUndefined();
    h.sims.cinnox.server.persistentFault = { kind: 'hang' };
    const second = await h.gql(PAGE, { first: 10, after: first.body.data.calls.pageInfo.endCursor });
    expect(second.body.errors?.map((e: { extensions?: Record<string, unknown> }) => e.extensions?.provider)).toEqual(['CINNOX']);
    h.sims.cinnox.server.clearFaults();
    const third = await h.gql(PAGE, { first: 10, after: second.body.data.calls.pageInfo.endCursor });
    expect(earlier(third.body.errors).map((e) => e.extensions?.provider)).toEqual(['CINNOX']);
  });

  it('cursors of pages without failures carry nothing extra (same page, same cursor)', async () => {
    const a = await h.gql(PAGE, { first: 5 });
    const b = await h.gql(PAGE, { first: 5 });
    expect(a.body.data.calls.pageInfo.endCursor).toBe(b.body.data.calls.pageInfo.endCursor);
    const payload = JSON.parse(Buffer.from(a.body.data.calls.pageInfo.endCursor.split('.')[0], 'base64url').toString());
    expect(payload.m).toBeUndefined();
  });
});
