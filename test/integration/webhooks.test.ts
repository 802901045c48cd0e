/**
 * Outgoing webhooks (src/live/webhooks.ts) end to end: a real Switchboard over the simulators, fed by
 * a test's own CallEventSource (real CallRecords of the simulators), delivering to a real node:http
 * receiver on 127.0.0.1 that verifies every request with the `standardwebhooks` package.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { randomBytes } from 'node:crypto';
import { CursorCodec } from '../../src/calls/cursor.js';
import { emptyQuery } from '../../src/calls/filter.js';
import { encodeCallId } from '../../src/calls/ids.js';
import { type CallRecord, type ConnectionRef, connectionLabel } from '../../src/calls/model.js';
import { startSimulators } from '../../src/demo.js';
import type { CallEvent, CallEventSource, CallEventType } from '../../src/live/events.js';
import { defaultWebhookSettings, startWebhooks } from '../../src/live/webhooks.js';
import { createLogger } from '../../src/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { defaultHttpPolicy } from '../../src/providers/http.js';
import { ConnectionRegistry } from '../../src/providers/index.js';
import { createSchema } from '../../src/schema.js';
import { type Harness, startHarness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';

const SECRET = `whsec_${Buffer.alloc(32, 'switchboard-webhook-test').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 'another-endpoint-secret!').toString('base64')}`;
/** In the endpoint's query string: a token an operator puts there must never reach a log line. */
const URL_TOKEN = 'tok3n-in-the-url';

/** Every Call field, as a client would select it (written out here, not taken from the code under test). */
const LIST_FIELDS = `id provider connection providerCallId direction status providerStatus
  from { phoneNumber rawPhoneNumber displayName countryCode isStaff }
  to { phoneNumber rawPhoneNumber displayName countryCode isStaff }
  startedAt answeredAt endedAt durationSeconds cost { amount currency } endReason agentId`;
const DETAIL_FIELDS = `billedDurationSeconds recordings { url expiresAt } transcript { url expiresAt } transcriptText inputParameters outputParameters`;

/** A CallEventSource a test drives: `emit` hands an event to the listeners of its connection. */
class ManualSource implements CallEventSource {
  readonly listeners: { connections: string[]; listener: (event: CallEvent) => void }[] = [];
  subscribe(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void) {
    return this.observeLocal(connections, listener);
  }
  observeLocal(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void) {
    const entry = { connections: connections.map(connectionLabel), listener };
    this.listeners.push(entry);
    return () => void this.listeners.splice(this.listeners.indexOf(entry), 1);
  }
  emit(event: CallEvent): void {
    for (const { connections, listener } of this.listeners) if (connections.includes(connectionLabel(event.call))) listener(event);
  }
}

const event = (type: CallEventType, call: CallRecord, version = 0): CallEvent => ({
  id: `evt_${type}_${call.provider}_${call.key}_${version}`,
  type,
  call,
  occurredAt: new Date(Date.UTC(2026, 10, 30, 1, 0, version)),
});

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  /** What `standardwebhooks` verified, or null when verification failed. */
  payload: any;
  status: number;
  path: string;
}

interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** The status to answer a request with (and headers); 'hang' never answers. 200 by default. */
  respond: (request: { payload: any; attempt: number }) => number | 'hang' | { status: number; headers: Record<string, string> };
  close(): Promise<void>;
}

