/**
 * A connection's upstream request rate (SWITCHBOARD_UPSTREAM_RATE_PER_SECOND; src/providers/rate.ts),
 * over HTTP against the simulators: without Redis, one process keeps it and refuses what cannot wait;
 * with Redis, two Switchboard instances share one budget. The bounds count the simulator's requests
 * against the one-second windows the run could touch (its measured length only widens the bound);
 * nothing asserts timing.
 */
import { Redis } from 'ioredis';
import type { Simulators } from '../../src/demo.js';
import { freePort } from '../helpers/ports.js';
import { type Replicas, startReplicas } from '../helpers/replicas.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const UNPOD_PAGE = '{ calls(first: 5, filter: { providers: [UNPOD] }) { nodes { id } } }';
const unpodOnly = (sims: Simulators) => sims.connections.filter((c) => c.provider === 'UNPOD');

/**
 * Most requests a budget of `perSecond` lets through in `elapsedMs`: a full budget in each window the
 * run can touch. A window opens with its first request and lasts a second, so a run of E ms touches
 * at most ceil(E / 1000) + 1 of them.
 */
const most = (perSecond: number, elapsedMs: number) => perSecond * (Math.ceil(elapsedMs / 1000) + 1);

// Unreachable Redis: each instance falls back to its own in-memory budget (the insurance limiter).
describe.each([
  ['without Redis', async () => ({})],
  ['with Redis unreachable', async () => ({ REDIS_URL: `redis://rateuser:s3cret-passw0rd@127.0.0.1:${await freePort()}` })],
])('%s', (name, redisEnv) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      connections: unpodOnly,
      env: { SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: '2', SWITCHBOARD_UPSTREAM_BUDGET_MS: '200', ...(await redisEnv()) },
    });
  });
  afterAll(() => h?.stop());

  it('sends no more than the budget; what cannot get a turn within its time budget is a coded error naming the connection, not a 500', async () => {
    h.resetCounters();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => h.gql(UNPOD_PAGE)));
    const elapsed = performance.now() - started;
    for (const answer of answers) expect(answer.status).toBe(200);
    const errors = answers.flatMap((a) => a.body.errors ?? []);
    // Each failure names the connection; on a loaded machine a request that got its turn may still
    // run out of its 200 ms (the time-budget message), but those over the rate are refused as such.
    for (const error of errors) {
      expect(error.extensions).toEqual(expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'UNPOD', connection: 'default' }));
    }
    expect(errors).toContainEqual(
      expect.objectContaining({
        message: 'Unpod connection "default" is rate limiting requests: its budget of 2 requests a second is used up for longer than this request can wait',
        extensions: expect.objectContaining({ retryAfter: 1 }),
      }),
    );
    // Refused requests are never sent: the simulator saw no more than the budget.
    expect(h.upstreamCount()).toBeLessThanOrEqual(most(2, elapsed));
    if (name === 'with Redis unreachable') {
      const logs = h.logs.join('');
      expect(logs).toContain('upstream rate: Redis unavailable (ECONNREFUSED');
      expect(logs).not.toContain('s3cret-passw0rd');
    }
  });
});

describe('with Redis, two instances', () => {
  let replicas: Replicas;
  let sims: Simulators;
  let a: Harness;
  let b: Harness;
  const RATE = 5;

  beforeAll(async () => {
    // A long time budget: requests over the rate wait for their turn rather than fail.
    replicas = await startReplicas({ sims: {}, harness: { connections: unpodOnly, env: { SWITCHBOARD_UPSTREAM_RATE_PER_SECOND: String(RATE) } } });
    ({ sims, a, b } = replicas);
  });

  afterAll(() => replicas?.stop());

  it('share one budget: the provider sees at most the configured rate across both', async () => {
    sims.servers.forEach((s) => s.resetCounters());
    const total = () => sims.servers.reduce((n, s) => n + s.count(), 0);
    // Three callers per instance, each sending two pages one after the other (a page is two Unpod
    // requests): 24 requests, more than either instance alone may send in a second.
    const started = performance.now();
    const caller = async (h: Harness) => {
      for (let i = 0; i < 2; i++) {
        const answer = await h.gql(UNPOD_PAGE);
        expect(answer.body.errors).toBeUndefined();
      }
    };
    await Promise.all([a, a, a, b, b, b].map(caller));
    const elapsed = performance.now() - started;
    // Every page was answered (each request waited for its turn). Two separate budgets would have let
    // 2 × RATE a second through, finishing in about half the time and breaking this bound.
    expect(total()).toBeGreaterThanOrEqual(12);
    expect(total()).toBeLessThanOrEqual(most(RATE, elapsed));
  });

  it('keys the budget by the connection (label and a hash of its non-secret settings) in Redis', async () => {
    const client = new Redis(replicas.redis.url);
    try {
      await a.gql(UNPOD_PAGE);
      const keys = await client.keys('*:rate*');
      expect(keys).toEqual([expect.stringMatching(/^sb:v1:unpod\/default:[A-Za-z0-9_-]{16}:rate:upstream$/)]);
      // No credential in the key.
      expect(keys[0]).not.toContain(String((sims.connections.find((c) => c.provider === 'UNPOD')!.settings as { token: string }).token));
    } finally {
      client.disconnect();
    }
  });
});
