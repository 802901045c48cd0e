/**
 * The operator's view over HTTP: /metrics (Prometheus text) and /health, watched while one
 * provider's simulator fails every request.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

let h: Harness;
let origin: string;

beforeAll(async () => {
  h = await startHarness({
    // A low threshold so a few failing queries open the breaker; no retries (the harness default).
    configure: (config) => ({ ...config, http: { ...config.http, breakerThreshold: 3, breakerOpenMs: 60_000 } }),
  });
  origin = new URL(h.server.url).origin;
});

afterAll(async () => {
  await h.stop();
});

afterEach(() => {
  h.sims.unpod.server.persistentFault = null;
});

async function metricsText(): Promise<string> {
  const response = await fetch(`${origin}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The value of one sample, e.g. metric(text, 'x_total', { code: 'A' }); 0 when absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? '').split(',');
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return 0;
}

interface Health {
  status: string;
  mode: string;
  connections: Array<{ connection: string; provider: string; name: string; state: string; breaker: string; lastErrorAt: string | null; lastError: string | null; lastSuccessAt: string | null }>;
}

async function health(): Promise<Health> {
  const response = await fetch(`${origin}/health`);
  expect(response.status).toBe(200);
  return (await response.json()) as Health;
}

const unpodOf = (report: Health) => report.connections.find((c) => c.connection === 'unpod/default')!;
const LATEST = 'query Latest { calls(first: 5) { nodes { id provider } } }';

test('before any failure every connection is ok, and /metrics counts requests per operation and upstream per connection', async () => {
  const before = await health();
  expect(before.status).toBe('ok');
  expect(before.connections.map((c) => [c.connection, c.state, c.breaker])).toEqual(
    PROVIDER_MODULES.map((m) => [`${m.provider.toLowerCase()}/default`, 'ok', 'closed']),
  );

  const start = await metricsText();
  const res = await h.gql(LATEST);
  expect(res.body.errors).toBeUndefined();
  await h.gql('{ calls(first: 1) { nodes { id } } }');
  await h.gql('query Latest { calls(first: -1) { nodes { id } } }'); // BAD_USER_INPUT
  await h.gql('query Broken { calls(first: 1) { nope } }'); // validation fails: no operation resolved
  const text = await metricsText();

  expect(metric(text, 'switchboard_graphql_requests_total', { operation: 'Latest' }) - metric(start, 'switchboard_graphql_requests_total', { operation: 'Latest' })).toBe(2);
  expect(metric(text, 'switchboard_graphql_requests_total', { operation: 'anonymous' })).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'switchboard_graphql_requests_total', { operation: 'invalid' })).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'switchboard_graphql_request_duration_seconds_count', { operation: 'Latest' })).toBeGreaterThanOrEqual(2);
  expect(metric(text, 'switchboard_graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBeGreaterThanOrEqual(1);
  expect(metric(text, 'switchboard_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBeGreaterThanOrEqual(1);
  for (const provider of PROVIDER_MODULES.map((m) => m.provider)) {
    const where = { provider, connection: 'default' };
    expect(metric(text, 'switchboard_upstream_requests_total', { ...where, outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'switchboard_upstream_request_duration_seconds_count', where)).toBeGreaterThanOrEqual(1);
  }
  // The cache counter exists for caches to increment.
  expect(text).toContain('# TYPE switchboard_cache_hits_total counter');
  h.server.metrics.cacheHits.inc({ cache: 'test' });
  expect(metric(await metricsText(), 'switchboard_cache_hits_total', { cache: 'test' })).toBe(1);

  const after = await health();
  expect(after.connections.every((c) => c.state === 'ok' && c.lastSuccessAt !== null && c.lastErrorAt === null)).toBe(true);
});

test('a failing provider shows in /metrics (errors by code, upstream failures) and in /health (degraded, then breaker open)', async () => {
  const start = await metricsText();
  h.sims.unpod.server.persistentFault = { kind: 'status', status: 503 };

  const res = await h.gql(LATEST);
  expect(res.body.data?.calls.nodes.length).toBe(5); // the others still answer
  expect(res.body.errors?.map((e) => [e.extensions?.code, e.extensions?.provider])).toEqual([['PROVIDER_UNAVAILABLE', 'UNPOD']]);

  const degraded = await health();
  expect(degraded.status).toBe('degraded');
  expect(unpodOf(degraded)).toMatchObject({ state: 'degraded', breaker: 'closed', lastError: 'HTTP_STATUS' });
  expect(Date.now() - Date.parse(unpodOf(degraded).lastErrorAt!)).toBeLessThan(10_000);
  expect(degraded.connections.filter((c) => c.connection !== 'unpod/default').every((c) => c.state === 'ok')).toBe(true);

  const text = await metricsText();
  const delta = (name: string, labels: Record<string, string>) => metric(text, name, labels) - metric(start, name, labels);
  expect(delta('switchboard_upstream_requests_total', { provider: 'UNPOD', connection: 'default', outcome: 'HTTP_STATUS' })).toBe(1);
  expect(delta('switchboard_graphql_errors_total', { code: 'PROVIDER_UNAVAILABLE' })).toBe(1);

  // Two more failures reach the threshold of 3: the breaker opens and health says so.
  await h.gql(LATEST);
  await h.gql(LATEST);
  const open = await health();
  expect(unpodOf(open)).toMatchObject({ state: 'breaker_open', breaker: 'open' });

  // While open, requests fail fast without reaching the provider.
  h.resetCounters();
  const fast = await h.gql(LATEST);
  expect(fast.body.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
  expect(h.sims.unpod.server.count()).toBe(0);
  expect(metric(await metricsText(), 'switchboard_graphql_errors_total', { code: 'PROVIDER_UNAVAILABLE' }) - metric(start, 'switchboard_graphql_errors_total', { code: 'PROVIDER_UNAVAILABLE' })).toBe(4);

  // No URL, credential or upstream body in either view.
  const exposed = JSON.stringify(open) + (await metricsText());
  const unpod = h.sims.unpod.credentials;
  for (const secret of [unpod.token, '127.0.0.1', 'http://']) expect(exposed).not.toContain(secret);
});
