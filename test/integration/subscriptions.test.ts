/**
 * `Subscription.callEvents` over its two transports, with their own clients over real HTTP:
 * GraphQL over WebSocket (graphql-ws) and GraphQL over SSE (graphql-sse). Events come from a
 * ManualEventSource the test drives; calls are the simulators' real calls and detail fields are
 * fetched from the simulators as in `calls`.
 */
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import type { CallRecord } from '../../src/calls/model.js';
import { encodeCallId } from '../../src/calls/ids.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';

const KEY_ALL = 'k_all_0123456789abcdef';
const KEY_TWENTY2 = 'k_t22_0123456789abcdef';

const EVENTS = `subscription($filter: CallFilter) {
  callEvents(filter: $filter) { id type occurredAt call { id provider status from { phoneNumber } } }
}`;

interface Collected {
  results: any[];
  completed: boolean;
  error: unknown;
  dispose: () => void;
}

/** Subscribes with a sink that records everything; `dispose` leaves (unsubscribes). */
function collect(client: WsClient | SseClient, query: string, variables?: Record<string, unknown>): Collected {
  const collected: Collected = { results: [], completed: false, error: undefined, dispose: () => {} };
  collected.dispose = client.subscribe(
    { query, variables },
    {
      next: (result) => void collected.results.push(result),
      error: (error) => void (collected.error = error),
      complete: () => void (collected.completed = true),
    },
  );
  return collected;
}

