/**
 * Provider pushes over HTTP (src/live/pushes.ts): each pushing provider's simulator sends its
 * signed pushes (Twilio status callbacks, Vapi server messages, Retell webhooks) to
 * `POST /providers/<provider>/<connection>/events` of a Switchboard in front of the simulators.
 *
 * Two connections per provider, on the same simulator:
 * - `default` is polled once (its baseline) and then not for an hour, so only a push can explain
 *   an event: a started call reaches a GraphQL subscriber (over SSE) as CALL_ADDED, its end as
 *   CALL_ENDED; bad, stale, replayed-elsewhere signatures are refused with their code, no upstream
 *   request and no event; a replayed push is accepted and yields no second event;
 * - `polled` is polled every second as well: a push and a poll of one change give one event.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, type Client } from 'graphql-sse';
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { ConnectionConfig } from '../../src/config.js';
import type { CallEvent } from '../../src/live/events.js';
import { providerModule } from '../../src/providers/index.js';
import type { PushAnswer, PushSigning } from '../../src/simulation/harness.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const VAPI_SECRET = 'vapi-server-url-secret';
const PUSHING = ['TWILIO', 'VAPI', 'RETELL'] as const;
type Pushing = (typeof PUSHING)[number];

let sims: Simulators;
let h: Harness;
let sse: Client;
const received: { type: string; providerCallId: string; connection: string }[] = [];
let disposeSse: () => void = () => {};

const base = () => h.server.url.replace(/\/graphql$/, '');
const pushUrl = (provider: Pushing, connection: string) => `${base()}/providers/${provider.toLowerCase()}/${connection}/events`;

/** Waits (jest's time-out is the bound) until `check` holds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A call started in `provider`'s simulator, and its push (the kind each provider sends for it). */
function started(provider: Pushing) {
  switch (provider) {
    case 'TWILIO': {
      const row = sims.twilio.startCall();
      // `json`: Twilio's JSON-body variant (bodySHA256 in the signed URL).
      return { id: row.sid, end: () => sims.twilio.endCall(row), push: (url: string, event: 'start' | 'end', signing?: PushSigning & { json?: boolean }) => sims.twilio.push(url, row, signing) };
    }
    case 'VAPI': {
      const row = sims.vapi.startCall();
      return {
        id: row.id,
        end: () => sims.vapi.endCall(row),
        push: (url: string, event: 'start' | 'end', signing?: PushSigning) => sims.vapi.push(url, row, event === 'start' ? 'status-update' : 'end-of-call-report', { secret: VAPI_SECRET, auth: 'hmac' }, signing),
      };
    }
    case 'RETELL': {
      const row = sims.retell.startCall();
      return { id: row.call_id, end: () => sims.retell.endCall(row), push: (url: string, event: 'start' | 'end', signing?: PushSigning) => sims.retell.push(url, row, event === 'start' ? 'call_started' : 'call_ended', signing) };
    }
  }
}

