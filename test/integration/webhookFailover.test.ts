/**
 * The webhook queue in Redis (src/live/webhookQueue.ts) across replicas and a real process death:
 * a Switchboard replica in its own process (test/helpers/watchReplica.ts) holds every watch lease
 * and commits the events, and with them their deliveries, while calls keep arriving; it is killed
 * with SIGKILL mid-stream (claims held, attempts perhaps in flight). The replica in this process
 * takes over the watching, and delivers what the dead one left: every event is delivered at least
 * once (verified with `standardwebhooks`), in order per call. Also: two replicas never both make
 * the same attempt, and a dead endpoint's queue stays within its bound in Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { simulateActivity, startSimulators, type Simulators } from '../../src/demo.js';
import type { CallEvent } from '../../src/live/events.js';
import { queuePrefix } from '../../src/live/webhookQueue.js';
import { type WebhookSettings, endpointIdentity } from '../../src/live/webhooks.js';
import { emptyQuery } from '../../src/calls/filter.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const TIMING = { intervalMs: 100, leaseMs: 1_000, heartbeatMs: 100 };
const SECRET = `whsec_${Buffer.alloc(32, 'switchboard-webhook-failover').toString('base64')}`;
/** Fast back-off, short claims and polls: the schedule's length is the unit tests'; here, the hand-over. */
const WEBHOOK_SETTINGS: Partial<WebhookSettings> = { baseDelayMs: 100, maxDelayMs: 400, claimMs: 3_000, pollMs: 100 };
const CONNECTIONS = PROVIDER_MODULES.map((m) => ({ provider: m.provider, connection: 'default' }));
const LABELS = PROVIDER_MODULES.map((m) => `${m.provider.toLowerCase()}/default`).sort();

let redis: RedisServer;
/** Each test's simulators (a harness's stop closes them). */
let sims: Simulators;

beforeAll(async () => {
  redis = await startRedis();
}, 60_000);

beforeEach(async () => {
  sims = await startSimulators({ count: 20 });
});

afterAll(async () => {
  await redis?.stop();
});

interface Delivery {
  id: string;
  /** What `standardwebhooks` verified, or null when verification failed. */
  payload: any;
  status: number;
  /** When the request arrived and when it was answered, on one counter of the receiver's: their order. */
  arrived: number;
  answered: number;
}

interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** The status to answer with (after `delayMs`); 204 by default. */
  status: number;
  delayMs: number;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const verifier = new Webhook(SECRET);
  let tick = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const arrived = ++tick;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let payload: any = null;
      try {
        payload = verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
      } catch {
        payload = null;
      }
      const status = payload ? receiver.status : 400;
      const timer = setTimeout(() => {
        timers.delete(timer);
        // Recorded when answered: a delivery the replica saw succeed.
        receiver.deliveries.push({ id: String(req.headers['webhook-id']), payload, status, arrived, answered: ++tick });
        res.writeHead(status).end();
      }, receiver.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    deliveries: [],
    status: 204,
    delayMs: 0,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return receiver;
}

/** A replica in its own process, with the webhook endpoint, listening to every connection (so it takes every lease first). */
async function startChild(receiver: Receiver): Promise<{ child: ChildProcess; watching: () => string[] }> {
  let watching: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/watchReplica.ts'], {
    env: {
      ...process.env,
      WATCH_REPLICA_CONNECTIONS: JSON.stringify(sims.connections),
      WATCH_REPLICA_REDIS: redis.url,
      WATCH_REPLICA_TIMING: JSON.stringify(TIMING),
      WATCH_REPLICA_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]),
      WATCH_REPLICA_WEBHOOK_SETTINGS: JSON.stringify(WEBHOOK_SETTINGS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { watching?: string[] };
    if (message.watching) watching = message.watching;
  });
  await waitFor('the child to watch every connection', () => watching.length === LABELS.length, 45_000);
  return { child, watching: () => watching };
}

