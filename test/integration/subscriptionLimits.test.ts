/**
 * What bounds subscriptions, over all three transports (GraphQL over WebSocket, GraphQL over SSE,
 * Apollo's HTTP callback protocol), over real HTTP and WebSocket:
 *
 * - SWITCHBOARD_MAX_SUBSCRIPTIONS: one bound on the subscriptions open on a replica, whatever
 *   carries them; the next is refused with OVERLOADED in each transport's own way, counted in
 *   /metrics, and a place is free again once one ends;
 * - the document limits of queries (tokens, depth, aliases, directives, selections, cost) hold
 *   for subscription documents too, with the same codes and messages.
 *
 * Events come from a ManualEventSource; the test plays the router for callbacks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ManualEventSource } from '../helpers/events.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const KEY = 'k_all_0123456789abcdef';
const MAX = 3;
const CHEAP = 'subscription { callEvents { type call { id } } }';

let h: Harness;
let source: ManualEventSource;
let router: http.Server;
let routerUrl = '';

beforeAll(async () => {
  // The router's side of callback/1.0: a check is answered 204 with the protocol header, next 200, complete 202.
  router = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const { action } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (action === 'check') return void res.writeHead(204, { 'subscription-protocol': 'callback/1.0' }).end();
      res.writeHead(action === 'next' ? 200 : 202).end();
    });
  });
  await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
  routerUrl = `http://127.0.0.1:${(router.address() as AddressInfo).port}/callback`;
  source = new ManualEventSource();
  h = await startHarness({
    env: {
      SWITCHBOARD_API_KEYS: KEY,
      SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS: routerUrl,
      SWITCHBOARD_MAX_SUBSCRIPTIONS: String(MAX),
      SWITCHBOARD_MAX_QUERY_DEPTH: '3',
      SWITCHBOARD_MAX_ALIASES: '5',
      SWITCHBOARD_MAX_DIRECTIVES: '3',
      SWITCHBOARD_MAX_TOKENS: '200',
      SWITCHBOARD_MAX_SELECTIONS: '100',
      SWITCHBOARD_MAX_QUERY_COST: '20',
    },
    events: source,
  });
});

afterAll(async () => {
  await h?.stop();
  router.closeAllConnections();
  await new Promise((resolve) => router.close(resolve));
});

/** Waits (no time bound of its own: jest's test time-out is the bound) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A graphql-transport-ws socket, initialised with the key; `subscribe` sends a subscribe message. */
async function wsSession() {
  const socket = new WebSocket(h.server.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${KEY}` } }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  return {
    socket,
    messages,
    subscribe: (id: string, query: string) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } })),
    complete: (id: string) => socket.send(JSON.stringify({ id, type: 'complete' })),
    /** The `error` message for subscription `id`, once it came. */
    errorOf: async (id: string) => {
      await until(() => messages.some((m) => m.id === id && m.type === 'error'));
      return messages.find((m) => m.id === id && m.type === 'error').payload as any[];
    },
  };
}

/** A GraphQL over SSE subscription (distinct connections mode); `abort` leaves it. */
async function sse(query: string) {
  const controller = new AbortController();
  const response = await fetch(h.server.url, {
    method: 'POST',
    headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  const refused = response.status !== 200;
  return { response, body: refused ? ((await response.json()) as any) : null, abort: () => controller.abort() };
}

let subscriptionIds = 0;
/** The router's POST of a subscription with the callback extension. */
async function callback(query: string) {
  const id = `sub-${(subscriptionIds += 1)}`;
  const response = await fetch(h.server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json;callbackSpec=1.0', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({
      query,
      extensions: { subscription: { callbackUrl: `${routerUrl}/${id}`, subscriptionId: id, verifier: `v-${id}`, heartbeatIntervalMs: 0 } },
    }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

async function metric(line: RegExp): Promise<number> {
  const text = await (await fetch(`${h.server.url.replace(/\/graphql$/, '')}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  return found ? Number(found.split(' ').at(-1)) : 0;
}

const OVERLOADED = { message: expect.stringMatching(/^Switchboard is overloaded \(3 subscriptions are open, SWITCHBOARD_MAX_SUBSCRIPTIONS\): retry after \d+ s$/), extensions: { code: 'OVERLOADED' } };

describe('SWITCHBOARD_MAX_SUBSCRIPTIONS', () => {
  it('bounds the subscriptions open over all transports together: the next is refused OVERLOADED in each transport\'s way, until one ends', async () => {
    const shedBefore = await metric(/^switchboard_requests_shed_total\{reason="subscriptions"\}/);
    const ws = await wsSession();
    ws.subscribe('a', CHEAP);
    await source.untilListening(1);
    const stream = await sse(CHEAP);
    expect(stream.response.status).toBe(200);
    await source.untilListening(2);
    const routed = await callback(CHEAP);
    expect(routed).toEqual(expect.objectContaining({ status: 200, body: { data: null } }));
    await source.untilListening(3);
    expect(await metric(/^switchboard_subscriptions_open\{transport="websocket"\}/)).toBe(1);
    expect(await metric(/^switchboard_subscriptions_open\{transport="sse"\}/)).toBe(1);
    expect(await metric(/^switchboard_subscriptions_open\{transport="callback"\}/)).toBe(1);

    // WebSocket: an `error` message for that subscription, coded; the socket stays open.
    ws.subscribe('b', CHEAP);
    expect(await ws.errorOf('b')).toEqual([OVERLOADED]);
    expect(ws.socket.readyState).toBe(WebSocket.OPEN);
    // SSE: 503 JSON with Retry-After.
    const refusedStream = await sse(CHEAP);
    expect(refusedStream.response.status).toBe(503);
    expect(refusedStream.response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refusedStream.body).toEqual({ errors: [OVERLOADED] });
    // Callback: 503 JSON with Retry-After, and the router is sent nothing.
    const refusedCallback = await callback(CHEAP);
    expect(refusedCallback.status).toBe(503);
    expect(refusedCallback.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refusedCallback.body).toEqual({ errors: [OVERLOADED] });
    expect(source.listening).toBe(3);
    expect(await metric(/^switchboard_requests_shed_total\{reason="subscriptions"\}/)).toBe(shedBefore + 3);

    // One ends (the WebSocket subscription completes): its place is free, on the same socket too.
    ws.complete('a');
    await until(() => source.listening === 2);
    await until(async () => (await metric(/^switchboard_subscriptions_open\{transport="websocket"\}/)) === 0);
    ws.subscribe('c', CHEAP);
    await source.untilListening(3);
    expect(ws.messages.filter((m) => m.id === 'c' && m.type === 'error')).toEqual([]);
    // And again full: the SSE stream leaving frees a place for a new one.
    expect((await sse(CHEAP)).response.status).toBe(503);
    stream.abort();
    await until(() => source.listening === 2);
    const again = await sse(CHEAP);
    expect(again.response.status).toBe(200);
    again.abort();
    ws.socket.close();
    await until(() => source.listening === 1); // the callback subscription stays until shutdown
  });

  it('a burst of subscribe messages on one socket takes no more than the bound', async () => {
    const ws = await wsSession();
    const before = source.listening;
    const free = MAX - before;
    for (let i = 0; i < 10; i += 1) ws.subscribe(`burst-${i}`, CHEAP);
    await until(() => ws.messages.filter((m) => m.type === 'error').length === 10 - free);
    await source.untilListening(MAX);
    expect(ws.messages.filter((m) => m.type === 'error').every((m) => m.payload[0].extensions.code === 'OVERLOADED')).toBe(true);
    expect(source.listening).toBe(MAX);
    ws.socket.close();
    await until(() => source.listening === before);
  });
});

describe('the document limits of queries hold for subscriptions, with the same codes and messages', () => {
  const fragments = ['fragment F0 on Call { id }'];
  for (let i = 1; i <= 8; i++) fragments.push(`fragment F${i} on Call { ...F${i - 1} ...F${i - 1} }`);
  const cases: Array<[string, string, string, string, RegExp]> = [
    // [limit, subscription document, the query over HTTP it must be refused like, code, message]
    ['depth', 'subscription { callEvents { call { from { phoneNumber } } } }', '{ calls(first: 1) { nodes { from { phoneNumber } } } }', 'GRAPHQL_VALIDATION_FAILED', /depth limit of 3/],
    ['aliases', `subscription { callEvents { call { ${Array.from({ length: 6 }, (_, i) => `a${i}: id`).join(' ')} } } }`, `{ calls(first: 1) { nodes { ${Array.from({ length: 6 }, (_, i) => `a${i}: id`).join(' ')} } } }`, 'GRAPHQL_VALIDATION_FAILED', /Aliases limit of 5/],
    ['directives', 'subscription { callEvents { call { id @include(if: true) provider @include(if: true) status @include(if: true) direction @include(if: true) } } }', '{ calls(first: 1) { nodes { id @include(if: true) provider @include(if: true) status @include(if: true) direction @include(if: true) } } }', 'GRAPHQL_VALIDATION_FAILED', /Directives limit of 3/],
    ['tokens', `subscription { callEvents { call { ${'id '.repeat(200)} } } }`, `{ calls(first: 1) { nodes { ${'id '.repeat(200)} } } }`, 'GRAPHQL_PARSE_FAILED', /more that 200 tokens/],
    ['selections (a fragment bomb)', `subscription Bomb { callEvents { call { ...F8 } } } ${fragments.join(' ')}`, `query Bomb { call(id: "x") { ...F8 } } ${fragments.join(' ')}`, 'GRAPHQL_VALIDATION_FAILED', /^Operation "Bomb" recursively requests too many selections\.$/],
    ['cost', 'subscription { callEvents { call { a: transcriptText b: transcriptText c: transcriptText d: transcriptText e: transcriptText } } }', '{ call(id: "x") { a: transcriptText b: transcriptText c: transcriptText d: transcriptText e: transcriptText } }', 'COST_ESTIMATED_TOO_EXPENSIVE', /^Estimated query cost \d+ is over the limit of 20/],
  ];

  it.each(cases)('%s', async (_limit, subscription, query, code, message) => {
    const before = source.requested.length;
    // The query over HTTP: the reference.
    const answered = await h.gql(query, undefined, { authorization: `Bearer ${KEY}` });
    expect(answered.status).toBe(400);
    expect(answered.body.errors![0]!.extensions!.code).toBe(code);
    expect(answered.body.errors![0]!.message).toMatch(message);
    const expected = expect.objectContaining({ message: expect.stringMatching(message), extensions: expect.objectContaining({ code }) });

    const ws = await wsSession();
    ws.subscribe('x', subscription);
    const wsErrors = await ws.errorOf('x');
    expect(wsErrors[0]).toEqual(expected);
    expect(ws.socket.readyState).toBe(WebSocket.OPEN);
    ws.socket.close();

    const stream = await sse(subscription);
    expect(stream.response.status).toBe(400);
    expect(stream.body.errors[0]).toEqual(expected);

    const routed = await callback(subscription);
    expect(routed.status).toBe(400);
    expect(routed.body.errors[0]).toEqual(expected);

    if (code === 'COST_ESTIMATED_TOO_EXPENSIVE') {
      for (const error of [wsErrors[0], stream.body.errors[0], routed.body.errors[0]]) {
        expect(error.extensions).toEqual({ code, 'cost.estimated': expect.any(Number), 'cost.max': 20 });
      }
    }
    // Nothing was watched for any of them.
    expect(source.requested.length).toBe(before);
  });
});
