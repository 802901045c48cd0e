/**
 * The cache of ended calls, over real HTTP: two Switchboard instances share a real redis-server
 * (started here on a random port), so what one fetched the other answers without asking the
 * provider. Calls still in flight and list pages are never served from it, and entries are per
 * connection. redis-server must be on PATH (`npm test` installs it first where it can, or stops
 * naming it: test/prerequisites.ts); without it these tests fail.
 */
import { startSimulators, type Simulators } from '../../src/demo.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const DETAIL = `query Detail($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { id status transcript { url } outputParameters } } }`;
const LIST = `query List($first: Int) { calls(first: $first, filter: { providers: [TWENTY2] }) { nodes { id status outputParameters } } }`;

let redis: RedisServer;
let redisUrl: string;
let sims: Simulators;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  redis = await startRedis();
  redisUrl = redis.url;
  sims = await startSimulators();
  const shared = { sims: async () => sims, env: { REDIS_URL: redisUrl } };
  a = await startHarness(shared);
  b = await startHarness(shared);
});

afterAll(async () => {
  await b?.server.stop();
  await a?.server.stop();
  await sims?.close();
  await redis?.stop();
});

/** Global ids of Twenty2 calls by their provider status, as instance `h` issues them. */
async function twenty2Ids(h: Harness, statuses: readonly string[], count: number): Promise<string[]> {
  const res = await h.gql(`{ calls(first: 100, filter: { providers: [TWENTY2] }) { nodes { id providerStatus } } }`);
  expect(res.body.errors).toBeUndefined();
  const nodes = res.body.data.calls.nodes as { id: string; providerStatus: string }[];
  const ids = nodes.filter((n) => statuses.includes(n.providerStatus)).map((n) => n.id).slice(0, count);
  expect(ids).toHaveLength(count);
  return ids;
}

describe('shared cache (Redis)', () => {
  it('a second instance answers a detail query for ended calls with zero upstream requests', async () => {
    const ids = await twenty2Ids(a, ['completed', 'failed', 'not_connected'], 6);
    sims.servers.forEach((s) => s.resetCounters());

    const first = await a.gql(DETAIL, { ids });
    expect(first.body.errors).toBeUndefined();
    expect(sims.twenty2.server.count('/call/detail')).toBe(6);
    expect(first.body.data.nodes.some((n: { transcript: unknown }) => n.transcript !== null)).toBe(true);

    sims.servers.forEach((s) => s.resetCounters());
    const second = await b.gql(DETAIL, { ids });
    expect(second.body.errors).toBeUndefined();
    expect(sims.servers.reduce((n, s) => n + s.count(), 0)).toBe(0);
    expect(second.body.data).toEqual(first.body.data);
  });

  it('fetches calls still in flight every time', async () => {
    const [id] = await twenty2Ids(a, ['connected', 'initiated'], 1);
    await a.gql(DETAIL, { ids: [id] });
    sims.servers.forEach((s) => s.resetCounters());
    const res = await b.gql(DETAIL, { ids: [id] });
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.nodes[0].status).toMatch(/INITIATED|IN_PROGRESS/);
    expect(sims.twenty2.server.count('/call/detail')).toBe(1);
  });

  it('never caches list pages, but serves the details of their ended calls from the cache', async () => {
    await a.gql(LIST, { first: 20 });
    sims.servers.forEach((s) => s.resetCounters());
    const res = await b.gql(LIST, { first: 20 });
    expect(res.body.errors).toBeUndefined();
    const nodes = res.body.data.calls.nodes as { status: string }[];
    const inFlight = nodes.filter((n) => ['INITIATED', 'IN_PROGRESS', 'QUEUED', 'RINGING', 'UNKNOWN'].includes(n.status)).length;
    expect(sims.twenty2.server.count('/call/logs')).toBe(1);
    // UNKNOWN rows with an end time are cached too, so at most the in-flight ones are fetched again.
    expect(sims.twenty2.server.count('/call/detail')).toBeLessThanOrEqual(inFlight);
    expect(sims.twenty2.server.count('/call/detail')).toBeLessThan(nodes.length);
  });

  it('keeps entries apart per connection: another connection to the same account misses', async () => {
    const other = await startHarness({
      sims: async () => sims,
      env: { REDIS_URL: redisUrl },
      connections: (s) => s.connections.filter((c) => c.provider === 'TWENTY2').map((c) => ({ ...c, connection: 'other' })),
    });
    try {
      const ids = await twenty2Ids(a, ['completed'], 2);
      await a.gql(DETAIL, { ids });
      const otherIds = await twenty2Ids(other, ['completed'], 2);
      sims.servers.forEach((s) => s.resetCounters());
      const res = await other.gql(DETAIL, { ids: otherIds });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.nodes.map((n: { id: string }) => n.id)).toEqual(otherIds);
      expect(sims.twenty2.server.count('/call/detail')).toBe(2);
    } finally {
      await other.server.stop();
    }
  });

  it('answers without the cache when Redis is unreachable, and logs why without the URL', async () => {
    const deadPort = await freePort();
    const h = await startHarness({ env: { REDIS_URL: `redis://cacheuser:s3cret-passw0rd@127.0.0.1:${deadPort}` } });
    try {
      const ids = await twenty2Ids(h, ['completed'], 2);
      for (let round = 0; round < 2; round++) {
        h.resetCounters();
        const res = await h.gql(DETAIL, { ids });
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data.nodes).toHaveLength(2);
        expect(h.sims.twenty2.server.count('/call/detail')).toBe(2);
      }
      expect(h.logs.join('')).not.toContain(String(deadPort));
      expect(h.logs.join('')).not.toMatch(/s3cret|cacheuser/);
      const warnings = h.logs.map((line) => JSON.parse(line)).filter((line) => /Redis unavailable/.test(line.msg));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, code: 'ECONNREFUSED', reason: 'connect ECONNREFUSED <host>:<port>' });
    } finally {
      await h.stop();
    }
  });
});

describe('in-process cache (default)', () => {
  it('answers a repeated detail query from memory, and only that instance', async () => {
    const h = await startHarness({ env: { SWITCHBOARD_CACHE_MAX_ENTRIES: '1000' } });
    try {
      const ids = await twenty2Ids(h, ['completed'], 3);
      h.resetCounters();
      const first = await h.gql(DETAIL, { ids });
      expect(h.sims.twenty2.server.count('/call/detail')).toBe(3);
      h.resetCounters();
      const second = await h.gql(DETAIL, { ids });
      expect(h.upstreamCount()).toBe(0);
      expect(second.body).toEqual(first.body);
      const metrics = await (await fetch(h.server.url.replace(/\/graphql$/, '/metrics'))).text();
      expect(metrics).toMatch(/switchboard_cache_hits_total\{cache="calls"\} 3\b/);
    } finally {
      await h.stop();
    }
  });
});
