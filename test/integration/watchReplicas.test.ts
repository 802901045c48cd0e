/**
 * Many replicas as one (src/live/source.ts): two Switchboard instances share a real redis-server and
 * the same simulators. One watcher per connection across both (the lease), every subscriber on
 * either instance gets each event exactly once with the same id, `observeLocal` only on the replica
 * that observed it, and when the lease holder stops the other takes over from the state in Redis
 * without announcing anything twice. redis-server must be on PATH (test/prerequisites.ts).
 */
import { Redis } from 'ioredis';
import { namespaceOf } from '../../src/calls/cache.js';
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { CallEvent } from '../../src/live/events.js';
import { cacheIdentity } from '../../src/providers/index.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const INTERVAL_MS = 100;
const LEASE_MS = 1_000;
const TWENTY2 = { provider: 'TWENTY2' as const, connection: 'default' };

let redis: RedisServer;
let sims: Simulators;
let a: Harness;
let b: Harness;
let client: Redis;
/** Replicas started by a test, and those a test stopped. */
const extra: Harness[] = [];
const stoppedHarnesses = new Set<Harness>();
/** A replica still running after the takeover test. */
let survivor: Harness;

const start = () =>
  startHarness({
    sims: async () => sims,
    env: { REDIS_URL: redis.url },
    configure: (config) => ({ ...config, watch: { intervalMs: INTERVAL_MS, leaseMs: LEASE_MS, heartbeatMs: 100 } }),
  });

beforeAll(async () => {
  redis = await startRedis();
  sims = await startSimulators({ count: 20 });
  a = await start();
  b = await start();
  client = new Redis(redis.url);
});

afterAll(async () => {
  client?.disconnect();
  for (const h of [a, b, ...extra]) if (h && !stoppedHarnesses.has(h)) await h.server.stop();
  await sims?.close();
  await redis?.stop();
});

const holds = (h: Harness, label = 'twenty2/default') => h.server.events.watchers().some((w) => w.connection === label);
const polls = async (h: Harness): Promise<number> => {
  const text = await (await fetch(h.server.url.replace('/graphql', '/metrics'))).text();
  return [...text.matchAll(/^switchboard_watch_polls_total\{connection="twenty2\/default",outcome="[^"]+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
};
const lists = () => sims.twenty2.server.count('/call/logs');
const summary = (events: CallEvent[]) => events.map((e) => `${e.type} ${e.call.key} ${e.id}`);

describe('two replicas sharing Redis', () => {
  it('one polls the connection; subscribers on both get every event once, with the same ids; observeLocal only where observed', async () => {
    const onA: CallEvent[] = [];
    const onB: CallEvent[] = [];
    const localA: CallEvent[] = [];
    const localB: CallEvent[] = [];
    const stops = [
      a.server.events.subscribe([TWENTY2], (e) => onA.push(e)),
      b.server.events.subscribe([TWENTY2], (e) => onB.push(e)),
      a.server.events.observeLocal([TWENTY2], (e) => localA.push(e)),
      b.server.events.observeLocal([TWENTY2], (e) => localB.push(e)),
    ];
    try {
      await waitFor('a lease holder', () => holds(a) || holds(b));
      const [holder, other] = holds(a) ? [a, b] : [b, a];
      await waitFor('the baseline', () => holder.server.events.watchers()[0]?.state === 'watching');
      await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
      expect(holds(other)).toBe(false);

      // Only the holder polls: the simulator's list requests are the holder's polls.
      const [listsBefore, holderBefore] = [lists(), await polls(holder)];
      await new Promise((r) => setTimeout(r, 10 * INTERVAL_MS));
      const [listsAfter, holderAfter] = [lists(), await polls(holder)];
      expect(await polls(other)).toBe(0);
      expect(holderAfter - holderBefore).toBeGreaterThanOrEqual(5);
      expect(Math.abs(listsAfter - listsBefore - (holderAfter - holderBefore))).toBeLessThanOrEqual(1);

      const row = sims.twenty2.startCall();
      sims.twenty2.addCall();
      await waitFor('three events on both', () => onA.length >= 3 && onB.length >= 3);
      sims.twenty2.endCall(row);
      await waitFor('four events on both', () => onA.length >= 4 && onB.length >= 4);
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));

      expect(onA.map((e) => e.type)).toEqual(['CALL_ADDED', 'CALL_ADDED', 'CALL_ENDED', 'CALL_ENDED']);
      expect(summary(onB)).toEqual(summary(onA));
      expect(onA[0]!.call.key).toBe(row.call_id);
      expect(onA[3]!.call.key).toBe(row.call_id);
      // Carried over pub/sub, the call is a CallRecord again (its dates are Dates).
      expect(onB[0]!.call.startedAt).toBeInstanceOf(Date);
      expect(onB[0]!.occurredAt).toBeInstanceOf(Date);
      const local = holder === a ? [localA, localB] : [localB, localA];
      expect(summary(local[0]!)).toEqual(summary(onA));
      expect(local[1]).toEqual([]);
    } finally {
      stops.forEach((stop) => stop());
    }
    // Nobody listens any more: the watcher stops and gives its lease back.
    await waitFor('no watcher', () => !holds(a) && !holds(b));
  });

  it('when the lease holder stops, another takes over from the state in Redis: nothing announced twice, nothing lost', async () => {
    const c = await start(); // a third replica: whichever holds the lease is stopped
    const replicas = [a, b, c];
    const received = replicas.map(() => [] as CallEvent[]);
    const stops = replicas.map((h, i) => h.server.events.subscribe([TWENTY2], (e) => received[i]!.push(e)));
    try {
      await waitFor('a lease holder', () => replicas.some((h) => holds(h)));
      const holder = replicas.find((h) => holds(h))!;
      await waitFor('watching', () => holder.server.events.watchers()[0]?.state === 'watching');
      const row = sims.twenty2.startCall();
      await waitFor('CALL_ADDED on every replica', () => received.every((l) => l.length >= 1));

      const stopped = holder.server.stop();
      stopped.then(() => stoppedHarnesses.add(holder));
      sims.twenty2.endCall(row);
      const added = sims.twenty2.addCall();
      await stopped;
      const survivors = replicas.filter((h) => h !== holder);
      await waitFor('a survivor takes over', () => survivors.some((s) => holds(s)), LEASE_MS * 5);
      const lists = survivors.map((s) => received[replicas.indexOf(s)]!);
      await waitFor('the events after the stop', () => lists.every((l) => l.length >= 4));
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
      for (const l of lists) {
        expect(l.map((e) => [e.type, e.call.key])).toEqual([
          ['CALL_ADDED', row.call_id],
          ['CALL_ENDED', row.call_id],
          ['CALL_ADDED', added.call_id],
          ['CALL_ENDED', added.call_id],
        ]);
        expect(summary(l)).toEqual(summary(lists[0]!));
      }
      survivor = survivors[0]!;
    } finally {
      stops.forEach((stop) => stop());
      extra.push(c); // stopped in afterAll, unless it was the holder
    }
  });

  it('a lease held elsewhere (a replica that died holding it) is taken over once it expires', async () => {
    const lease = keys('twenty2/default').lease;
    await client.set(lease, 'a-replica-that-died', 'PX', LEASE_MS);
    const events: CallEvent[] = [];
    const stop = survivor.server.events.subscribe([TWENTY2], (e) => events.push(e));
    try {
      await new Promise((r) => setTimeout(r, LEASE_MS / 2));
      expect(holds(survivor)).toBe(false);
      await waitFor('the takeover', () => holds(survivor), LEASE_MS * 4);
      expect(await client.get(lease)).not.toBe('a-replica-that-died');
    } finally {
      stop();
    }
  });
});