const simOf = (provider: Pushing) => sims[provider.toLowerCase() as 'twilio' | 'vapi' | 'retell'];
const watcher = (label: string) => h.server.events.watchers().find((w) => w.connection === label);
const codeOf = (answer: PushAnswer) => (JSON.parse(answer.body) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code;

beforeAll(async () => {
  sims = await startSimulators({ count: 20 });
  h = await startHarness({
    sims: async () => sims,
    connections: (s) =>
      s.connections
        .filter((c) => (PUSHING as readonly string[]).includes(c.provider))
        .flatMap((c) => {
          const settings = c.provider === 'VAPI' ? { ...c.settings, webhookSecret: VAPI_SECRET, webhookAuth: 'hmac' as const } : c.settings;
          return [
            { ...c, settings, watchInterval: 3600 },
            { ...c, connection: 'polled', settings, watchInterval: 1 },
          ] as ConnectionConfig[];
        }),
  });
  sse = createClient({ url: h.server.url, retryAttempts: 0 });
  disposeSse = sse.subscribe(
    { query: 'subscription { callEvents { type call { providerCallId connection } } }' },
    {
      next: (result) => {
        const event = (result.data as { callEvents: { type: string; call: { providerCallId: string; connection: string } } }).callEvents;
        received.push({ type: event.type, providerCallId: event.call.providerCallId, connection: event.call.connection });
      },
      error: () => {},
      complete: () => {},
    },
  );
  // Every connection's baseline taken: from now on, only a push (or `polled`'s polls) explains an event.
  await until(() => PUSHING.every((p) => ['default', 'polled'].every((c) => watcher(`${p.toLowerCase()}/${c}`)?.state === 'watching')));
});

afterAll(async () => {
  disposeSse();
  await sse?.dispose();
  await h?.stop();
});

describe.each(PUSHING)('%s pushes', (provider) => {
  const label = `${provider.toLowerCase()}/default`;
  const eventsOf = (id: string) => received.filter((e) => e.providerCallId === id && e.connection === 'default').map((e) => e.type);

  it('reach a subscriber as CALL_ADDED, then CALL_ENDED, with no poll in between', async () => {
    const polledAt = watcher(label)!.lastPollAt;
    const call = started(provider);
    const first = await call.push(pushUrl(provider, 'default'), 'start');
    expect(first.status).toBe(200);
    await until(() => eventsOf(call.id).length >= 1);
    call.end();
    expect((await call.push(pushUrl(provider, 'default'), 'end')).status).toBe(200);
    await until(() => eventsOf(call.id).length >= 2);
    expect(eventsOf(call.id)).toEqual(['CALL_ADDED', 'CALL_ENDED']);
    // The watcher did not poll: the pushes alone explain both events.
    expect(watcher(label)!.lastPollAt).toBe(polledAt);
  });

  it('refuses bad and stale signatures with their code, no upstream request and no event', async () => {
    const call = started(provider);
    const sim = simOf(provider);
    const before = sim.server.requests.length;
    const bad = await call.push(pushUrl(provider, 'default'), 'start', { key: 'not-the-key' });
    expect([bad.status, codeOf(bad)]).toEqual([401, 'PUSH_UNVERIFIED']);
    // Twilio signs no timestamp (a replay re-reads the call, which changes nothing: below).
    if (provider !== 'TWILIO') {
      const stale = await call.push(pushUrl(provider, 'default'), 'start', { now: Date.now() - 6 * 60_000 });
      expect([stale.status, codeOf(stale)]).toEqual([401, 'PUSH_EXPIRED']);
    }
    // No side effect: nothing was read upstream, nothing announced.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sim.server.requests.slice(before).filter((r) => providerModule(provider).simulator.lookedUp(sim as never, r).includes(call.id))).toEqual([]);
    expect(eventsOf(call.id)).toEqual([]);
    // A good push afterwards is announced: the refusals left nothing behind that would stop it.
    expect((await call.push(pushUrl(provider, 'default'), 'start')).status).toBe(200);
    await until(() => eventsOf(call.id).length >= 1);
    expect(eventsOf(call.id)).toEqual(['CALL_ADDED']);
  });

  it('verifies and applies a body that starts with a UTF-8 byte order mark, signed as sent', async () => {
    // Twilio: the form body and the JSON body (whose SHA-256 the signed URL carries).
    const variants = provider === 'TWILIO' ? [{ json: true }, { bom: true }, { bom: true, json: true }] : [{ bom: true }];
    for (const variant of variants) {
      const call = started(provider);
      const answer = await call.push(pushUrl(provider, 'default'), 'start', variant);
      expect({ variant, status: answer.status }).toEqual({ variant, status: 200 });
      await until(() => eventsOf(call.id).length >= 1);
      expect(eventsOf(call.id)).toEqual(['CALL_ADDED']);
    }
  });

  it('about a call whose id spells a path segment reads nothing outside the adapter\'s paths', async () => {
    const sim = simOf(provider);
    // The adapter's look-up paths, and its list (the watcher may read the newest calls too).
    const lookUp = {
      TWILIO: /^\/2010-04-01\/Accounts\/[^/]+\/Calls(?:\/[^/]+)?\.json$/,
      VAPI: /^\/call(?:\/[^/]+)?$|^\/phone-number\/[^/]+$/,
      RETELL: /^\/v2\/get-call\/[^/]+$|^\/v3\/list-calls$/,
    }[provider];
    for (const key of ['..', '.', '%2e%2e', 'a/../b']) {
      const before = sim.server.requests.length;
      const answer =
        provider === 'TWILIO'
          ? await sims.twilio.push(pushUrl(provider, 'default'), { ...sims.twilio.rows[0]!, sid: key })
          : provider === 'VAPI'
            ? await sims.vapi.push(pushUrl(provider, 'default'), { ...sims.vapi.rows[0]!, id: key }, 'status-update', { secret: VAPI_SECRET, auth: 'hmac' })
            : await sims.retell.push(pushUrl(provider, 'default'), { ...sims.retell.rows[0]!, call_id: key }, 'call_started');
      expect({ key, status: answer.status }).toEqual({ key, status: 200 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect({ key, outside: sim.server.requests.slice(before).map((r) => r.path).filter((path) => !lookUp.test(path)) }).toEqual({ key, outside: [] });
    }
  });

  it('takes a replayed push (the same signed request again) without a second event', async () => {
    const call = started(provider);
    const signing = { now: Date.now() };
    expect((await call.push(pushUrl(provider, 'default'), 'start', signing)).status).toBe(200);
    await until(() => eventsOf(call.id).length >= 1);
    const sim = simOf(provider);
    const before = sim.server.requests.length;
    expect((await call.push(pushUrl(provider, 'default'), 'start', signing)).status).toBe(200);
    // The replay is read again (the call as it is now), which changes nothing.
    await until(() => sim.server.requests.slice(before).some((r) => providerModule(provider).simulator.lookedUp(sim as never, r).includes(call.id)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsOf(call.id)).toEqual(['CALL_ADDED']);
  });

  it('and a poll of the same change give one event', async () => {
    const polled = `${provider.toLowerCase()}/polled`;
    const events: CallEvent[] = [];
    const stop = h.server.events.subscribe([{ provider, connection: 'polled' }], (event) => events.push(event));
    try {
      const call = started(provider);
      const of = () => events.filter((e) => e.call.providerCallId === call.id).map((e) => e.type);
      expect((await call.push(pushUrl(provider, 'polled'), 'start')).status).toBe(200);
      await until(() => of().length >= 1);
      call.end();
      expect((await call.push(pushUrl(provider, 'polled'), 'end')).status).toBe(200);
      await until(() => of().length >= 2);
      // Two more polls see the same calls: nothing new.
      const after = watcher(polled)!.lastSuccessAt;
      await until(() => watcher(polled)!.lastSuccessAt !== after);
      const again = watcher(polled)!.lastSuccessAt;
      await until(() => watcher(polled)!.lastSuccessAt !== again);
      expect(of()).toEqual(['CALL_ADDED', 'CALL_ENDED']);

      // The other way round: the poll sees the end first, the push comes after.
      const second = started(provider);
      const ofSecond = () => events.filter((e) => e.call.providerCallId === second.id).map((e) => e.type);
      await until(() => ofSecond().length >= 1);
      second.end();
      await until(() => ofSecond().length >= 2);
      expect((await second.push(pushUrl(provider, 'polled'), 'end')).status).toBe(200);
      const mark = watcher(polled)!.lastSuccessAt;
      await until(() => watcher(polled)!.lastSuccessAt !== mark);
      expect(ofSecond()).toEqual(['CALL_ADDED', 'CALL_ENDED']);
    } finally {
      stop();
    }
  });
});

describe('the push endpoint', () => {
  it('answers 404 for a connection that does not exist or a provider that does not push, and 405 for GET', async () => {
    for (const path of ['/providers/twilio/nope/events', '/providers/unpod/default/events']) {
      const answer = await fetch(`${base()}${path}`, { method: 'POST', body: '{}' });
      expect(answer.status).toBe(404);
      expect(((await answer.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
    }
    const get = await fetch(pushUrl('RETELL', 'default'));
    expect(get.status).toBe(405);
  });

  it('counts pushes by connection and outcome in /metrics, and logs no secret or body', async () => {
    const metrics = await (await fetch(`${base()}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_pushes_total\{connection="retell\/default",outcome="applied"\} \d+/);
    expect(metrics).toMatch(/switchboard_pushes_total\{connection="twilio\/default",outcome="PUSH_UNVERIFIED"\} \d+/);
    const logs = h.logs.join('');
    expect(logs).toContain('push: refused a push to');
    for (const secret of [VAPI_SECRET, sims.twilio.credentials.authToken, sims.retell.credentials.apiKey, 'not-the-key']) expect(logs).not.toContain(secret);
  });
});

describe('the simulators sign as the providers document', () => {
  /** One push as a server receives it: its URL, headers and raw body. */
  async function capture(send: (url: string) => Promise<unknown>): Promise<{ url: string; headers: http.IncomingHttpHeaders; body: string }> {
    let got!: { url: string; headers: http.IncomingHttpHeaders; body: string };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got = { url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await send(`${base}/hook`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    return { ...got, url: `${base}${got.url}` };
  }

  // Each expected signature is computed here from the documented algorithm, not by Switchboard's verifier.
  it('Twilio: Base64 HMAC-SHA1 of the URL and the form parameters sorted by name, keyed by the Auth Token', async () => {
    const got = await capture((url) => sims.twilio.push(url, sims.twilio.rows[0]!));
    const params = [...new URLSearchParams(got.body)].sort(([a], [b]) => (a < b ? -1 : 1));
    const expected = createHmac('sha1', sims.twilio.credentials.authToken).update(got.url + params.map(([k, v]) => k + v).join('')).digest('base64');
    expect(got.headers['x-twilio-signature']).toBe(expected);
    expect(got.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('Vapi: hex HMAC-SHA256 of "{x-timestamp}.{body}" with the server credential, or the bearer secret', async () => {
    const hmac = await capture((url) => sims.vapi.push(url, sims.vapi.rows[0]!, 'end-of-call-report', { secret: 's3cret', auth: 'hmac' }));
    const timestamp = String(hmac.headers['x-timestamp']);
    expect(hmac.headers['x-signature']).toBe(createHmac('sha256', 's3cret').update(`${timestamp}.${hmac.body}`).digest('hex'));
    expect(JSON.parse(hmac.body).message.type).toBe('end-of-call-report');
    const bearer = await capture((url) => sims.vapi.push(url, sims.vapi.rows[0]!, 'status-update', { secret: 's3cret', auth: 'bearer' }));
    expect(bearer.headers.authorization).toBe('Bearer s3cret');
  });

  it('Retell: v=<ms>,d=<hex HMAC-SHA256 of body + ms> keyed by the API key', async () => {
    const got = await capture((url) => sims.retell.push(url, sims.retell.rows.find((r) => r.start_timestamp)!, 'call_ended'));
    const [, v, d] = /^v=(\d+),d=([0-9a-f]+)$/.exec(String(got.headers['x-retell-signature']))!;
    expect(d).toBe(createHmac('sha256', sims.retell.credentials.apiKey).update(got.body + v).digest('hex'));
    expect(JSON.parse(got.body).call).not.toHaveProperty('call_analysis');
  });
});
