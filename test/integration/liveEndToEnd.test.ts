/**
 * Live call events end to end (issue #16): the REAL watchers (no injected event source) poll the
 * simulators over HTTP at a short interval, and their events reach clients over graphql-ws and
 * graphql-sse, a webhook receiver verifying with `standardwebhooks`, and the subscribers of two
 * replicas sharing a real redis-server. Calls are started and ended in the simulators
 * (`startCall()` / `endCall(row)`, src/providers/module.ts), for every provider in PROVIDER_MODULES.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { Webhook } from 'standardwebhooks';
import WebSocket from 'ws';
import type { Provider } from '../../src/calls/model.js';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { keysLookedUp } from '../helpers/modules.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const INTERVAL_MS = 250;
const KEY_ALL = 'k_all_0123456789abcdef';
const KEY_TALKSTACK = 'k_ts_0123456789abcdef';
const PROVIDERS = PROVIDER_MODULES.map((m) => m.provider);
const SECRET = `whsec_${Buffer.alloc(32, 'live-end-to-end-secret').toString('base64')}`;

/** A detail field on every event: fetched per event as in `calls` (docs/live.md). */
const EVENTS = `subscription($filter: CallFilter) {
  callEvents(filter: $filter) { id type call { id provider connection status recordings { url } transcriptText } }
}`;

interface Collected {
  results: any[];
  completed: boolean;
  error: unknown;
}

const clients: Array<{ dispose: () => unknown }> = [];

function collect(client: WsClient | SseClient, query: string, variables?: Record<string, unknown>): Collected {
  const collected: Collected = { results: [], completed: false, error: undefined };
  client.subscribe(
    { query, variables },
    {
      next: (result) => void collected.results.push(result),
      error: (error) => void (collected.error = error),
      complete: () => void (collected.completed = true),
    },
  );
  return collected;
}