describe('Redis unreachable', () => {
  it('watches nothing (an event-free gap), logs it once without the URL, and keeps serving', async () => {
    const deadPort = await freePort();
    const h = await startHarness({
      sims: async () => sims,
      env: { REDIS_URL: `redis://watchuser:s3cret-passw0rd@127.0.0.1:${deadPort}` },
      configure: (config) => ({ ...config, watch: { intervalMs: INTERVAL_MS, leaseMs: LEASE_MS, heartbeatMs: 100 } }),
    });
    try {
      // Nobody listens yet: no connection to Redis is even tried for live events.
      expect(h.logs.map((line) => JSON.parse(line).msg).filter((msg: string) => msg.startsWith('watch:'))).toEqual([]);
      const events: CallEvent[] = [];
      const stop = h.server.events.subscribe([TWENTY2], (e) => events.push(e));
      await new Promise((r) => setTimeout(r, 10 * 100));
      sims.twenty2.addCall();
      await new Promise((r) => setTimeout(r, 5 * 100));
      stop();
      expect(events).toEqual([]);
      expect(h.server.events.watchers()).toEqual([]);
      const res = await h.gql('{ calls(first: 1) { nodes { id } } }');
      expect(res.body.errors).toBeUndefined();
      expect(h.logs.join('')).not.toContain(String(deadPort));
      expect(h.logs.join('')).not.toMatch(/s3cret|watchuser/);
      const warnings = h.logs.map((line) => JSON.parse(line)).filter((line) => /^watch: Redis unavailable/.test(line.msg));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, code: 'ECONNREFUSED', reason: 'connect ECONNREFUSED <host>:<port>' });
    } finally {
      await h.server.stop();
    }
  });
});

describe('Redis going away while watching', () => {
  it('stops the watcher (an event-free gap), keeps serving, and shuts down cleanly', async () => {
    const events: CallEvent[] = [];
    const stop = survivor.server.events.subscribe([TWENTY2], (e) => events.push(e));
    try {
      await waitFor('watching', () => survivor.server.events.watchers().some((w) => w.state === 'watching'), LEASE_MS * 4);
      // It continues from the state saved a test ago: the call added meanwhile is announced first.
      await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
      events.length = 0;
      await redis.stop();
      sims.twenty2.addCall();
      await waitFor('the watcher to stop', () => survivor.server.events.watchers().length === 0, LEASE_MS * 4);
      await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
      expect(events).toEqual([]);
      const res = await survivor.gql('{ calls(first: 1) { nodes { id } } }');
      expect(res.body.errors).toBeUndefined();
      expect(survivor.logs.map((line) => JSON.parse(line)).filter((line) => line.level >= 50)).toEqual([]);
    } finally {
      stop();
    }
  });
});

/** The connection's keys in Redis, as src/live/source.ts names them. */
function keys(label: string) {
  const config = sims.connections.find((c) => `${c.provider.toLowerCase()}/${c.connection}` === label)!;
  const namespace = namespaceOf(cacheIdentity(config));
  return { lease: `${namespace}:watch:lease`, state: `${namespace}:watch:state`, demand: `${namespace}:watch:demand` };
}