/** A replica in this process with the webhook endpoint (`settings` over WEBHOOK_SETTINGS), and a subscriber to every connection. */
async function startReplica(receiver: Receiver, settings: Partial<WebhookSettings> = {}, timing = TIMING): Promise<{ h: Harness; received: CallEvent[]; stop: () => void }> {
  const h = await startHarness({
    sims: async () => sims,
    env: { REDIS_URL: redis.url, SWITCHBOARD_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]) },
    configure: (config) => ({ ...config, watch: timing, webhooks: { ...config.webhooks, ...WEBHOOK_SETTINGS, ...settings } }),
  });
  const received: CallEvent[] = [];
  const stop = h.server.events.subscribe(CONNECTIONS, (e) => received.push(e));
  return { h, received, stop };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

const ok = (receiver: Receiver) => receiver.deliveries.filter((d) => d.status >= 200 && d.status < 300);
const callOf = (d: Delivery) => `${d.payload.data.call.provider}/${d.payload.data.call.id}`;

/** Whether each of `events` has been delivered with a 2xx. */
function allDelivered(receiver: Receiver, events: readonly CallEvent[]): boolean {
  const delivered = new Set(ok(receiver).map((d) => d.id));
  return events.every((e) => delivered.has(e.id));
}

/** A subscriber saw every event exactly once: no id twice, each call's CALL_ADDED once and first. */
function expectEachEventOnce(events: readonly CallEvent[]): void {
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  const firstByCall = new Map<string, string>();
  for (const e of events) if (!firstByCall.has(`${e.call.provider}/${e.call.key}`)) firstByCall.set(`${e.call.provider}/${e.call.key}`, e.type);
  expect([...firstByCall.values()].filter((type) => type !== 'CALL_ADDED')).toEqual([]);
  expect(events.filter((e) => e.type === 'CALL_ADDED').length).toBe(firstByCall.size);
}

/**
 * Every event a subscriber saw was delivered with a 2xx, verified, under its own id; no delivery of
 * an event nobody saw; per call, no other event was sent before its CALL_ADDED's first 2xx answer.
 */
function expectDeliveredInOrder(receiver: Receiver, events: readonly CallEvent[]): void {
  expect(receiver.deliveries.filter((d) => d.payload === null)).toEqual([]);
  const delivered = new Set(ok(receiver).map((d) => d.id));
  expect(events.filter((e) => !delivered.has(e.id)).map((e) => `${e.type} ${e.call.provider}/${e.call.key}`)).toEqual([]);
  const seen = new Set(events.map((e) => e.id));
  expect(receiver.deliveries.filter((d) => !seen.has(d.id)).map((d) => d.id)).toEqual([]);
  const addedAt = new Map<string, number>();
  for (const d of ok(receiver)) if (d.payload.type === 'call.added') addedAt.set(callOf(d), Math.min(d.answered, addedAt.get(callOf(d)) ?? Infinity));
  const early = receiver.deliveries.filter((d) => d.payload.type !== 'call.added' && !((addedAt.get(callOf(d)) ?? Infinity) < d.arrived));
  expect(early.map((d) => `${d.payload.type} ${callOf(d)}`)).toEqual([]);
}

test('the replica holding the leases is killed mid-stream: the survivor\'s subscriber sees every event once, and every event is still delivered, in order per call, each once unless in flight at the kill', async () => {
  const receiver = await startReceiver();
  // A slow receiver (4 in flight, 200 ms each: slower than the events come): the dead replica
  // leaves attempts in flight and deliveries waiting.
  receiver.delayMs = 200;
  const { child } = await startChild(receiver);
  const survivor = await startReplica(receiver);
  const stopActivity = simulateActivity(sims, { everyMs: 60, durationMs: [50, 400] });
  try {
    await waitFor('deliveries by the child', () => ok(receiver).length >= 10);
    expect(survivor.h.server.events.watchers()).toEqual([]); // the child holds every lease
    await kill(child);
    const atKill = survivor.received.length;
    const deliveredAtKill = new Set(ok(receiver).map((d) => d.id));
    expect(survivor.received.filter((e) => !deliveredAtKill.has(e.id)).length).toBeGreaterThan(0);
    await waitFor('the takeover', () => survivor.h.server.events.watchers().length === LABELS.length, TIMING.leaseMs * 10);
    await waitFor('events after the takeover', () => survivor.received.length >= atKill + 10);
  } finally {
    stopActivity();
  }
  try {
    await new Promise((r) => setTimeout(r, 1_000)); // the calls started have ended; let the watchers see it
    survivor.stop();
    const events = survivor.received;
    expectEachEventOnce(events);
    await waitFor('every event delivered', () => allDelivered(receiver, events));
    expectDeliveredInOrder(receiver, events);
    // Twice only what the child was sending when it died (its claims, at most `concurrency`).
    const counts = new Map<string, number>();
    for (const d of ok(receiver)) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(4);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
  } finally {
    await survivor.h.stop();
    await receiver.close();
  }
}, 120_000);