function ws(h: Harness, key: string): WsClient {
  const client = createWsClient({
    url: h.server.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${key}` },
    retryAttempts: 0,
  });
  clients.push(client);
  return client;
}

function sse(h: Harness, key: string): SseClient {
  const client = createSseClient({ url: h.server.url, headers: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
  clients.push(client);
  return client;
}

const simOf = (sims: Simulators, provider: string) => (sims as unknown as Record<string, ProviderSimulator>)[provider.toLowerCase()]!;
/** The list pages a simulator served: neither look-ups of calls (detail fields) nor Vapi's phone-number look-ups. */
const listRequests = (sims: Simulators, provider: string) =>
  simOf(sims, provider).server.requests.filter((r) => keysLookedUp(sims, provider as Provider, r).length === 0).length - simOf(sims, provider).server.countAuxiliary();
const label = (provider: string) => `${provider.toLowerCase()}/default`;

/** Waits until `h` watches exactly `providers`' connections, each past its baseline, then for two more polls of each. */
async function watching(h: Harness, providers: readonly string[]): Promise<void> {
  const labels = providers.map(label).sort();
  await waitFor(`watching ${labels.join(', ')}`, () => {
    const watchers = h.server.events.watchers();
    return JSON.stringify(watchers.map((w) => w.connection).sort()) === JSON.stringify(labels) && watchers.every((w) => w.state === 'watching');
  });
  await morePolls(h.sims, providers);
}

/** Waits until every one of `providers`' simulators has served `n` more call requests (the watchers' polls). */
async function morePolls(sims: Simulators, providers: readonly string[], n = 2): Promise<void> {
  const start = providers.map((p) => listRequests(sims, p));
  await waitFor(`${n} more polls`, () => providers.every((p, i) => listRequests(sims, p) >= start[i]! + n));
}

/**
 * Where watching already runs (a webhook keeps it going), a new subscription attaches asynchronously:
 * adds ended calls to `provider` until every one of `subs` has an event, then lets those settle.
 * Returns the ids of the calls seen so far, for the test to set aside.
 */
async function untilAttached(sims: Simulators, provider: string, subs: Collected[]): Promise<Set<string>> {
  const deadline = Date.now() + 20_000;
  while (subs.some((sub) => events(sub).length === 0)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the subscribers to attach');
    simOf(sims, provider).addCall();
    await morePolls(sims, [provider]);
  }
  await morePolls(sims, [provider]);
  return new Set(subs.flatMap((sub) => events(sub).map((e) => e.call.id)));
}

const events = (c: Collected) => c.results.map((r) => r.data?.callEvents).filter(Boolean);
const ofProvider = (c: Collected, provider: string) => events(c).filter((e) => e.call.provider === provider);

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});

describe('one replica, real watchers', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      env: { SWITCHBOARD_API_KEYS: `${KEY_ALL},${KEY_TALKSTACK}:talkstack/default` },
      configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: INTERVAL_MS } }),
    });
  });

  afterAll(async () => {
    await h?.stop();
  });

  afterEach(async () => {
    // (Inner afterEach hooks run before the file's: leave here.)
    for (const client of clients.splice(0)) await client.dispose();
    // Nobody listens any more: every watcher stops (the next test starts from a new baseline).
    await waitFor('no watcher', () => h.server.events.watchers().length === 0);
  });

  it('over graphql-ws, every provider: CALL_ADDED after startCall, CALL_ENDED with detail fields after endCall, each once, ids stable; the baseline unannounced', async () => {
    const sub = collect(ws(h, KEY_ALL), EVENTS);
    await watching(h, PROVIDERS);
    // The calls each connection held when watching started are its baseline: not announced.
    expect(sub.results).toEqual([]);

    const rows = new Map(PROVIDERS.map((p) => [p, simOf(h.sims, p).startCall()]));
    const ongoing = PROVIDERS.filter((p) => simOf(h.sims, p).listsOngoing);
    await waitFor('CALL_ADDED of every provider listing calls in progress', () => ongoing.every((p) => ofProvider(sub, p).length >= 1));
    // Unpod's and CINNOX's call logs list ended calls only: nothing for them until the call ends.
    await morePolls(h.sims, PROVIDERS);
    for (const p of PROVIDERS) expect([p, ofProvider(sub, p).map((e) => e.type)]).toEqual([p, ongoing.includes(p) ? ['CALL_ADDED'] : []]);

    for (const p of PROVIDERS) simOf(h.sims, p).endCall(rows.get(p));
    await waitFor('CALL_ENDED of every provider', () => PROVIDERS.every((p) => ofProvider(sub, p).some((e) => e.type === 'CALL_ENDED')));
    // A few more polls: had any event come twice, it would have come by then.
    await morePolls(h.sims, PROVIDERS, 3);

    expect(sub.error).toBeUndefined();
    expect(sub.results.flatMap((r) => r.errors ?? [])).toEqual([]);
    for (const p of PROVIDERS) {
      const [added, ended, ...more] = ofProvider(sub, p);
      expect([p, added?.type, ended?.type, more]).toEqual([p, 'CALL_ADDED', 'CALL_ENDED', []]);
      // The same call (a stable `Call.id`), two distinct event ids, and the call as the API serves it.
      expect(ended.call.id).toBe(added.call.id);
      expect(ended.id).not.toBe(added.id);
      expect(ended.call).toMatchObject({ provider: p, connection: 'default', status: 'COMPLETED' });
      expect(Array.isArray(ended.call.recordings)).toBe(true);
      const res = await h.gql('query($id: ID!) { call(id: $id) { id provider status recordings { url } transcriptText } }', { id: added.call.id }, { authorization: `Bearer ${KEY_ALL}` });
      expect(res.body.errors).toBeUndefined();
      // Some providers sign their media links with an expiry: the same link, signed a moment later.
      const unsigned = (call: any) => ({ ...call, recordings: call.recordings.map((r: { url: string }) => r.url.split('?')[0]) });
      expect(unsigned(res.body.data.call)).toEqual(unsigned({ id: added.call.id, provider: p, status: 'COMPLETED', recordings: ended.call.recordings, transcriptText: ended.call.transcriptText }));
    }
  });

  it('over graphql-sse: CALL_ADDED and CALL_ENDED (with detail fields) of a started and ended call, each once', async () => {
    const provider = 'TWENTY2';
    const sim = simOf(h.sims, provider);
    const sub = collect(sse(h, KEY_ALL), EVENTS, { filter: { providers: [provider] } });
    await watching(h, [provider]);
    expect(sub.results).toEqual([]);
    const row = sim.startCall();
    await waitFor('CALL_ADDED', () => events(sub).length >= 1);
    sim.endCall(row);
    await waitFor('CALL_ENDED', () => events(sub).length >= 2);
    await morePolls(h.sims, [provider], 3);
    expect(sub.results.flatMap((r) => r.errors ?? [])).toEqual([]);
    const [added, ended, ...more] = events(sub);
    expect([added.type, ended.type, more]).toEqual(['CALL_ADDED', 'CALL_ENDED', []]);
    expect(ended.call.id).toBe(added.call.id);
    expect(ended.call.recordings.length).toBeGreaterThan(0);
  });

  it('a key scoped to one connection receives only its events and makes only it watched', async () => {
    h.resetCounters();
    const sub = collect(ws(h, KEY_TALKSTACK), EVENTS);
    await watching(h, ['TALKSTACK']);
    const rows = new Map(PROVIDERS.map((p) => [p, simOf(h.sims, p).startCall()]));
    for (const p of PROVIDERS) simOf(h.sims, p).endCall(rows.get(p));
    await waitFor('CALL_ENDED', () => events(sub).some((e) => e.type === 'CALL_ENDED'));
    await morePolls(h.sims, ['TALKSTACK']);
    expect(events(sub).map((e) => [e.type, e.call.provider])).toEqual([
      ['CALL_ADDED', 'TALKSTACK'],
      ['CALL_ENDED', 'TALKSTACK'],
    ]);
    // No other simulator was asked anything: not one list request.
    for (const p of PROVIDERS.filter((p) => p !== 'TALKSTACK')) expect([p, simOf(h.sims, p).server.count()]).toEqual([p, 0]);
  });
});

interface Delivery {
  id: string;
  /** What `standardwebhooks` verified, or null when verification failed. */
  payload: any;
}

async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; close(): Promise<void> }> {
  const verifier = new Webhook(SECRET);
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let payload: any = null;
      try {
        payload = verifier.verify(Buffer.concat(chunks).toString('utf8'), req.headers as Record<string, string>);
      } catch {
        payload = null;
      }
      deliveries.push({ id: String(req.headers['webhook-id']), payload });
      res.writeHead(payload ? 204 : 400).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    deliveries,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('webhooks from the real watchers', () => {
  it('an endpoint receives call.added and call.ended, with the ids a subscriber saw; call.ended carries detail fields', async () => {
    const receiver = await startReceiver();
    const provider = 'TWENTY2';
    const h = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      env: {
        SWITCHBOARD_API_KEYS: KEY_ALL,
        SWITCHBOARD_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET, filter: { providers: [provider] } }]),
      },
      configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: INTERVAL_MS } }),
    });
    try {
      // The endpoint alone keeps its provider's connection watched, and only that one.
      await watching(h, [provider]);
      const sub = collect(ws(h, KEY_ALL), EVENTS, { filter: { providers: [provider] } });
      const before = await untilAttached(h.sims, provider, [sub]);
      const fresh = () => events(sub).filter((e) => !before.has(e.call.id));
      const freshDeliveries = () => receiver.deliveries.filter((d) => !before.has(d.payload?.data.call.id));
      const sim = simOf(h.sims, provider);
      const row = sim.startCall();
      await waitFor('CALL_ADDED', () => fresh().length >= 1 && freshDeliveries().length >= 1);
      sim.endCall(row);
      await waitFor('CALL_ENDED', () => fresh().length >= 2 && freshDeliveries().length >= 2);
      await morePolls(h.sims, [provider], 3);

      expect(receiver.deliveries.every((d) => d.payload !== null)).toBe(true);
      const [added, ended] = fresh();
      expect(freshDeliveries().map((d) => [d.payload.type, d.payload.data.eventId, d.id])).toEqual([
        ['call.added', added.id, added.id],
        ['call.ended', ended.id, ended.id],
      ]);
      const [callAdded, callEnded] = freshDeliveries().map((d) => d.payload.data.call);
      expect(callAdded.id).toBe(added.call.id);
      expect(callEnded).toMatchObject({ id: added.call.id, provider, status: 'COMPLETED', transcriptText: ended.call.transcriptText });
      expect(callEnded.recordings.map((r: { url: string }) => r.url.split('?')[0])).toEqual(ended.call.recordings.map((r: { url: string }) => r.url.split('?')[0]));
      expect(callEnded.recordings.length).toBeGreaterThan(0);
      expect(callEnded).toHaveProperty('billedDurationSeconds');
      // call.added carries the list's fields, not the detail fields.
      expect(callAdded).not.toHaveProperty('recordings');
    } finally {
      for (const client of clients.splice(0)) await client.dispose();
      await h.stop();
      await receiver.close();
    }
  });
});

describe('webhooks from the real watchers, every provider', () => {
  it('an endpoint without a filter receives each provider\'s call.added and call.ended once, call.ended with its detail fields', async () => {
    const receiver = await startReceiver();
    const h = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      env: { SWITCHBOARD_API_KEYS: KEY_ALL, SWITCHBOARD_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET }]) },
      configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: INTERVAL_MS } }),
    });
    try {
      await watching(h, PROVIDERS);
      const sub = collect(ws(h, KEY_ALL), EVENTS);
      const before = await untilAttached(h.sims, 'TWENTY2', [sub]);
      const ofProvider = (c: Collected, provider: string) => events(c).filter((e) => e.call.provider === provider && !before.has(e.call.id));
      const rows = new Map(PROVIDERS.map((p) => [p, simOf(h.sims, p).startCall()]));
      const ongoing = PROVIDERS.filter((p) => simOf(h.sims, p).listsOngoing);
      await waitFor('CALL_ADDED', () => ongoing.every((p) => ofProvider(sub, p).length >= 1));
      for (const p of PROVIDERS) simOf(h.sims, p).endCall(rows.get(p));
      const deliveredFor = (p: string) => receiver.deliveries.filter((d) => d.payload?.data.call.provider === p && !before.has(d.payload.data.call.id));
      await waitFor('every call.ended', () => PROVIDERS.every((p) => deliveredFor(p).length >= 2 && ofProvider(sub, p).length >= 2));
      await morePolls(h.sims, PROVIDERS, 3);

      expect(receiver.deliveries.filter((d) => d.payload === null)).toEqual([]);
      for (const p of PROVIDERS) {
        const seen = ofProvider(sub, p);
        const got = deliveredFor(p);
        expect([p, got.map((d) => [d.payload.type, d.payload.data.eventId])]).toEqual([p, seen.map((e) => [e.type === 'CALL_ADDED' ? 'call.added' : 'call.ended', e.id])]);
        const ended = got[1]!.payload.data.call;
        expect([p, ended.id, ended.status]).toEqual([p, seen[0].call.id, 'COMPLETED']);
        for (const field of ['recordings', 'transcript', 'transcriptText', 'billedDurationSeconds', 'inputParameters', 'outputParameters']) expect([p, field in ended]).toEqual([p, true]);
        expect([p, Array.isArray(ended.recordings)]).toEqual([p, true]);
      }
      // Nothing failed while rendering the events (a failed detail request would be logged).
      expect(h.logs.map((line) => JSON.parse(line)).filter((line) => line.level >= 40)).toEqual([]);
    } finally {
      for (const client of clients.splice(0)) await client.dispose();
      await h.stop();
      await receiver.close();
    }
  });
});

describe('two replicas sharing Redis', () => {
  let redis: RedisServer;
  let sims: Simulators;
  let a: Harness;
  let b: Harness;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  // Both replicas configure the same endpoint, as replicas of one deployment do.
  const start = () =>
    startHarness({
      sims: async () => sims,
      env: {
        REDIS_URL: redis.url,
        SWITCHBOARD_API_KEYS: KEY_ALL,
        SWITCHBOARD_WEBHOOKS: JSON.stringify([{ url: receiver.url, secret: SECRET, filter: { providers: ['TWENTY2'] } }]),
      },
      configure: (config) => ({ ...config, watch: { intervalMs: INTERVAL_MS, leaseMs: 1_000, heartbeatMs: 100 } }),
    });

  beforeAll(async () => {
    redis = await startRedis();
    receiver = await startReceiver();
    sims = await startSimulators({ count: 10 });
    a = await start();
    b = await start();
  });

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.dispose();
    for (const h of [a, b]) await h?.server.stop();
    await sims?.close();
    await receiver?.close();
    await redis?.stop();
  });

  /** The polls of the Twenty2 connection `h` made, from its /metrics. */
  const polls = async (h: Harness): Promise<number> => {
    const text = await (await fetch(h.server.url.replace('/graphql', '/metrics'))).text();
    return [...text.matchAll(/^switchboard_watch_polls_total\{connection="twenty2\/default",outcome="[^"]+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };

  it('a started call reaches a graphql-ws subscriber on each replica with the same event id, and the endpoint once; one replica polls', async () => {
    const filter = { providers: ['TWENTY2'] };
    const onA = collect(ws(a, KEY_ALL), EVENTS, { filter });
    const onB = collect(ws(b, KEY_ALL), EVENTS, { filter });
    const holds = (h: Harness) => h.server.events.watchers().some((w) => w.connection === 'twenty2/default' && w.state === 'watching');
    await waitFor('a lease holder, watching', () => holds(a) || holds(b));
    const [holder, other] = holds(a) ? [a, b] : [b, a];
    await morePolls(sims, ['TWENTY2']);
    await untilAttached(sims, 'TWENTY2', [onA, onB]);
    const [fromA, fromB] = [events(onA).length, events(onB).length];
    const newOnA = () => events(onA).slice(fromA);
    const newOnB = () => events(onB).slice(fromB);

    sims.twenty2.server.resetCounters();
    const holderBefore = await polls(holder);
    const row = sims.twenty2.startCall();
    await waitFor('CALL_ADDED on both replicas', () => newOnA().length >= 1 && newOnB().length >= 1);
    const callId = newOnA()[0].call.id;
    const delivered = () => receiver.deliveries.filter((d) => d.payload?.data.call.id === callId);
    sims.twenty2.endCall(row);
    await waitFor('CALL_ENDED on both replicas and the endpoint', () => newOnA().length >= 2 && newOnB().length >= 2 && delivered().length >= 2);
    await morePolls(sims, ['TWENTY2'], 3);
    const lists = listRequests(sims, 'TWENTY2');
    const holderPolls = (await polls(holder)) - holderBefore;

    expect(newOnA().map((e) => [e.type, e.id, e.call.id])).toEqual(newOnB().map((e) => [e.type, e.id, e.call.id]));
    expect(newOnA().map((e) => [e.type, e.call.id])).toEqual([['CALL_ADDED', callId], ['CALL_ENDED', callId]]);
    // The endpoint got each event once (the queue in Redis: one replica claims each attempt), with the subscribers' ids.
    expect(delivered().map((d) => [d.payload.type, d.id])).toEqual(newOnA().map((e) => [e.type === 'CALL_ADDED' ? 'call.added' : 'call.ended', e.id]));
    expect(receiver.deliveries.filter((d) => d.payload === null)).toEqual([]);
    expect(new Set(receiver.deliveries.map((d) => d.id)).size).toBe(receiver.deliveries.length);
    expect(onA.results.flatMap((r) => r.errors ?? [])).toEqual([]);
    // The simulator's requests are the lease holder's polls (give or take one in flight); the other polled never.
    expect(await polls(other)).toBe(0);
    expect(holds(other)).toBe(false);
    expect(Math.abs(lists - holderPolls)).toBeLessThanOrEqual(1);
  });
});
