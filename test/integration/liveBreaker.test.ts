/**
 * The live features under bad input and abuse, over real HTTP and WebSocket: what a careless or
 * hostile client sends to the subscription transports gets a coded answer (never
 * INTERNAL_SERVER_ERROR or an uncoded error), and what it withholds (reading) or overdoes (a huge
 * message) costs bounded memory. Events come from a ManualEventSource the test drives.
 */
import WebSocket from 'ws';
import { ManualEventSource } from '../helpers/events.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const KEY = 'k_all_0123456789abcdef';
const MAX_BODY_BYTES = 20_000;

let h: Harness;
let source: ManualEventSource;

beforeAll(async () => {
  source = new ManualEventSource();
  h = await startHarness({ env: { SWITCHBOARD_API_KEYS: KEY, SWITCHBOARD_MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, events: source });
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
