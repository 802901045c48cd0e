/**
 * Subscriptions through a real gateway over Apollo's HTTP callback protocol (callback/1.0): Hive
 * Gateway (@graphql-hive/gateway-runtime) with @graphql-mesh/transport-http-callback subscribes to
 * Switchboard by POSTing `extensions.subscription`, and Switchboard POSTs `check`, `next` and
 * `complete` messages to the gateway's own callback path (its `webhooks` plugin, over a pubsub). A
 * client subscribes to the gateway over SSE. Apollo Router itself is a binary this project cannot
 * fetch; Hive Gateway is the router that runs here (issue #16 item 3; docs/live.md "Through Hive
 * Gateway over callbacks").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeCallId } from '../../src/calls/ids.js';
import { startSimulators } from '../../src/demo.js';
import { startCrmSubgraph, type CrmContact, type CrmSubgraph } from '../helpers/crm-subgraph.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';
import { GATEWAY_KEY, composeWith, sseEvents } from '../helpers/gateway.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';
import { waitFor } from '../helpers/waitFor.js';

const QUERY = 'subscription { callEvents { id type call { id provider status contact { name } } } }';

// Imported by names TypeScript does not follow: the runtime's types pull in @whatwg-node/fetch,
// whose `/// <reference lib="dom" />` would retype `fetch` for every file of the typecheck.
const GATEWAY_RUNTIME = '@graphql-hive/gateway-runtime';
const PUBSUB = '@graphql-hive/pubsub';
const { createGatewayRuntime } = (await import(GATEWAY_RUNTIME)) as {
  createGatewayRuntime(config: Record<string, unknown>): http.RequestListener & { dispose(): Promise<void> };
};
const { MemPubSub } = (await import(PUBSUB)) as { MemPubSub: new () => { subscribedTopics(): Iterable<string> } };

/** What reached the gateway's callback path: method, path, status answered, and the JSON body. */
interface CallbackSeen {
  path: string;
  status: number;
  body: { action?: string; id?: string; verifier?: string };
  protocol: string | undefined;
}

/**
 * An HTTP server on a free port of 127.0.0.1 that a Hive Gateway is mounted on later (its callback
 * URL must be known before Switchboard, which allows it, starts; the supergraph after). Records each
 * request to the callback path and the gateway's answer.
 */
async function listenGatewayServer() {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const seen: CallbackSeen[] = [];
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/callback/')) {
      // A copy of the body for the test; the gateway reads the request itself.
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('finish', () => {
        let body = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CallbackSeen['body'];
        } catch {
          /* recorded as {} */
        }
        seen.push({ path: req.url!, status: res.statusCode, body, protocol: req.headers['subscription-protocol'] as string | undefined });
      });
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let dispose = async () => {};
  let pubsub: { subscribedTopics(): Iterable<string> } | undefined;
  return {
    origin,
    url: `${origin}/graphql`,
    callbackUrl: `${origin}/callback`,
    seen,
    /** The callback paths the gateway listens on now (one per subscription it holds). */
    listening: () => [...(pubsub?.subscribedTopics() ?? [])].filter((topic) => topic.startsWith('webhook:post:/callback/')),
    /** Mounts a Hive Gateway over `supergraph` that subscribes to Switchboard over HTTP callbacks. */
    mount(supergraph: string, heartbeatMs: number) {
      const authorization = `Bearer ${GATEWAY_KEY}`;
      const gateway = createGatewayRuntime({
        supergraph,
        logging: false,
        // The http-callback transport listens on the pubsub; `webhooks` publishes each POST to
        // `<path>/<subscription id>` there (answering 204), and passes any other path on (404).
        pubsub: (pubsub = new MemPubSub()),
        webhooks: true,
        transportEntries: {
          '*.http': {
            headers: [['authorization', authorization]],
            options: {
              subscriptions: {
                kind: 'http-callback',
                options: { public_url: `${origin}/callback`, path: '/callback', heartbeat_interval: heartbeatMs },
              },
            },
          },
        },
      });
      handler = gateway;
      dispose = () => gateway.dispose();
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await dispose();
    },
  };
}

/** A gateway server, a Switchboard allowing its callback URL (unless `allow` is false), a CRM, the gateway mounted. */
async function startAll(options: { heartbeatMs: number; allow?: boolean; live?: boolean }) {
  const gateway = await listenGatewayServer();
  const source = new ManualEventSource();
  const env: Record<string, string> = { SWITCHBOARD_API_KEYS: `${GATEWAY_KEY}:unpod+twenty2` };
  if (options.allow !== false) env.SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS = gateway.callbackUrl;
  const h = options.live
    ? // No injected source: the watchers poll the simulators every 250 ms.
      await startHarness({ sims: () => startSimulators({ count: 10 }), env, configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: 250 } }) })
    : await startHarness({ env, events: source });
  const contacts: CrmContact[] = [];
  if (!options.live) contacts.push({ id: 'contact-1', name: 'Asha Rao', callIds: [encodeCallId(allCalls(h.sims).find((c) => c.provider === 'UNPOD')!)] });
  const crm = await startCrmSubgraph(contacts);
  gateway.mount(await composeWith(h, crm), options.heartbeatMs);
  return {
    gateway,
    source,
    h,
    crm,
    contacts,
    async stop() {
      await gateway.stop();
      await crm.stop();
      await h.stop();
    },
  };
}