async function startReceiver(secret: string): Promise<Receiver> {
  const verifier = new Webhook(secret);
  const attempts = new Map<string, number>();
  const hung: http.ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    deliveries: [],
    respond: () => 200,
    close: async () => {
      hung.forEach((res) => res.destroy());
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let payload: any = null;
      try {
        payload = verifier.verify(body, req.headers as Record<string, string>);
      } catch {
        payload = null;
      }
      const id = String(req.headers['webhook-id']);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const answer = receiver.respond({ payload, attempt });
      const { status, headers } = typeof answer === 'object' ? answer : { status: answer === 'hang' ? 0 : answer, headers: {} };
      receiver.deliveries.push({ headers: req.headers, body, payload, status, path: req.url ?? '' });
      if (answer === 'hang') return void hung.push(res);
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks?token=${URL_TOKEN}`;
  return receiver;
}

/** Polls `check` until it holds (the deliveries are asynchronous); fails with `what` after a while. */
async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function metricsText(h: Harness): Promise<string> {
  return (await fetch(h.server.url.replace(/\/graphql$/, '/metrics'))).text();
}

/** The value of one sample of /metrics, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Webhooks with small back-off (tens of ms): the schedule is the unit test's; here, its behaviour. */
async function startWith(source: ManualSource, endpoints: object[], settings: Record<string, number> = {}): Promise<Harness> {
  return startHarness({
    sims: () => startSimulators({ count: 20 }),
    env: { SWITCHBOARD_WEBHOOKS: JSON.stringify(endpoints) },
    events: source,
    configure: (config) => ({ ...config, webhooks: { ...config.webhooks, baseDelayMs: 20, maxDelayMs: 100, ...settings } }),
  });
}

/**
 * Without the signatures of media links: the simulators sign them to expire a while after each
 * request, so two requests a second apart differ there.
 */
const unsigned = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (key, v) => (key === 'expiresAt' ? 'signed' : typeof v === 'string' ? v.replace(/\?expires=\d+/, '?expires=…') : v));

const delivered = (r: Receiver) => r.deliveries.filter((d) => d.status >= 200 && d.status < 300);

describe('webhooks', () => {
  const receivers: Receiver[] = [];
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  const receiver = async (secret = SECRET) => {
    const r = await startReceiver(secret);
    receivers.push(r);
    return r;
  };

  it('POSTs each event signed per Standard Webhooks: the call as a query renders it, detail fields only in call.ended', async () => {
    const r = await receiver();
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }]);
    // A Twenty2 call needs a detail request for its detail fields; a Retell call's list row carries them but the text.
    const calls = allCalls(h.sims);
    const twenty2 = calls.find((c) => c.provider === 'TWENTY2' && c.status === 'COMPLETED')!;
    const retell = calls.find((c) => c.provider === 'RETELL' && c.status === 'COMPLETED')!;
    h.resetCounters();
    source.emit(event('CALL_ADDED', twenty2));
    source.emit(event('CALL_ADDED', retell));
    await eventually('two call.added', () => delivered(r).length === 2);
    // call.added renders from the observed row: no upstream request.
    expect(h.upstreamCount()).toBe(0);
    source.emit(event('CALL_ENDED', twenty2, 1));
    source.emit(event('CALL_ENDED', retell, 1));
    await eventually('two call.ended', () => delivered(r).length === 4);

    for (const d of r.deliveries) {
      expect(d.payload).not.toBeNull(); // standardwebhooks verified the signature and timestamp
      expect(d.headers['content-type']).toBe('application/json');
      expect(d.headers['webhook-id']).toBe(d.payload.data.eventId);
      expect(d.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(Math.abs(Number(d.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
      expect(d.path).toBe(`/hooks?token=${URL_TOKEN}`);
    }
    const byId = new Map(r.deliveries.map((d) => [d.payload.data.eventId as string, d.payload]));
    for (const call of [twenty2, retell]) {
      const id = encodeCallId(call);
      const listed = await h.gql(`query($id: ID!) { call(id: $id) { ${LIST_FIELDS} } }`, { id });
      const full = await h.gql(`query($id: ID!) { call(id: $id) { ${LIST_FIELDS} ${DETAIL_FIELDS} } }`, { id });
      expect(full.body.errors).toBeUndefined();
      const added = byId.get(event('CALL_ADDED', call).id);
      expect(added).toEqual({ type: 'call.added', timestamp: '2026-11-30T01:00:00.000Z', data: { eventId: event('CALL_ADDED', call).id, call: listed.body.data.call } });
      const ended = byId.get(event('CALL_ENDED', call, 1).id);
      expect(unsigned(ended)).toEqual(unsigned({ type: 'call.ended', timestamp: '2026-11-30T01:00:01.000Z', data: { eventId: event('CALL_ENDED', call, 1).id, call: full.body.data.call } }));
    }
    // The detail fields are there, from the providers' detail endpoints (Twenty2's /call/detail, Retell's get-call).
    const ended = (call: CallRecord) => byId.get(event('CALL_ENDED', call, 1).id).data.call;
    expect(ended(twenty2).recordings.length + (ended(twenty2).transcript ? 1 : 0)).toBeGreaterThan(0);
    expect(typeof ended(retell).transcriptText).toBe('string');
  });

  it('sends each endpoint only the events its filter and types match, and watches only the providers its filter names', async () => {
    const completedEnds = await receiver();
    const unpodOnly = await receiver(OTHER_SECRET);
    const source = new ManualSource();
    h = await startWith(source, [
      { url: completedEnds.url, secret: SECRET, filter: { statuses: ['COMPLETED'] }, types: ['CALL_ENDED'] },
      { url: unpodOnly.url, secret: OTHER_SECRET, filter: { providers: ['UNPOD'] } },
    ]);
    expect(source.listeners.map((l) => l.connections)).toEqual([
      h.sims.connections.map(connectionLabel),
      ['unpod/default'],
    ]);
    const calls = allCalls(h.sims);
    const emitted: CallEvent[] = [];
    for (const provider of ['TWENTY2', 'UNPOD', 'TALKSTACK'] as const) {
      for (const status of ['COMPLETED', 'FAILED'] as const) {
        const call = calls.find((c) => c.provider === provider && c.status === status);
        if (!call) continue;
        for (const type of ['CALL_ADDED', 'CALL_UPDATED', 'CALL_ENDED'] as const) emitted.push(event(type, call));
      }
    }
    emitted.forEach((e) => source.emit(e));
    const wantEnds = emitted.filter((e) => e.type === 'CALL_ENDED' && e.call.status === 'COMPLETED').map((e) => e.id);
    const wantUnpod = emitted.filter((e) => e.call.provider === 'UNPOD').map((e) => e.id);
    expect(wantEnds.length).toBeGreaterThanOrEqual(2);
    expect(wantUnpod.length).toBeGreaterThanOrEqual(3);
    await eventually('every matching event', () => delivered(completedEnds).length >= wantEnds.length && delivered(unpodOnly).length >= wantUnpod.length);
    // A moment for anything that should not have been sent to arrive anyway.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(completedEnds.deliveries.map((d) => d.payload.data.eventId).sort()).toEqual([...wantEnds].sort());
    expect(unpodOnly.deliveries.map((d) => d.payload.data.eventId).sort()).toEqual([...wantUnpod].sort());
    expect(unpodOnly.deliveries.every((d) => d.payload !== null)).toBe(true); // signed with its own secret
    // Stopping the server stops listening (and so, with watchers, watching).
    await h.stop();
    h = undefined;
    expect(source.listeners).toHaveLength(0);
  });

  it('retries a failing endpoint until a 2xx, in order per call, without holding up other calls', async () => {
    const r = await receiver();
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }]);
    const [a, b] = allCalls(h.sims).filter((c) => c.provider === 'TALKSTACK');
    const aEvents = [event('CALL_ADDED', a!), event('CALL_UPDATED', a!, 1), event('CALL_ENDED', a!, 2)];
    const bAdded = event('CALL_ADDED', b!);
    // Call a's first event fails three times (500, 503, then a time-out-free 502), every other once.
    r.respond = ({ payload, attempt }) => {
      const id = payload.data.eventId;
      if (id === aEvents[0]!.id) return attempt <= 3 ? [500, 503, 502][attempt - 1]! : 200;
      return attempt === 1 && id !== bAdded.id ? 500 : 204;
    };
    source.emit(aEvents[0]!);
    source.emit(aEvents[1]!);
    source.emit(bAdded);
    source.emit(aEvents[2]!);
    await eventually('a and b delivered', () => delivered(r).length === 4);

    const order = r.deliveries.map((d) => `${d.payload.data.eventId}:${d.status}`);
    // Call a: every attempt of one event before any of the next, each event until its 2xx.
    const aAttempts = order.filter((o) => !o.startsWith(bAdded.id));
    expect(aAttempts).toEqual([
      `${aEvents[0]!.id}:500`, `${aEvents[0]!.id}:503`, `${aEvents[0]!.id}:502`, `${aEvents[0]!.id}:200`,
      `${aEvents[1]!.id}:500`, `${aEvents[1]!.id}:204`,
      `${aEvents[2]!.id}:500`, `${aEvents[2]!.id}:204`,
    ]);
    // Call b went through while a was still failing.
    expect(order.indexOf(`${bAdded.id}:204`)).toBeLessThan(order.indexOf(`${aEvents[0]!.id}:200`));
    // Every attempt carried the same id and a valid signature.
    expect(r.deliveries.every((d) => d.payload !== null)).toBe(true);

    const text = await metricsText(h);
    const labels = { endpoint: '0', host: new URL(r.url).host };
    expect(sample(text, 'switchboard_webhook_deliveries_total', { ...labels, outcome: 'delivered' })).toBe(4);
    expect(sample(text, 'switchboard_webhook_attempts_total', { ...labels, outcome: 'http_status' })).toBe(5);
    expect(sample(text, 'switchboard_webhook_attempts_total', { ...labels, outcome: 'ok' })).toBe(4);
    expect(sample(text, 'switchboard_webhook_retries_total', labels)).toBe(5);
    expect(sample(text, 'switchboard_webhook_queue_depth', labels)).toBe(0);
  });

  it('gives an event up when the retry period ends, then sends the same call\'s next event', async () => {
    const r = await receiver();
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }], { retryPeriodMs: 300 });
    const call = allCalls(h.sims).find((c) => c.provider === 'UNPOD')!;
    const added = event('CALL_ADDED', call);
    const ended = event('CALL_ENDED', call, 1);
    r.respond = ({ payload }) => (payload.data.eventId === added.id ? 500 : 200);
    source.emit(added);
    source.emit(ended);
    await eventually('call.ended delivered', () => delivered(r).length === 1);
    expect(delivered(r)[0]!.payload.data.eventId).toBe(ended.id);
    const attemptsOfAdded = r.deliveries.filter((d) => d.payload.data.eventId === added.id).length;
    expect(attemptsOfAdded).toBeGreaterThan(1);
    const text = await metricsText(h);
    expect(sample(text, 'switchboard_webhook_deliveries_total', { endpoint: '0', outcome: 'expired' })).toBe(1);
    expect(h.logs.join('')).toMatch(/webhook event expired/);
  });

  it('bounds a dead endpoint\'s queue: the oldest waiting events are dropped, counted and logged once', async () => {
    const r = await receiver();
    r.respond = () => 'hang';
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }], { queueSize: 6, concurrency: 2, timeoutMs: 1_000 });
    const calls = allCalls(h.sims).slice(0, 20);
    calls.forEach((c) => source.emit(event('CALL_ADDED', c)));
    // Two in flight (hung), four waiting: 14 of 20 dropped, the oldest waiting first.
    await eventually('two hung requests', () => r.deliveries.length === 2);
    const labels = { endpoint: '0', host: new URL(r.url).host };
    const text = await metricsText(h);
    expect(sample(text, 'switchboard_webhook_queue_depth', labels)).toBe(6);
    expect(sample(text, 'switchboard_webhook_deliveries_total', { ...labels, outcome: 'dropped' })).toBe(14);
    expect(h.logs.filter((l) => l.includes('queue is full'))).toHaveLength(1);
    // The endpoint comes back: the two it held time out and are retried, then the four newest go.
    r.respond = () => 200;
    await eventually('the six kept events delivered', () => delivered(r).length === 6);
    const kept = [...calls.slice(0, 2), ...calls.slice(16)].map((c) => event('CALL_ADDED', c).id);
    expect(delivered(r).map((d) => d.payload.data.eventId).sort()).toEqual(kept.sort());
    const after = await metricsText(h);
    expect(sample(after, 'switchboard_webhook_attempts_total', { ...labels, outcome: 'timeout' })).toBe(2);
    expect(sample(after, 'switchboard_webhook_queue_depth', labels)).toBe(0);
  });

  it('retries call.ended while its detail fields cannot be fetched, and sends it complete once they can', async () => {
    const r = await receiver();
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }]);
    const call = allCalls(h.sims).find((c) => c.provider === 'TWENTY2' && c.status === 'COMPLETED')!;
    // Twenty2's /call/detail answers 500 twice (the only upstream requests here), then normally.
    h.sims.twenty2.server.faultQueue.push({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    source.emit(event('CALL_ENDED', call));
    await eventually('call.ended delivered', () => delivered(r).length === 1);
    // Nothing was sent while the call could not be rendered whole.
    expect(r.deliveries).toHaveLength(1);
    const full = await h.gql(`query($id: ID!) { call(id: $id) { ${LIST_FIELDS} ${DETAIL_FIELDS} } }`, { id: encodeCallId(call) });
    expect(unsigned(r.deliveries[0]!.payload.data.call)).toEqual(unsigned(full.body.data.call));
    const text = await metricsText(h);
    expect(sample(text, 'switchboard_webhook_attempts_total', { endpoint: '0', outcome: 'render_failed' })).toBe(2);
    expect(sample(text, 'switchboard_webhook_attempts_total', { endpoint: '0', outcome: 'ok' })).toBe(1);
  });

  it('sends call.ended without the detail fields it could not fetch when the retry period ends, rather than not at all', async () => {
    const r = await receiver();
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }], { retryPeriodMs: 200 });
    const call = allCalls(h.sims).find((c) => c.provider === 'TWENTY2' && c.status === 'COMPLETED')!;
    const listed = await h.gql(`query($id: ID!) { call(id: $id) { ${LIST_FIELDS} } }`, { id: encodeCallId(call) });
    h.sims.twenty2.server.persistentFault = { kind: 'status', status: 500 };
    source.emit(event('CALL_ENDED', call));
    await eventually('call.ended delivered', () => delivered(r).length === 1);
    const sent = r.deliveries[0]!.payload.data.call;
    expect(sent).toMatchObject(listed.body.data.call);
    expect(sent).toMatchObject({ recordings: [], transcript: null, billedDurationSeconds: null });
  });

  it('logs without the secret or the URL\'s token, whatever happens', async () => {
    const r = await receiver();
    r.respond = ({ attempt }) => (attempt === 1 ? 500 : 200);
    const source = new ManualSource();
    h = await startWith(source, [{ url: r.url, secret: SECRET }], { queueSize: 1, retryPeriodMs: 100 });
    const calls = allCalls(h.sims).slice(0, 5);
    calls.forEach((c) => source.emit(event('CALL_ADDED', c)));
    await eventually('some delivery', () => delivered(r).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const logs = h.logs.join('');
    expect(logs).toMatch(/queue is full/);
    expect(logs).not.toContain(SECRET.slice(6, 30));
    expect(logs).not.toContain(URL_TOKEN);
    expect(logs).not.toContain('/hooks');
  });
});

describe('the retry schedule, by an injected clock', () => {
  it('waits 2.5 s, then twice as long each time (at least what a 429\'s Retry-After asks), and gives up when the next wait would end past the retry period', async () => {
    const sims = await startSimulators({ count: 20 });
    const r = await startReceiver(SECRET);
    const source = new ManualSource();
    // The clock moves by each wait, which passes at once: no test waits for real back-off.
    let clock = Date.now();
    const waits: number[] = [];
    const wait = (ms: number, run: () => void) => {
      waits.push(ms);
      clock += ms;
      setImmediate(run);
      return { cancel: () => {} };
    };
    r.respond = ({ attempt }) => (attempt === 3 ? { status: 429, headers: { 'retry-after': '30' } } : attempt === 2 ? 503 : 500);
    const metrics = new Metrics();
    const webhooks = startWebhooks(
      { ...defaultWebhookSettings, retryPeriodMs: 60_000, endpoints: [{ index: 0, url: r.url, secret: SECRET, filter: emptyQuery, types: null }] },
      {
        events: source,
        services: { registry: new ConnectionRegistry(sims.connections, defaultHttpPolicy), cursors: new CursorCodec(randomBytes(32)), scanBudget: 10, events: source },
        schema: createSchema(),
        logger: createLogger('silent'),
        metrics,
        now: () => clock,
        random: () => 0,
        wait,
      },
    );
    try {
      source.emit(event('CALL_ADDED', allCalls(sims)[0]!));
      const expired = async () => /switchboard_webhook_deliveries_total\{[^}]*outcome="expired"[^}]*\} 1/.test((await metrics.render()).body);
      const until = Date.now() + 20_000;
      while (!(await expired()) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await expired()).toBe(true);
      // 2.5 s, 5 s, then 30 s (Retry-After over 10 s), 20 s: 57.5 s; the next, 40 s, would end past 60 s.
      expect(waits).toEqual([2_500, 5_000, 30_000, 20_000]);
      expect(r.deliveries.map((d) => d.status)).toEqual([500, 503, 429, 500, 500]);
      // Each attempt signed anew, with its own timestamp, under the same id.
      expect(new Set(r.deliveries.map((d) => d.headers['webhook-id'])).size).toBe(1);
      expect(r.deliveries.every((d) => d.payload !== null)).toBe(true);
      // 57.5 s apart, in whole seconds.
      expect([57, 58]).toContain(Number(r.deliveries[4]!.headers['webhook-timestamp']) - Number(r.deliveries[0]!.headers['webhook-timestamp']));
    } finally {
      await webhooks.stop();
      await r.close();
      await sims.close();
    }
  });
});
