/**
 * `Subscription.callEvents` over Apollo's HTTP callback protocol (callback/1.0), over real HTTP: the
 * test plays the router, with its own HTTP server on 127.0.0.1 receiving the callbacks. Events come
 * from a ManualEventSource the test drives (as in subscriptions.test.ts); calls are the simulators'
 * real calls and detail fields are fetched from the simulators.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallRecord } from '../../src/calls/model.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';

const KEY_ALL = 'k_all_0123456789abcdef';
const KEY_TWENTY2 = 'k_t22_0123456789abcdef';

const EVENTS = `subscription($filter: CallFilter) {
  callEvents(filter: $filter) { id type call { id provider status } }
}`;

interface Message {
  kind: string;
  action: 'check' | 'next' | 'complete';
  id: string;
  verifier: string;
  payload?: any;
  errors?: any[];
  protocol: string | undefined;
  path: string;
}

/** The router's side: records every callback and answers as the protocol says (or as a test makes it). */
class Router {
  readonly messages: Message[] = [];
  /** Subscription ids the router no longer has: every message about them is answered 404. */
  readonly gone = new Set<string>();
  /** Subscription ids whose messages are answered with this status instead. */
  readonly answer = new Map<string, number>();
  /** Subscription ids whose messages are answered with a redirect there (307, the method and body kept). */
  readonly redirect = new Map<string, string>();
  /** Subscription ids whose next check is held unanswered: the function answers it. */
  readonly hold = new Map<string, (() => void) | null>();
  private server!: http.Server;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        this.messages.push({ ...body, protocol: req.headers['subscription-protocol'], path: req.url });
        const status = this.gone.has(body.id) ? 404 : this.answer.get(body.id);
        if (status) return void res.writeHead(status).end();
        const location = this.redirect.get(body.id);
        if (location) return void res.writeHead(307, { location }).end();
        if (body.action === 'check' && this.hold.get(body.id) === null) {
          return void this.hold.set(body.id, () => res.writeHead(204, { 'subscription-protocol': 'callback/1.0' }).end());
        }
        // callback/1.0: a check is answered 204 with the protocol header; next 200, complete 202.
        if (body.action === 'check') return void res.writeHead(204, { 'subscription-protocol': 'callback/1.0' }).end();
        res.writeHead(body.action === 'next' ? 200 : 202).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/callback`;
  }

  of(id: string, action?: Message['action']): Message[] {
    return this.messages.filter((m) => m.id === id && (!action || m.action === action));
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Waits (no time bound of its own: jest's test time-out is the bound) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
/** The router's POST of a subscription with the callback extension; `id` is the subscription's. */
async function subscribe(
  server: Harness,
  router: Router,
  options: { key?: string | null; query?: string; variables?: Record<string, unknown>; heartbeatIntervalMs?: number; callbackUrl?: string; id?: string } = {},
) {
  const id = options.id ?? `sub-${(counter += 1)}`;
  const response = await fetch(server.server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json;callbackSpec=1.0',
      ...(options.key === null ? {} : { authorization: `Bearer ${options.key ?? KEY_ALL}` }),
    },
    body: JSON.stringify({
      query: options.query ?? EVENTS,
      variables: options.variables,
      extensions: {
        subscription: {
          callbackUrl: options.callbackUrl ?? `${router.url}/${id}`,
          subscriptionId: id,
          verifier: `verifier-of-${id}`,
          heartbeatIntervalMs: options.heartbeatIntervalMs ?? 0,
        },
      },
    }),
  });
  return { id, status: response.status, body: (await response.json()) as any, headers: response.headers };
}

let h: Harness;
let source: ManualEventSource;
let router: Router;
let calls: CallRecord[];
const callOf = (provider: string, where: (call: CallRecord) => boolean = () => true) => calls.find((call) => call.provider === provider && where(call))!;

beforeAll(async () => {
  router = new Router();
  await router.start();
  source = new ManualEventSource();
  h = await startHarness({
    env: { SWITCHBOARD_API_KEYS: `${KEY_ALL},${KEY_TWENTY2}:twenty2/default`, SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: router.url },
    events: source,
  });
  calls = allCalls(h.sims);
});

afterEach(async () => {
  // Ends every subscription a test left open: the router forgets them all, the next message gets 404.
  for (const m of router.messages) router.gone.add(m.id);
  for (let i = 0; source.listening > 0 && i < 5; i += 1) {
    source.emit(eventOf('CALL_ADDED', callOf('TWENTY2')));
    await pause(50);
  }
  await until(() => source.listening === 0);
});

afterAll(async () => {
  await h?.stop();
  await router?.stop();
});

describe('subscribing with the callback extension', () => {
  it('checks the callback URL before answering, then sends each event as `next`, every message with id, verifier and protocol', async () => {
    const sub = await subscribe(h, router);
    // The initial check came before the answer: it is already recorded when the answer arrives.
    expect(sub.status).toBe(200);
    expect(sub.body).toEqual({ data: null });
    expect(router.of(sub.id)).toEqual([
      { kind: 'subscription', action: 'check', id: sub.id, verifier: `verifier-of-${sub.id}`, protocol: 'callback/1.0', path: `/callback/${sub.id}` },
    ]);
    await source.untilListening(1);
    expect(source.requested.at(-1)).toEqual(h.server.registry.connections.map((c) => c.label).sort());
    const call = callOf('UNPOD');
    const added = eventOf('CALL_ADDED', call);
    source.emit(added);
    source.emit(eventOf('CALL_ENDED', call));
    await until(() => router.of(sub.id, 'next').length === 2);
    const next = router.of(sub.id, 'next');
    expect(next[0]!.payload).toEqual({ data: { callEvents: { id: added.id, type: 'CALL_ADDED', call: { id: expect.any(String), provider: 'UNPOD', status: call.status } } } });
    expect(next[1]!.payload.data.callEvents.type).toBe('CALL_ENDED');
    for (const message of router.of(sub.id)) {
      expect(message).toEqual(expect.objectContaining({ kind: 'subscription', id: sub.id, verifier: `verifier-of-${sub.id}`, protocol: 'callback/1.0' }));
    }
  });

  it('sends heartbeats at the interval asked for; a 404 from the router ends the subscription and its watching', async () => {
    const sub = await subscribe(h, router, { heartbeatIntervalMs: 100 });
    await source.untilListening(1);
    await until(() => router.of(sub.id, 'check').length >= 3);
    router.gone.add(sub.id);
    await source.untilListening(0);
    const sent = router.of(sub.id).length;
    await pause(300);
    // Nothing more: no heartbeat, no `complete` (the router has forgotten the subscription).
    expect(router.of(sub.id).length).toBe(sent);
    expect(router.of(sub.id, 'complete')).toEqual([]);
  });

  it('a 404 answering a `next` ends the subscription too', async () => {
    const sub = await subscribe(h, router);
    await source.untilListening(1);
    router.gone.add(sub.id);
    source.emit(eventOf('CALL_ADDED', callOf('CINNOX')));
    await source.untilListening(0);
    expect(router.of(sub.id, 'next')).toHaveLength(1);
  });

  it('a `next` failing on the way is tried three times, then the subscription ends without `complete`', async () => {
    const sub = await subscribe(h, router);
    await source.untilListening(1);
    router.answer.set(sub.id, 503);
    source.emit(eventOf('CALL_ADDED', callOf('CINNOX')));
    await source.untilListening(0);
    expect(router.of(sub.id).map((m) => m.action)).toEqual(['check', 'next', 'next', 'next']);
  });

  it('five failed heartbeats in a row end the subscription; a heartbeat that passes resets the count', async () => {
    const sub = await subscribe(h, router, { heartbeatIntervalMs: 100 });
    await source.untilListening(1);
    router.answer.set(sub.id, 500);
    const from = router.of(sub.id, 'check').length;
    // Three (or four) failures, not five: the subscription goes on.
    await until(() => router.of(sub.id, 'check').length >= from + 3);
    router.answer.delete(sub.id);
    const passed = router.of(sub.id, 'check').length;
    await until(() => router.of(sub.id, 'check').length >= passed + 2);
    expect(source.listening).toBe(1);
    router.answer.set(sub.id, 500);
    const failingFrom = router.of(sub.id).length;
    await source.untilListening(0);
    expect(router.messages.filter((m) => m.id === sub.id).slice(failingFrom).map((m) => m.action)).toEqual(['check', 'check', 'check', 'check', 'check']);
  });

  it('a key scoped to one connection never watches, nor receives, another', async () => {
    const sub = await subscribe(h, router, { key: KEY_TWENTY2 });
    await source.untilListening(1);
    expect(source.requested.at(-1)).toEqual(['twenty2/default']);
    expect(source.emit(eventOf('CALL_ADDED', callOf('UNPOD')))).toBe(0);
    source.emit(eventOf('CALL_ADDED', callOf('TWENTY2')));
    await until(() => router.of(sub.id, 'next').length === 1);
    expect(router.of(sub.id, 'next')[0]!.payload.data.callEvents.call.provider).toBe('TWENTY2');
    // Filtering on another tenant's provider watches nothing at all.
    const before = source.requested.length;
    const none = await subscribe(h, router, { key: KEY_TWENTY2, variables: { filter: { providers: ['UNPOD'] } } });
    expect(none.status).toBe(200);
    expect(source.requested.length).toBe(before);
  });

  it('resolves detail fields per event with a fresh context: a failed detail request is reported beside its event only', async () => {
    const call = callOf('TWENTY2', (c) => c.status === 'COMPLETED');
    const sub = await subscribe(h, router, { query: 'subscription { callEvents { type call { provider billedDurationSeconds recordings { url } } } }' });
    await source.untilListening(1);
    h.sims.twenty2.server.persistentFault = { kind: 'status', status: 503 };
    try {
      source.emit(eventOf('CALL_UPDATED', call));
      await until(() => router.of(sub.id, 'next').length === 1);
    } finally {
      h.sims.twenty2.server.clearFaults();
    }
    h.resetCounters();
    source.emit(eventOf('CALL_ENDED', call));
    await until(() => router.of(sub.id, 'next').length === 2);
    const [failed, fine] = router.of(sub.id, 'next').map((m) => m.payload);
    expect(failed.data.callEvents.call).toEqual({ provider: 'TWENTY2', billedDurationSeconds: null, recordings: [] });
    expect(failed.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: ['callEvents', 'call', 'recordings'], extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'TWENTY2', connection: 'default' }) }),
      ]),
    );
    // The next event has its own loaders: its details are fetched anew, and come.
    expect(fine.errors).toBeUndefined();
    expect(fine.data.callEvents.call.billedDurationSeconds).toEqual(expect.any(Number));
    expect(h.sims.twenty2.server.count('/call/detail')).toBe(1);
  });

  it('a bad filter ends the subscription at once with `complete` and BAD_USER_INPUT, and watches nothing', async () => {
    const before = source.requested.length;
    const sub = await subscribe(h, router, { variables: { filter: { phoneNumber: 'not-a-number' } } });
    expect(sub.status).toBe(200);
    expect(router.of(sub.id).map((m) => m.action)).toEqual(['check', 'complete']);
    expect(router.of(sub.id, 'complete')[0]!.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', argument: 'filter.phoneNumber' } })]);
    expect(source.requested.length).toBe(before);
  });
});

describe('refusals', () => {
  it('a callbackUrl outside the allowed URLs is refused with CALLBACK_URL_NOT_ALLOWED, and nothing is sent to it', async () => {
    const elsewhere = new Router();
    await elsewhere.start();
    try {
      const sameHostOtherPath = router.url.replace(/\/callback$/, '/admin');
      const lookalikePath = `${router.url}X/1`;
      const traversal = `${router.url}/../admin`;
      const withCredentials = router.url.replace('http://', 'http://user:pass@');
      for (const callbackUrl of [`${elsewhere.url}/1`, sameHostOtherPath, lookalikePath, traversal, withCredentials]) {
        const sub = await subscribe(h, router, { callbackUrl });
        expect(sub.status).toBe(403);
        expect(sub.body).toEqual({ errors: [{ message: expect.stringMatching(/SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS.*nothing was sent/), extensions: { code: 'CALLBACK_URL_NOT_ALLOWED' } }] });
        expect(router.of(sub.id)).toEqual([]);
      }
      expect(elsewhere.messages).toEqual([]);
      expect(source.listening).toBe(0);
    } finally {
      await elsewhere.stop();
    }
  });

  it.each([
    ['no key', null],
    ['a wrong key', 'k_wrong_0123456789abcdef'],
  ])('with %s: 401 UNAUTHENTICATED, as a query would be, and no callback', async (_name, key) => {
    const sub = await subscribe(h, router, { key });
    expect(sub.status).toBe(401);
    expect(sub.headers.get('www-authenticate')).toBe('Bearer');
    expect(sub.body).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] });
    expect(router.of(sub.id)).toEqual([]);
  });

  it('an initial check the router does not accept: 502 CALLBACK_CHECK_FAILED, nothing watched', async () => {
    const id = 'unknown-to-the-router';
    router.gone.add(id);
    const before = source.requested.length;
    const sub = await subscribe(h, router, { id });
    expect(sub.status).toBe(502);
    expect(sub.body).toEqual({ errors: [{ message: expect.stringMatching(/initial check failed \(answered HTTP 404\)/), extensions: { code: 'CALLBACK_CHECK_FAILED' } }] });
    expect(router.of(id, 'check')).toHaveLength(1);
    expect(source.requested.length).toBe(before);
  });

  it('a redirect from the router is never followed: not for the check (502), not for a `next` (the subscription ends)', async () => {
    const elsewhere = new Router();
    await elsewhere.start();
    try {
      const id = 'redirected-check';
      router.redirect.set(id, `${elsewhere.url}/${id}`);
      const refused = await subscribe(h, router, { id });
      expect(refused.status).toBe(502);
      expect(refused.body).toEqual({ errors: [{ message: expect.stringMatching(/initial check failed \(answered HTTP 307\)/), extensions: { code: 'CALLBACK_CHECK_FAILED' } }] });

      const sub = await subscribe(h, router);
      expect(sub.status).toBe(200);
      router.redirect.set(sub.id, `${elsewhere.url}/${sub.id}`);
      source.emit(eventOf('CALL_ADDED', callOf('TWENTY2')));
      await until(() => source.listening === 0);
      expect(router.of(sub.id, 'next')).toHaveLength(1); // refused at once, not retried
      expect(elsewhere.messages).toEqual([]);
    } finally {
      await elsewhere.stop();
    }
  });

  it('a document that does not validate, or is not a subscription, is refused before any callback', async () => {
    const invalid = await subscribe(h, router, { query: 'subscription { callEvent { id } }' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const query = await subscribe(h, router, { query: '{ calls(first: 1) { totalCount } }' });
    expect(query.status).toBe(400);
    expect(query.body).toEqual({ errors: [{ message: expect.stringMatching(/callback protocol carries subscriptions only/), extensions: { code: 'BAD_REQUEST' } }] });
    expect(router.of(invalid.id)).toEqual([]);
    expect(router.of(query.id)).toEqual([]);
  });

  it.each([
    ['no verifier', { callbackUrl: 'X', subscriptionId: 'a' }],
    ['a heartbeat too short', { callbackUrl: 'X', subscriptionId: 'a', verifier: 'v', heartbeatIntervalMs: 5 }],
    ['a callbackUrl that is not a URL', { callbackUrl: 'not a url', subscriptionId: 'a', verifier: 'v' }],
  ])('a malformed extension (%s) is a 400 BAD_REQUEST', async (_name, extension) => {
    const subscription = { ...extension, callbackUrl: extension.callbackUrl === 'X' ? `${router.url}/a` : extension.callbackUrl };
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY_ALL}` },
      body: JSON.stringify({ query: EVENTS, extensions: { subscription } }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: expect.stringMatching(/^extensions\.subscription/), extensions: { code: 'BAD_REQUEST' } }] });
    expect(router.of('a')).toEqual([]);
  });

  it('a subscription POSTed without the extension is still refused, naming the callback protocol among the transports', async () => {
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${KEY_ALL}` },
      body: JSON.stringify({ query: EVENTS }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: expect.stringMatching(/WebSocket.*text\/event-stream.*HTTP callback protocol.*extensions\.subscription/), locations: [{ line: 1, column: 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
    });
  });
});

describe('a server of its own', () => {
  it('a subscription whose initial check is still under way when shutdown begins is refused 503 NOT_READY, not left running', async () => {
    const own = new ManualEventSource();
    const server = await startHarness({ env: { SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: router.url }, events: own });
    try {
      router.hold.set('slow', null);
      const pending = subscribe(server, router, { id: 'slow' });
      await until(() => typeof router.hold.get('slow') === 'function');
      const stopped = server.server.stop({ graceMs: 20_000 });
      await pause(50);
      router.hold.get('slow')!();
      const sub = await pending;
      expect(sub.status).toBe(503);
      expect(sub.body).toEqual({ errors: [{ message: expect.stringMatching(/shutting down/), extensions: { code: 'NOT_READY' } }] });
      expect(await stopped).toEqual({ graceful: true, abandoned: 0 });
      expect(own.requested).toEqual([]);
    } finally {
      await server.sims.close();
    }
  });

  it('without SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS callbacks are off: CALLBACK_URL_NOT_ALLOWED, nothing sent', async () => {
    const own = new ManualEventSource();
    const server = await startHarness({ events: own });
    try {
      const sub = await subscribe(server, router);
      expect(sub.status).toBe(403);
      expect(sub.body).toEqual({ errors: [{ message: expect.stringMatching(/callback protocol are off.*SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS/), extensions: { code: 'CALLBACK_URL_NOT_ALLOWED' } }] });
      expect(router.of(sub.id)).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('holds SWITCHBOARD_MAX_SUBSCRIPTIONS open at most, and sends `complete` to each on shutdown', async () => {
    const own = new ManualEventSource();
    const server = await startHarness({ env: { SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: router.url, SWITCHBOARD_MAX_SUBSCRIPTIONS: '1' }, events: own });
    try {
      const sub = await subscribe(server, router, { heartbeatIntervalMs: 100 });
      expect(sub.status).toBe(200);
      await own.untilListening(1);
      const second = await subscribe(server, router);
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(second.body).toEqual({ errors: [{ message: expect.stringMatching(/SWITCHBOARD_MAX_SUBSCRIPTIONS/), extensions: { code: 'OVERLOADED' } }] });
      expect(router.of(second.id)).toEqual([]);
      own.emit(eventOf('CALL_ADDED', callOf('UNPOD')));
      await until(() => router.of(sub.id, 'next').length === 1);
      const result = await server.server.stop({ graceMs: 20_000 });
      expect(result).toEqual({ graceful: true, abandoned: 0 });
      // `complete` was sent before stop resolved; no heartbeat follows it.
      expect(router.of(sub.id).at(-1)).toEqual(expect.objectContaining({ action: 'complete', id: sub.id, verifier: `verifier-of-${sub.id}` }));
      expect(router.of(sub.id, 'complete')).toHaveLength(1);
      expect(own.listening).toBe(0);
      const sent = router.of(sub.id).length;
      await pause(300);
      expect(router.of(sub.id).length).toBe(sent);
    } finally {
      await server.sims.close();
    }
  });
});