test('the endpoint fails while the replica holding the leases is killed: the survivor retries the deliveries the dead one left waiting', async () => {
  const receiver = await startReceiver();
  receiver.status = 500;
  const { child } = await startChild(receiver);
  const survivor = await startReplica(receiver);
  const stopActivity = simulateActivity(sims, { everyMs: 60, durationMs: [50, 400] });
  let failedBeforeKill: string[] = [];
  try {
    await waitFor('failed attempts', () => receiver.deliveries.length >= 10);
    await kill(child);
    failedBeforeKill = [...new Set(receiver.deliveries.map((d) => d.id))];
    await waitFor('the takeover', () => survivor.h.server.events.watchers().length === LABELS.length, TIMING.leaseMs * 10);
    receiver.status = 204;
  } finally {
    stopActivity();
  }
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    survivor.stop();
    const events = survivor.received;
    expectEachEventOnce(events);
    await waitFor('every event delivered', () => allDelivered(receiver, events));
    const delivered = new Set(ok(receiver).map((d) => d.id));
    expect(failedBeforeKill.length).toBeGreaterThan(0);
    expect(failedBeforeKill.filter((id) => !delivered.has(id))).toEqual([]);
    expectDeliveredInOrder(receiver, events);
    // The survivor made those retries: its own attempts count them.
    const metrics = await (await fetch(survivor.h.server.url.replace(/\/graphql$/, '/metrics'))).text();
    expect(metrics).toMatch(/switchboard_webhook_retries_total\{[^}]*\} [1-9]/);
  } finally {
    await survivor.h.stop();
    await receiver.close();
  }
}, 120_000);

