/**
 * The live features under bad input and abuse, over real HTTP and WebSocket: what a careless or
 * hostile client sends to the subscription transports gets a coded answer (never
 * INTERNAL_SERVER_ERROR or an uncoded error), and what it withholds (reading) or overdoes (a huge
 * message) costs bounded memory. Events come from a ManualEventSource the test drives.
 */
import net from 'node:net';
import WebSocket from 'ws';
import type { CallRecord } from '../../src/calls/model.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';

const KEY = 'k_all_0123456789abcdef';
const MAX_BODY_BYTES = 20_000;

let h: Harness;
let source: ManualEventSource;
let calls: CallRecord[];

beforeAll(async () => {
  source = new ManualEventSource();
  h = await startHarness({ env: { SWITCHBOARD_API_KEYS: KEY, SWITCHBOARD_MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, events: source });
  calls = allCalls(h.sims);
});

afterAll(async () => {
  await h?.stop();
});

/** Waits (no time bound of its own: jest's test time-out is the bound) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const wsUrl = () => h.server.url.replace(/^http/, 'ws');

/** A graphql-transport-ws socket, initialised with the key; resolves once acknowledged. */
async function wsSession(): Promise<{ socket: WebSocket; messages: any[]; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(wsUrl(), 'graphql-transport-ws');
  const messages: any[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${KEY}` } }));
  await until(() => messages.some((m) => m.type === 'connection_ack'));
  return { socket, messages, closed };
}

/**
 * What `run` printed on stderr through console.error: graphql-ws's own server glue printed each
 * failed send and socket error (both the client's doing) with its stack there, outside the log.
 */
async function printedBy(run: () => Promise<void>): Promise<unknown[][]> {
  const printed: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void printed.push(args);
  try {
    await run();
    // Sends that were under way when the socket went fail a moment later.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    console.error = original;
  }
  return printed;
}

const FILTERED = 'subscription($f: CallFilter) { callEvents(filter: $f) { type } }';

describe('variables that do not coerce', () => {
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['an unknown enum value', FILTERED, { f: { statuses: 'DONE' } }],
    ['an unknown enum value in a list', FILTERED, { f: { statuses: ['DONE'] } }],
    ['an unknown provider', FILTERED, { f: { providers: ['ACME'] } }],
    ['a number for an input object', FILTERED, { f: 5 }],
    ['a number for a string', FILTERED, { f: { phoneNumber: 123 } }],
    ['an unknown input field', FILTERED, { f: { connection: 'twilio/default' } }],
    ['a required variable missing', 'subscription($f: CallFilter!) { callEvents(filter: $f) { type } }', {}],
  ];

  it.each(cases)('%s: BAD_USER_INPUT over WebSocket, then complete', async (_name, query, variables) => {
    const { socket, messages } = await wsSession();
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
    await until(() => messages.some((m) => m.type === 'complete' || m.type === 'error'));
    socket.close();
    const errors = messages.flatMap((m) => (m.type === 'next' ? m.payload.errors ?? [] : m.type === 'error' ? m.payload : []));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      expect(error.extensions.code).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(/Variable "\$f"/);
    }
    expect(h.logs.join('')).not.toMatch(/unexpected error/);
  });

  it.each(cases)('%s: BAD_USER_INPUT over SSE', async (_name, query, variables) => {
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    const results = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!)).filter((r) => r.errors);
    expect(results).toHaveLength(1);
    for (const error of results[0].errors) expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(text).toMatch(/event: complete/);
    expect(h.logs.join('')).not.toMatch(/unexpected error/);
  });
});

describe('GraphQL over SSE refusals are coded as every other refusal', () => {
  const sse = (init: RequestInit & { search?: string }) =>
    fetch(`${h.server.url}${init.search ?? ''}`, { ...init, headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}`, ...init.headers } });

  it.each([
    ['PUT (single connection mode\'s reservation)', 'PUT'],
    ['DELETE (single connection mode\'s release)', 'DELETE'],
  ])('%s: 405 BAD_REQUEST naming the methods', async (_name, method) => {
    const response = await sse({ method, search: '?token=abc' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    const body: any = await response.json();
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(body.errors[0].message).toMatch(/GET or POST/);
  });

  it.each([
    ['a POST without a query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['a POST with a number for the query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": 5}' }],
    ['a GET without a query', { method: 'GET', search: '?token=abc' }],
    ['a GET whose variables are not JSON', { method: 'GET', search: '?query=subscription%7BcallEvents%7Btype%7D%7D&variables=nope' }],
    ['a GET whose extensions are not JSON', { method: 'GET', search: '?query=subscription%7BcallEvents%7Btype%7D%7D&extensions=nope' }],
  ])('%s: 400 with a code', async (_name, init) => {
    const response = await sse(init as RequestInit & { search?: string });
    expect(response.status).toBe(400);
    const body: any = await response.json();
    expect(body.errors.length).toBeGreaterThan(0);
    for (const error of body.errors) expect(error.extensions.code).toEqual(expect.stringMatching(/^(BAD_REQUEST|GRAPHQL_PARSE_FAILED)$/));
  });
});

describe('bounded memory', () => {
  const SELECTION = 'subscription { callEvents { id type occurredAt call { id provider status providerStatus startedAt from { phoneNumber } to { phoneNumber } } } }';

  /**
   * Far more events than the sockets' buffers hold, until the subscriber's subscription ends: the
   * server must stop taking events when the client stops reading, so that the subscription's own
   * bound (1,000 waiting) applies. A pause now and then lets a server that sends on keep up, so
   * that only a stalled client fills the bound.
   */
  async function flood(): Promise<void> {
    const call = calls[0]!;
    for (let i = 0; i < 20_000 && source.listening > 0; i += 1) {
      source.emit({ ...eventOf('CALL_UPDATED', call), id: `evt_${String(i).padStart(24, '0')}` });
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  it('a WebSocket message larger than SWITCHBOARD_MAX_BODY_BYTES closes the socket with 1009 before it is buffered whole', async () => {
    const printed = await printedBy(async () => {
      const { socket, closed } = await wsSession();
      const query = `subscription { callEvents { type } } ${'#'.repeat(MAX_BODY_BYTES)}`;
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
      expect((await closed).code).toBe(1009);
    });
    expect(source.listening).toBe(0);
    // The client's error, answered by the close: nothing printed.
    expect(printed).toEqual([]);
  });

  it('a WebSocket client that sends on but never reads is cut off, not answered into memory without bound', async () => {
    let isClosed = false;
    const printed = await printedBy(async () => {
      const { socket, closed } = await wsSession();
      void closed.then(() => (isClosed = true));
      socket.on('error', () => {});
      socket.pause();
      // Pings, each answered with a pong that echoes its 10 KB payload and that the client never
      // takes: 5,000 of them (50 MB) are far more than the sockets' buffers and MAX_UNSENT_BYTES hold.
      const ping = JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(10_000) } });
      for (let sent = 0; sent < 5_000 && !isClosed; sent += 1) {
        socket.send(ping);
        if (sent % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      socket.resume();
      await closed;
    });
    expect(isClosed).toBe(true);
    // The pongs it was being sent fail when it is cut off: no error of Switchboard's, nothing printed.
    expect(printed).toEqual([]);
  });

  it('a WebSocket subscriber that never reads has its subscription completed once 1,000 events wait', async () => {
    const { socket, messages } = await wsSession();
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SELECTION } }));
    await source.untilListening(1);
    socket.pause();
    await flood();
    await until(() => source.listening === 0);
    socket.resume();
    // What it then reads ends with the completion of its subscription.
    await until(() => messages.at(-1)?.type === 'complete');
    socket.close();
  });

  it('an SSE subscriber that never reads has its subscription completed once 1,000 events wait, not buffered without bound', async () => {
    // A client that sends its request and then never reads a byte of the answer.
    const socket = net.connect(Number(new URL(h.server.url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    const body = JSON.stringify({ query: SELECTION });
    socket.write(
      `POST /graphql HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\ncontent-type: application/json\r\n` +
        `authorization: Bearer ${KEY}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await source.untilListening(1);
    await flood();
    await until(() => source.listening === 0);
    socket.destroy();
  });
});

/** One raw HTTP/1.1 exchange on a fresh socket: what the server answered, until it closed or `ms` passed. */
function raw(text: string, ms = 2_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(Number(new URL(h.server.url).port), '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.on('close', done).on('error', done);
    setTimeout(done, ms);
  });
}

describe('requests that offer an upgrade', () => {
  // What `curl --http2` and Java's HttpClient send on http:// URLs (and `close`, so that the
  // answer ends the exchange).
  const h2c = 'Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n';
  const query = '{"query":"{ __typename }"}';

  it.each([
    ['GET /health', `GET /health HTTP/1.1\r\nHost: localhost\r\n${h2c}\r\n`, /"status":"ok"/],
    ['GET /graphql?query=', `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\n${h2c}\r\n`, /"__typename":"Query"/],
    [
      'POST /graphql with a body',
      `POST /graphql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${query.length}\r\n${h2c}\r\n${query}`,
      /"__typename":"Query"/,
    ],
  ])('to h2c are served as any request, the offer ignored: %s', async (_name, request, body) => {
    const answer = await raw(request);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(body);
  });

  it.each([
    ['without Sec-WebSocket-Key', 'GET', 'Sec-WebSocket-Version: 13\r\n', 400],
    ['with a malformed key', 'GET', 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n', 400],
    ['with an unknown version', 'GET', 'Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n', 400],
    ['by POST', 'POST', 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n', 405],
  ])('to WebSocket, malformed (%s): a coded JSON refusal', async (_name, method, headers, status) => {
    const answer = await raw(`${method} /graphql HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${headers}\r\n`);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(answer).toMatch(/content-type: application\/json/i);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(body.errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

describe('a body over SWITCHBOARD_MAX_BODY_BYTES sent without a Content-Length (chunked)', () => {
  // A chunked body that goes on past the limit (and is not even finished): the size is known only
  // as it is read, so the refusal comes mid-body.
  const chunk = 'a'.repeat(1_000);
  const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(Math.ceil((MAX_BODY_BYTES * 1.5) / chunk.length));

  it.each([
    ['a provider push', '/providers/retell/default/events'],
    ['a GraphQL request', '/graphql'],
  ])('%s is answered 413 BAD_REQUEST, not cut off', async (_name, path) => {
    const answer = await raw(
      `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/connection: close/i);
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
    expect(json.errors[0]).toEqual({ message: `Request body larger than ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } });
  });
});