/** Resolves once Switchboard listens for the gateway's subscription; fails if the client's first answer comes before. */
async function subscribed(source: ManualEventSource, first: Promise<IteratorResult<any>>): Promise<void> {
  const early = first.then(({ value }) => {
    throw new Error(`the gateway's client was answered before Switchboard subscribed: ${JSON.stringify(value)}`);
  });
  early.catch(() => {});
  await Promise.race([source.untilListening(1), early]);
}

/** What reached the gateway's callback path so far: [action, the gateway's status]. */
const trail = (seen: readonly CallbackSeen[]) => seen.map((s) => [s.body.action, s.status]);

describe('Hive Gateway subscribing to Switchboard over HTTP callbacks', () => {
  it("carries events to the client, completed with another subgraph's fields; after the client leaves, the gateway answers 404 and Switchboard stops watching", async () => {
    // A heartbeat longer than the test: every message here is a `next` (see the heartbeat case below).
    const { gateway, source, h, stop } = await startAll({ heartbeatMs: 60_000 });
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, QUERY, controller.signal);
      const first = events.next();
      // The gateway's key is scoped to Unpod and Twenty2: only those connections are watched for it.
      await subscribed(source, first);
      expect(source.requested.at(-1)).toEqual(['twenty2/default', 'unpod/default']);
      // The initial check reached the gateway's callback path, under the subscription's id, and was accepted.
      expect(gateway.seen).toEqual([{ path: expect.stringMatching(/^\/callback\/[0-9a-f-]{36}$/), status: 204, body: expect.objectContaining({ kind: 'subscription', action: 'check' }), protocol: 'callback/1.0' }]);
      expect(gateway.seen[0]!.path).toBe(`/callback/${gateway.seen[0]!.body.id}`);
      const calls = allCalls(h.sims);
      const unpod = calls.find((c) => c.provider === 'UNPOD')!;
      const cinnox = calls.find((c) => c.provider === 'CINNOX')!;
      expect(source.emit(eventOf('CALL_ADDED', cinnox))).toBe(0);
      const added = eventOf('CALL_ADDED', unpod);
      source.emit(added);
      expect((await first).value).toEqual({
        data: { callEvents: { id: added.id, type: 'CALL_ADDED', call: { id: encodeCallId(unpod), provider: 'UNPOD', status: unpod.status, contact: { name: 'Asha Rao' } } } },
      });
      const twenty2 = calls.find((c) => c.provider === 'TWENTY2')!;
      source.emit(eventOf('CALL_ENDED', twenty2));
      expect((await events.next()).value.data.callEvents).toEqual(expect.objectContaining({ type: 'CALL_ENDED', call: expect.objectContaining({ provider: 'TWENTY2', contact: null }) }));
      expect(trail(gateway.seen)).toEqual([['check', 204], ['next', 204], ['next', 204]]);
      // The client leaves. Hive Gateway tells the subgraph nothing; it forgets the subscription, so
      // the next message to its callback URL is answered 404, and Switchboard ends it there.
      expect(gateway.listening()).toEqual([`webhook:post:${gateway.seen[0]!.path}`]);
      controller.abort();
      await events.return(undefined).catch(() => {});
      await waitFor('the gateway to forget the subscription', () => gateway.listening().length === 0);
      expect(source.listening).toBe(1);
      source.emit(eventOf('CALL_ENDED', unpod));
      await source.untilListening(0);
      expect(trail(gateway.seen)).toEqual([['check', 204], ['next', 204], ['next', 204], ['next', 404]]);
    } finally {
      controller.abort();
      await stop();
    }
  });

  it('once the client has left and no event comes, a heartbeat answered 404 ends the subscription', async () => {
    // Apollo's default heartbeat. The gateway times a subscription out when a message comes later
    // than this after the previous one (docs/live.md), so the first event must reach it within 5 s.
    const { gateway, source, h, stop } = await startAll({ heartbeatMs: 5_000 });
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, QUERY, controller.signal);
      const first = events.next();
      await subscribed(source, first);
      expect(gateway.seen[0]!.body).toEqual(expect.objectContaining({ action: 'check' }));
      source.emit(eventOf('CALL_ADDED', allCalls(h.sims).find((c) => c.provider === 'UNPOD')!));
      expect((await first).value.data.callEvents.type).toBe('CALL_ADDED');
      controller.abort();
      await events.return(undefined).catch(() => {});
      // No event: only a heartbeat can tell Switchboard that the gateway has forgotten it.
      await source.untilListening(0);
      expect(trail(gateway.seen).slice(0, 2)).toEqual([['check', 204], ['next', 204]]);
      expect(trail(gateway.seen).at(-1)).toEqual(['check', 404]);
      // Every message carried the subscription's id and verifier, and the protocol version.
      expect(new Set(gateway.seen.map((s) => `${s.path} ${s.body.id} ${s.body.verifier} ${s.protocol}`)).size).toBe(1);
    } finally {
      controller.abort();
      await stop();
    }
  });

  it("Switchboard's shutdown sends `complete`, and the gateway ends its client's subscription", async () => {
    const { gateway, source, h, crm } = await startAll({ heartbeatMs: 60_000 });
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, QUERY, controller.signal);
      const first = events.next();
      await subscribed(source, first);
      source.emit(eventOf('CALL_ADDED', allCalls(h.sims).find((c) => c.provider === 'UNPOD')!));
      expect((await first).value.data.callEvents.type).toBe('CALL_ADDED');
      expect(await h.server.stop({ graceMs: 20_000 })).toEqual({ graceful: true, abandoned: 0 });
      expect(trail(gateway.seen)).toEqual([['check', 204], ['next', 204], ['complete', 204]]);
      // The gateway's SSE stream to its client ends, with no error.
      const rest: unknown[] = [];
      for (let next = await events.next(); !next.done; next = await events.next()) rest.push(next.value);
      expect(rest).toEqual([]);
    } finally {
      controller.abort();
      // Switchboard itself is stopped above.
      await gateway.stop();
      await crm.stop();
      await h.sims.close();
    }
  });

  it('without SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS the gateway\'s client gets CALLBACK_URL_NOT_ALLOWED and nothing reaches the callback URL', async () => {
    const { gateway, source, stop } = await startAll({ heartbeatMs: 60_000, allow: false });
    const controller = new AbortController();
    try {
      const { value } = await sseEvents(gateway.url, QUERY, controller.signal).next();
      expect(value.data ?? null).toBeNull();
      expect(value.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS/), extensions: expect.objectContaining({ code: 'CALLBACK_URL_NOT_ALLOWED' }) })]);
      expect(gateway.seen).toEqual([]);
      expect(source.listening).toBe(0);
    } finally {
      controller.abort();
      await stop();
    }
  });
});