test('two replicas deliver from one queue: each event once, by the watching replica and the other', async () => {
  const receiver = await startReceiver();
  // Slower than the events come: deliveries wait, and both replicas claim some.
  receiver.delayMs = 200;
  // a watches every connection (it listens first); b delivers too. a claims only while fewer than
  // one attempt is in flight (its concurrency), b while fewer than 4: b surely makes some.
  // A lease far longer than a busy machine's pauses: a keeps every lease, so b is surely not watching.
  const timing = { ...TIMING, leaseMs: 30_000, heartbeatMs: 1_000 };
  const a = await startReplica(receiver, { concurrency: 1, claimMs: 30_000 }, timing);
  await waitFor('a to watch every connection', () => a.h.server.events.watchers().length === LABELS.length);
  const b = await startReplica(receiver, { claimMs: 30_000 }, timing);
  const stopActivity = simulateActivity(sims, { everyMs: 40, durationMs: [50, 300] });
  try {
    await waitFor('events', () => a.received.length >= 60);
  } finally {
    stopActivity();
  }
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    a.stop();
    b.stop();
    const events = a.received;
    await waitFor('every event delivered', () => allDelivered(receiver, events));
    await new Promise((r) => setTimeout(r, 500)); // a second delivery, were there one, would be in by now
    const ids = receiver.deliveries.map((d) => d.id);
    expect(ids.length - new Set(ids).size).toBe(0);
    expectDeliveredInOrder(receiver, events);
    // Each replica counts the attempts it made: together, one per delivery.
    const attempts = async (h: Harness) => {
      const text = await (await fetch(h.server.url.replace(/\/graphql$/, '/metrics'))).text();
      const line = text.split('\n').find((l) => l.startsWith('switchboard_webhook_attempts_total{') && l.includes('outcome="ok"'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    // Any replica delivers, not only the one watching.
    expect(b.h.server.events.watchers()).toEqual([]);
    expect(await attempts(b.h)).toBeGreaterThan(0);
    expect((await attempts(a.h)) + (await attempts(b.h))).toBe(ids.length);
  } finally {
    await b.h.server.stop(); // the simulators are shared: a's stop closes them
    await a.h.stop();
    await receiver.close();
  }
}, 120_000);

test('a replica that shuts down hands its attempts in flight back: another makes them at once, not when the claims lapse', async () => {
  const receiver = await startReceiver();
  receiver.delayMs = 600_000; // the first replica's POSTs hang
  const a = await startReplica(receiver, { claimMs: 600_000 });
  const stopActivity = simulateActivity(sims, { everyMs: 60, durationMs: [50, 300] });
  try {
    await waitFor('attempts in flight', () => a.received.length >= 8);
  } finally {
    stopActivity();
  }
  await new Promise((r) => setTimeout(r, 1_000));
  a.stop();
  await a.h.server.stop(); // not the simulators: the next replica uses them
  receiver.delayMs = 0;
  const b = await startReplica(receiver, { claimMs: 600_000 });
  try {
    await waitFor('every event delivered by the next replica', () => allDelivered(receiver, a.received));
  } finally {
    b.stop();
    await b.h.stop();
    await receiver.close();
  }
}, 120_000);

test('a dead endpoint: its queue in Redis stays within SWITCHBOARD_WEBHOOK_QUEUE, the oldest dropped and counted', async () => {
  const receiver = await startReceiver();
  receiver.status = 500;
  const QUEUE = 5;
  // Retries far apart: the queue only fills.
  const replica = await startReplica(receiver, { queueSize: QUEUE, baseDelayMs: 600_000, maxDelayMs: 600_000 });
  const client = new Redis(redis.url);
  const prefix = queuePrefix(endpointIdentity({ url: receiver.url, filter: emptyQuery, types: null }));
  const metrics = async () => (await fetch(replica.h.server.url.replace(/\/graphql$/, '/metrics'))).text();
  const stopActivity = simulateActivity(sims, { everyMs: 40, durationMs: [50, 300] });
  try {
    await waitFor('events', () => replica.received.length >= 4 * QUEUE);
    stopActivity();
    await new Promise((r) => setTimeout(r, 1_000)); // the calls started have ended and been seen
    const text = await metrics();
    const dropped = Number(/switchboard_webhook_deliveries_total\{[^}]*outcome="dropped"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    // Each event of the connections' watchers is queued (no filter): all but the bound's worth were dropped.
    expect(dropped).toBe(replica.received.length - QUEUE);
    expect(text).toMatch(new RegExp(`switchboard_webhook_queue_depth\\{[^}]*\\} ${QUEUE}\\b`));
    // Redis holds the bound's worth, no more: the events, their state, the calls' order.
    expect(await client.zcard(`${prefix}:order`)).toBe(QUEUE);
    expect(await client.hlen(`${prefix}:events`)).toBe(QUEUE);
    expect(await client.hlen(`${prefix}:meta`)).toBe(QUEUE);
    expect(await client.hlen(`${prefix}:fifo`)).toBeLessThanOrEqual(QUEUE);
    expect((await client.zcard(`${prefix}:due`)) + (await client.zcard(`${prefix}:claims`))).toBeLessThanOrEqual(QUEUE);
    // Every key expires by itself once nothing is queued any more.
    for (const key of ['order', 'events', 'meta', 'fifo', 'seq']) expect(await client.pttl(`${prefix}:${key}`)).toBeGreaterThan(0);
    // No secret, no URL in Redis.
    const keys = await client.keys('sb:v1:webhook:*');
    const values = (await Promise.all(keys.filter((k) => k.endsWith(':events') || k.endsWith(':meta')).map((k) => client.hvals(k)))).flat().join('\n');
    expect(`${keys.join('\n')}\n${values}`).not.toContain(SECRET.slice(6));
    expect(`${keys.join('\n')}\n${values}`).not.toContain(receiver.url);
  } finally {
    stopActivity();
    replica.stop();
    client.disconnect();
    await replica.h.stop();
    await receiver.close();
  }
}, 120_000);
