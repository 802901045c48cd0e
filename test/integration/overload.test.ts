/**
 * Load shedding over HTTP (src/overload.ts). Past SWITCHBOARD_MAX_IN_FLIGHT requests in flight, or
 * past SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS of event-loop delay, a GraphQL request is refused at once
 * with 503, Retry-After and OVERLOADED, and reaches no provider; the admitted requests complete;
 * /health and /metrics are never shed; /metrics shows requests in flight, the delay and the count
 * shed; the refused request's connection is not read from until Retry-After has passed.
 * Deterministic: requests are held in flight by a slow simulator, and the test waits until the
 * simulator has them before sending the next one (no timing is asserted).
 */
import http from 'node:http';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const PAGE = '{ calls(first: 3, filter: { providers: [TWENTY2] }) { nodes { id } } }';
/** Long enough that an admitted request is still in flight while the test sends the next ones (under the 5 s response time-out). */
const SLOW_MS = 4_000;

async function post(h: Harness, query = PAGE) {
  const response = await fetch(h.server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

/** Resolves once the Twenty2 simulator holds `n` requests (each GraphQL request here sends one). */
async function untilUpstreamInFlight(h: Harness, n: number): Promise<void> {
  while (h.sims.twenty2.server.inFlight < n) await new Promise((r) => setTimeout(r, 10));
}

/** A POST over `agent` (node:http): with one socket, every request on the same connection. */
function postOn(agent: http.Agent, h: Harness, query = PAGE): Promise<{ status: number; retryAfter: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const request = http.request(h.server.url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, retryAfter: response.headers['retry-after'], body: JSON.parse(text) }));
    });
    request.on('error', reject);
    request.end(JSON.stringify({ query }));
  });
}

const base = (h: Harness) => h.server.url.replace(/\/graphql$/, '');
const metricsOf = async (h: Harness) => (await fetch(`${base(h)}/metrics`)).text();

describe('past SWITCHBOARD_MAX_IN_FLIGHT', () => {
  const RETRY_AFTER = 6;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SWITCHBOARD_MAX_IN_FLIGHT: '2', SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS: String(RETRY_AFTER) } });
  });
  afterAll(() => h.stop());

  it('refuses the third concurrent request with 503 OVERLOADED and Retry-After; the two admitted complete', async () => {
    h.sims.twenty2.server.latencyMs = SLOW_MS;
    h.resetCounters();
    const first = post(h);
    await untilUpstreamInFlight(h, 1);
    const second = post(h);
    await untilUpstreamInFlight(h, 2);

    const connection = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const third = await postOn(connection, h);
    expect(third.status).toBe(503);
    expect(third.retryAfter).toBe(String(RETRY_AFTER));
    expect(third.body).toEqual({
      errors: [{ message: `Switchboard is overloaded (2 requests are in flight): retry after ${RETRY_AFTER} s`, extensions: { code: 'OVERLOADED' } }],
    });
    // A client retrying at once on the same connection is not read for a while (src/overload.ts
    // HOLD_MS); another connection is answered meanwhile (refused too: two are still in flight).
    let heldAnswered = false;
    const held = postOn(connection, h).finally(() => (heldAnswered = true));
    expect((await post(h)).status).toBe(503);
    expect(heldAnswered).toBe(false);
    // Then it is read, and answered like any other.
    expect(await held).toMatchObject({ status: 503, body: { errors: [{ extensions: { code: 'OVERLOADED' } }] } });
    connection.destroy();

    // Liveness and metrics are answered while GraphQL is shed, and show it.
    const health = await fetch(`${base(h)}/health`);
    expect(health.status).toBe(200);
    const metrics = await metricsOf(h);
    expect(metrics).toMatch(/^switchboard_requests_in_flight 2$/m);
    expect(metrics).toMatch(/^switchboard_requests_shed_total\{reason="in_flight"\} 3$/m);
    expect(metrics).toMatch(/^switchboard_event_loop_delay_seconds \d/m);
    // The refused request never reached a provider.
    expect(h.upstreamCount()).toBe(2);

    h.sims.twenty2.server.latencyMs = 0;
    for (const admitted of await Promise.all([first, second])) {
      expect(admitted.status).toBe(200);
      expect(admitted.body.errors).toBeUndefined();
      expect(admitted.body.data.calls.nodes).toHaveLength(3);
    }
    // Once they are answered, requests are admitted again.
    const after = await post(h);
    expect(after.status).toBe(200);
    expect(await metricsOf(h)).toMatch(/^switchboard_requests_in_flight 0$/m);
  }, 30_000);
});

describe('past SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS: '50' } });
  });
  afterAll(() => h.stop());

  it('refuses a request while the event loop is behind and work is in flight, and admits one when idle', async () => {
    // Idle: a stalled loop with nothing in flight is a pause, not load; the request is admitted.
    block(200);
    expect((await post(h)).status).toBe(200);

    h.sims.twenty2.server.latencyMs = SLOW_MS;
    const slow = post(h);
    await untilUpstreamInFlight(h, 1);
    // The server shares this event loop: holding it for 200 ms puts it 150+ ms behind its bound.
    block(200);
    const refused = await post(h);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('1');
    expect(refused.body.errors[0].extensions).toEqual({ code: 'OVERLOADED' });
    expect(refused.body.errors[0].message).toMatch(/^Switchboard is overloaded \(its event loop is \d+ ms behind\): retry after 1 s$/);
    expect(await metricsOf(h)).toMatch(/^switchboard_requests_shed_total\{reason="event_loop_delay"\} 1$/m);
    expect(h.logs.some((line) => JSON.parse(line).event === 'load_shed')).toBe(true);

    h.sims.twenty2.server.latencyMs = 0;
    expect((await slow).status).toBe(200);
  }, 30_000);
});

/** Keeps the event loop busy for `ms` (what a saturated server does to every request waiting). */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy
  }
}