describe('Hive Gateway over HTTP callbacks and the real watchers', () => {
  it("a call started in a simulator reaches the gateway's client as CALL_ADDED, completed with the CRM's fields", async () => {
    const { gateway, h: live, contacts, stop } = await startAll({ heartbeatMs: 60_000, live: true });
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, QUERY, controller.signal);
      const first = events.next();
      // The gateway's subscription makes the key's connections watched; wait for their baselines.
      const watching = () => live.server.events.watchers().filter((w) => w.state === 'watching').map((w) => w.connection).sort();
      await waitFor('the watchers', () => JSON.stringify(watching()) === JSON.stringify(['twenty2/default', 'unpod/default']));
      const lists = live.sims.twenty2.server.count('/call/logs');
      await waitFor('two polls past the baseline', () => live.sims.twenty2.server.count('/call/logs') >= lists + 2);
      const row = live.sims.twenty2.startCall();
      // The CRM knows the new call (before the next poll: no await in between).
      const started = allCalls(live.sims).find((c) => c.provider === 'TWENTY2' && c.key === row.call_id)!;
      contacts.push({ id: 'contact-2', name: 'Ravi Iyer', callIds: [encodeCallId(started)] });
      const { value } = await first;
      expect(value.errors).toBeUndefined();
      expect(value.data.callEvents).toEqual({
        id: expect.stringMatching(/^evt_/),
        type: 'CALL_ADDED',
        call: { id: encodeCallId(started), provider: 'TWENTY2', status: expect.any(String), contact: { name: 'Ravi Iyer' } },
      });
      expect(['INITIATED', 'RINGING', 'IN_PROGRESS', 'QUEUED']).toContain(value.data.callEvents.call.status);
      expect(trail(gateway.seen).slice(0, 2)).toEqual([['check', 204], ['next', 204]]);
      // The client leaves; the next call's event is answered 404 and nothing is watched any more.
      controller.abort();
      await events.return(undefined).catch(() => {});
      await waitFor('the gateway to forget the subscription', () => gateway.listening().length === 0);
      live.sims.twenty2.startCall();
      await waitFor('the watchers to stop', () => live.server.events.watchers().length === 0);
      expect(trail(gateway.seen).at(-1)).toEqual(['next', 404]);
    } finally {
      controller.abort();
      await stop();
    }
  });
});