/** Waits (no time bound of its own: jest's test time-out is the bound) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

let h: Harness;
let source: ManualEventSource;
let calls: CallRecord[];
const clients: Array<{ dispose: () => unknown }> = [];

const wsUrl = () => h.server.url.replace(/^http/, 'ws');
function ws(key: string | null, where: 'params' | 'header' = 'params'): WsClient {
  const client = createWsClient({
    url: wsUrl(),
    // The upgrade request's own header, as server-side clients (and gateways) send it.
    webSocketImpl: where === 'header' && key ? class extends WebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols, { headers: { authorization: `Bearer ${key}` } });
      }
    } : WebSocket,
    connectionParams: key && where === 'params' ? { Authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
  clients.push(client);
  return client;
}
function sse(key: string | null): SseClient {
  const client = createSseClient({ url: h.server.url, headers: key ? { authorization: `Bearer ${key}` } : {}, retryAttempts: 0 });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  source = new ManualEventSource();
  h = await startHarness({ env: { SWITCHBOARD_API_KEYS: `${KEY_ALL},${KEY_TWENTY2}:twenty2/default` }, events: source });
  calls = allCalls(h.sims);
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  await until(() => source.listening === 0);
});

afterAll(async () => {
  await h?.stop();
});

const callOf = (provider: string, where: (call: CallRecord) => boolean = () => true) =>
  calls.find((call) => call.provider === provider && where(call))!;

describe.each([
  ['WebSocket', (key: string | null) => ws(key)],
  ['SSE', (key: string | null) => sse(key)],
])('over %s', (_transport, client) => {
  it('delivers each event of a visible connection as the contract shapes it', async () => {
    const sub = collect(client(KEY_ALL), EVENTS);
    await source.untilListening(1);
    const call = callOf('UNPOD');
    const added = eventOf('CALL_ADDED', call);
    source.emit(added);
    source.emit(eventOf('CALL_ENDED', call));
    await until(() => sub.results.length === 2);
    expect(sub.results[0]).toEqual({
      data: {
        callEvents: {
          id: added.id,
          type: 'CALL_ADDED',
          occurredAt: '2026-11-30T00:00:00.000Z',
          call: { id: encodeCallId(call), provider: 'UNPOD', status: call.status, from: { phoneNumber: call.from.phoneNumber } },
        },
      },
    });
    expect(sub.results[1].data.callEvents.type).toBe('CALL_ENDED');
    // The source was asked for every connection the key sees.
    expect(source.requested.at(-1)).toEqual(h.server.registry.connections.map((c) => c.label).sort());
  });

  it('applies the whole filter to the call as each event carries it', async () => {
    const inProgress = { ...callOf('TALKSTACK'), status: 'IN_PROGRESS' as const };
    const completed = { ...inProgress, status: 'COMPLETED' as const };
    const otherNumber = { ...completed, key: `${completed.key}-x`, from: { ...completed.from, phoneNumber: '+15550000000' }, to: { ...completed.to, phoneNumber: '+15550000001' } };
    const sub = collect(client(KEY_ALL), EVENTS, { filter: { statuses: ['COMPLETED'], providers: ['TALKSTACK', 'UNPOD'], phoneNumber: completed.from.phoneNumber } });
    await source.untilListening(1);
    // Only the connections of the filter's providers are watched for it.
    expect(source.requested.at(-1)).toEqual(['talkstack/default', 'unpod/default']);
    source.emit(eventOf('CALL_ADDED', inProgress));
    source.emit(eventOf('CALL_ADDED', otherNumber));
    source.emit(eventOf('CALL_ENDED', completed));
    await until(() => sub.results.length === 1);
    // One more event after: had the first two passed, they would have arrived before it.
    source.emit(eventOf('CALL_UPDATED', completed));
    await until(() => sub.results.length === 2);
    expect(sub.results.map((r) => r.data.callEvents.type)).toEqual(['CALL_ENDED', 'CALL_UPDATED']);
  });

  it('refuses a bad filter with BAD_USER_INPUT naming the argument, and watches nothing', async () => {
    const before = source.requested.length;
    const sub = collect(client(KEY_ALL), EVENTS, { filter: { phoneNumber: 'not-a-number' } });
    await until(() => sub.completed || sub.error !== undefined);
    const errors = sub.results[0]?.errors ?? sub.error;
    expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT', argument: 'filter.phoneNumber' } })]);
    expect(source.requested.length).toBe(before);
  });

  it('a key scoped to one connection never watches, nor receives, another', async () => {
    const sub = collect(client(KEY_TWENTY2), EVENTS);
    await source.untilListening(1);
    expect(source.requested.at(-1)).toEqual(['twenty2/default']);
    expect(source.emit(eventOf('CALL_ADDED', callOf('UNPOD')))).toBe(0);
    source.emit(eventOf('CALL_ADDED', callOf('TWENTY2')));
    await until(() => sub.results.length === 1);
    expect(sub.results[0].data.callEvents.call.provider).toBe('TWENTY2');
    // Filtering on another tenant's provider watches nothing at all.
    const none = collect(client(KEY_TWENTY2), EVENTS, { filter: { providers: ['UNPOD'] } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(source.requested.at(-1)).toEqual(['twenty2/default']);
    expect(none.results).toEqual([]);
  });

  it('resolves detail fields per event, each with fresh loaders (a later event sees later details)', async () => {
    const call = callOf('TWENTY2', (c) => c.status === 'COMPLETED');
    expect(call.details).toBeNull();
    const sub = collect(client(KEY_ALL), 'subscription { callEvents { type call { billedDurationSeconds recordings { url } } } }');
    await source.untilListening(1);
    h.resetCounters();
    source.emit(eventOf('CALL_UPDATED', call));
    source.emit(eventOf('CALL_ENDED', call));
    await until(() => sub.results.length === 2);
    expect(sub.results[0].data.callEvents.call).toEqual(sub.results[1].data.callEvents.call);
    expect(sub.results.map((r) => r.errors)).toEqual([undefined, undefined]);
    expect(sub.results[0].data.callEvents.call.billedDurationSeconds).toEqual(expect.any(Number));
    // One detail request per event: the second event did not reuse the first one's loader.
    expect(h.sims.twenty2.server.count('/call/detail')).toBe(2);
  });

  it('reports a failed detail request beside the event, naming the connection', async () => {
    const call = callOf('TWENTY2', (c) => c.status === 'COMPLETED');
    const sub = collect(client(KEY_ALL), 'subscription { callEvents { type call { provider recordings { url } } } }');
    await source.untilListening(1);
    h.sims.twenty2.server.persistentFault = { kind: 'status', status: 503 };
    try {
      source.emit(eventOf('CALL_ENDED', call));
      await until(() => sub.results.length === 1);
    } finally {
      h.sims.twenty2.server.clearFaults();
    }
    expect(sub.results[0].data.callEvents.call).toEqual({ provider: 'TWENTY2', recordings: [] });
    expect(sub.results[0].errors).toEqual([
      expect.objectContaining({ path: ['callEvents', 'call', 'recordings'], extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', provider: 'TWENTY2', connection: 'default' }) }),
    ]);
  });

  it('unsubscribes from the source when the client leaves', async () => {
    const subs = [collect(client(KEY_ALL), EVENTS), collect(client(KEY_ALL), EVENTS)];
    await source.untilListening(2);
    subs[0]!.dispose();
    await source.untilListening(1);
    subs[1]!.dispose();
    await source.untilListening(0);
  });

  it('runs subscriptions only: a query is refused with a coded error', async () => {
    const sub = collect(client(KEY_ALL), '{ calls(first: 1) { totalCount } }');
    await until(() => sub.completed || sub.error !== undefined);
    const errors = sub.error instanceof Error ? [] : ((sub.error as any[]) ?? sub.results[0]?.errors);
    if (_transport === 'SSE') expect(String(sub.error)).toMatch(/406/);
    else expect(errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/subscriptions only/), extensions: { code: 'BAD_REQUEST' } })]);
  });
});

describe('API keys', () => {
  it.each([
    ['no key', null],
    ['a wrong key', 'k_wrong_0123456789abcdef'],
  ])('WebSocket with %s closes 4403 Forbidden', async (_name, key) => {
    const sub = collect(ws(key), EVENTS);
    await until(() => sub.error !== undefined);
    expect((sub.error as { code: number }).code).toBe(4403);
    expect(source.listening).toBe(0);
  });

  it('WebSocket takes the key from the upgrade request\'s Authorization header too', async () => {
    const sub = collect(ws(KEY_TWENTY2, 'header'), EVENTS);
    await source.untilListening(1);
    expect(source.requested.at(-1)).toEqual(['twenty2/default']);
    sub.dispose();
  });

  it.each([
    ['no key', null],
    ['a wrong key', 'k_wrong_0123456789abcdef'],
  ])('SSE with %s is refused 401 UNAUTHENTICATED, as a query would be', async (_name, key) => {
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: EVENTS }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } })] });
  });

  it('SSE over GET, as curl or EventSource would subscribe', async () => {
    const controller = new AbortController();
    const response = await fetch(`${h.server.url}?query=${encodeURIComponent('subscription { callEvents { type } }')}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY_ALL}` },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await source.untilListening(1);
    source.emit(eventOf('CALL_ADDED', callOf('CINNOX')));
    const reader = response.body!.getReader();
    let text = '';
    // graphql-sse opens with a comment line (":"), then the events.
    while (!text.includes('event: next')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^(:\n\n)*event: next\ndata: {"data":{"callEvents":{"type":"CALL_ADDED"}}}\n\n$/);
    controller.abort();
    await source.untilListening(0);
  });
});

describe('as a plain JSON request', () => {
  const headers = { authorization: `Bearer ${KEY_ALL}`, accept: 'application/graphql-response+json' };
  it.each([
    ['POST', () => fetch(h.server.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query: EVENTS }) })],
    ['GET', () => fetch(`${h.server.url}?query=${encodeURIComponent(EVENTS)}`, { headers })],
  ])('%s is refused at validation, naming the transports, and watches nothing', async (_method, send) => {
    const before = source.requested.length;
    const response = await send();
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: expect.stringMatching(/WebSocket.*graphql-transport-ws.*text\/event-stream/), locations: [{ line: 1, column: 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
    });
    expect(source.requested.length).toBe(before);
  });

  // GraphiQL sends its whole editor (a query and a subscription) with the name of the one to run.
  const MIXED = `query Latest { calls(first: 1) { nodes { provider } } }\nsubscription Events { callEvents { id } }`;
  it.each([
    ['POST', () => fetch(h.server.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query: MIXED, operationName: 'Latest' }) })],
    ['GET', () => fetch(`${h.server.url}?query=${encodeURIComponent(MIXED)}&operationName=Latest`, { headers })],
  ])('%s of a document holding a subscription beside the query it names runs the query', async (_method, send) => {
    const response = await send();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { calls: { nodes: [{ provider: expect.any(String) }] } } });
  });

  it('POST naming the subscription of such a document is refused naming the transports, and watches nothing', async () => {
    const before = source.requested.length;
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query: MIXED, operationName: 'Events' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: expect.stringMatching(/WebSocket.*graphql-transport-ws.*text\/event-stream/), locations: [{ line: 2, column: 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }],
    });
    expect(source.requested.length).toBe(before);
  });
});

describe('graceful drain', () => {
  it('completes open subscriptions over both transports, then stops within the grace period', async () => {
    const own = new ManualEventSource();
    const server = await startHarness({ events: own });
    try {
      const wsClient = createWsClient({ url: server.server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      const sseClient = createSseClient({ url: server.server.url, retryAttempts: 0 });
      const subs = [collect(wsClient, EVENTS), collect(sseClient, EVENTS)];
      await own.untilListening(2);
      own.emit(eventOf('CALL_ADDED', callOf('UNPOD')));
      await until(() => subs.every((s) => s.results.length === 1));
      const result = await server.server.stop({ graceMs: 20_000 });
      expect(result).toEqual({ graceful: true, abandoned: 0 });
      await until(() => subs.every((s) => s.completed || s.error !== undefined));
      expect(subs.map((s) => ({ completed: s.completed, error: s.error }))).toEqual([
        { completed: true, error: undefined },
        { completed: true, error: undefined },
      ]);
      expect(own.listening).toBe(0);
      await wsClient.dispose();
      sseClient.dispose();
    } finally {
      await server.sims.close();
    }
  });
});

describe('in production', () => {
  it('validation messages over WebSocket and SSE suggest no field names, as over HTTP', async () => {
    const own = new ManualEventSource();
    const server = await startHarness({ env: { NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true' }, events: own });
    try {
      const wsClient = createWsClient({ url: server.server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      const sub = collect(wsClient, 'subscription { callEvent { id } }');
      await until(() => sub.error !== undefined || sub.completed);
      expect(sub.error).toEqual([{ message: 'Cannot query field "callEvent" on type "Subscription".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
      await wsClient.dispose();
      const response = await fetch(server.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: 'subscription { callEvent { id } }' }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ errors: [{ message: 'Cannot query field "callEvent" on type "Subscription".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    } finally {
      await server.stop();
    }
  });
});

describe('with a persisted-query manifest', () => {
  it('runs the subscriptions it lists, by body or by id, and refuses others, over both transports', async () => {
    const listed = 'subscription Ended {\n  callEvents(filter: { statuses: [COMPLETED] }) {\n    type\n  }\n}';
    const id = createHash('sha256').update(listed).digest('hex');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchboard-pq-')), 'manifest.json');
    writeFileSync(file, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id, name: 'Ended', type: 'subscription', body: listed }] }));
    const own = new ManualEventSource();
    const server = await startHarness({ env: { SWITCHBOARD_PERSISTED_QUERY_MANIFEST: file }, events: own });
    try {
      const wsClient = createWsClient({ url: server.server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      const refused = collect(wsClient, EVENTS);
      await until(() => refused.error !== undefined || refused.completed);
      expect(refused.error).toEqual([expect.objectContaining({ extensions: { code: 'QUERY_NOT_IN_SAFELIST' } })]);
      // By id: the manifest's body is what runs.
      const byId = { results: [] as any[] };
      const dispose = wsClient.subscribe({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: id } } }, { next: (r) => void byId.results.push(r), error: () => {}, complete: () => {} });
      await own.untilListening(1);
      own.emit(eventOf('CALL_ENDED', callOf('UNPOD', (c) => c.status === 'COMPLETED')));
      await until(() => byId.results.length === 1);
      expect(byId.results[0]).toEqual({ data: { callEvents: { type: 'CALL_ENDED' } } });
      dispose();
      await wsClient.dispose();
      const sseRefused = await fetch(server.server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: EVENTS }),
      });
      expect(sseRefused.status).toBe(403);
      expect(await sseRefused.json()).toEqual({ errors: [expect.objectContaining({ extensions: { code: 'QUERY_NOT_IN_SAFELIST' } })] });
    } finally {
      await server.stop();
    }
  });
});
