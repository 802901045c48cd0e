/**
 * OpenTelemetry tracing over real HTTP: the span tree of a merged `calls` page with one failing
 * provider (a server span, one client span per upstream request under it), the caller's
 * `traceparent` continued, and no credential in any span. Spans go to an InMemorySpanExporter.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Tracing } from '../../src/observability/tracing.js';
import { PROVIDERS, newCanary, serverOf, startCanarySimulators } from '../helpers/resilience.js';
import { startEntryPoint, stopEntryPoint } from '../helpers/entryPoint.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const PAGE = 'query LatestCalls { calls(first: 40) { nodes { id provider } } }';

describe('tracing', () => {
  const exporter = new InMemorySpanExporter();
  const canary = newCanary();
  let tracing: Tracing;
  let h: Harness;
  beforeAll(async () => {
    tracing = await Tracing.create([new SimpleSpanProcessor(exporter)]);
    h = await startHarness({
      sims: () => startCanarySimulators(canary, 30),
      tracing,
      // One retry, so a failing provider is tried twice; failures of one test must not open the breaker.
      configure: (c) => ({ ...c, http: { ...c.http, retries: 1, breakerThreshold: 1000 } }),
    });
  });
  afterAll(async () => {
    await h.stop();
    await tracing.shutdown();
  });
  beforeEach(() => {
    exporter.reset();
    h.resetCounters();
  });
  afterEach(() => h.sims.servers.forEach((s) => s.clearFaults()));

  const servers = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
  const clients = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);

  it('traces a merged page with one failing provider: a server span, one client span per upstream request under it', async () => {
    serverOf(h.sims, 'unpod').persistentFault = { kind: 'status', status: 500 };
    const res = await h.gql(PAGE);
    expect(res.status).toBe(200);
    expect(res.body.errors?.map((e) => e.extensions?.provider)).toEqual(['UNPOD']);

    const [server, ...more] = servers();
    expect(more).toEqual([]);
    expect(server!.name).toBe('query LatestCalls');
    expect(server!.attributes).toMatchObject({
      'graphql.operation.type': 'query',
      'graphql.operation.name': 'LatestCalls',
      'http.request.method': 'POST',
      'http.response.status_code': 200,
      'error.type': 'PROVIDER_UNAVAILABLE',
    });
    expect(server!.status.code).toBe(SpanStatusCode.ERROR);
    expect(server!.parentSpanContext).toBeUndefined();

    // Every upstream request the simulators served is one client span, a child of the server span.
    const spans = clients();
    expect(spans).toHaveLength(h.upstreamCount());
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(server!.spanContext().traceId);
      expect(span.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
      expect(span.attributes['switchboard.connection']).toBe('default');
      expect(span.attributes['server.address']).toBe('127.0.0.1');
      expect(typeof span.attributes['server.port']).toBe('number');
      expect(span.attributes['url.full']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    }
    const byProvider = (provider: string) => spans.filter((s) => s.attributes['switchboard.provider'] === provider);
    for (const { provider, key } of PROVIDERS.filter((p) => p.key !== 'unpod')) {
      // One list request each, plus any look-ups of resources other than calls (Vapi's phone numbers).
      const ok = byProvider(provider);
      expect(ok).toHaveLength(1 + serverOf(h.sims, key).countAuxiliary());
      for (const span of ok) {
        expect(span.attributes).toMatchObject({ 'http.response.status_code': 200, 'switchboard.provider': provider });
        expect(span.attributes['error.type']).toBeUndefined();
        expect(span.status.code).toBe(SpanStatusCode.UNSET);
      }
    }
    expect(byProvider('TWENTY2')[0]!.attributes).toMatchObject({ 'http.request.method': 'GET', 'url.template': '/call/logs' });
    // The failing provider: the first try and its retry, each an error with the failure code.
    const failed = byProvider('UNPOD').sort((a, b) => Number(a.attributes['http.request.resend_count'] ?? 0) - Number(b.attributes['http.request.resend_count'] ?? 0));
    expect(failed).toHaveLength(2);
    expect(failed[0]!.attributes['http.request.resend_count']).toBeUndefined();
    expect(failed[1]!.attributes['http.request.resend_count']).toBe(1);
    for (const span of failed) {
      expect(span.name).toBe('GET /call-logs/');
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.attributes).toMatchObject({ 'error.type': 'HTTP_STATUS', 'http.response.status_code': 500, 'switchboard.provider': 'UNPOD' });
    }
    // The retry and the final failure are events on the server span.
    const events = server!.events.map((e) => [e.name, e.attributes?.['switchboard.provider'], e.attributes?.['error.type']]);
    expect(events).toEqual([
      ['switchboard.upstream.retry', 'UNPOD', 'HTTP_STATUS'],
      ['switchboard.upstream.failed', 'UNPOD', 'HTTP_STATUS'],
    ]);
    expectNoCredentials(exporter.getFinishedSpans(), canary);
  });

  it('redacts the tenant id in the path and the query values a look-up sends (CINNOX by callID)', async () => {
    const page = await h.gql('{ calls(first: 40, filter: { providers: [CINNOX] }) { nodes { id } } }');
    const id = page.body.data.calls.nodes[0].id;
    exporter.reset();
    const res = await h.gql('query One($id: ID!) { call(id: $id) { id } }', { id });
    expect(res.body.errors).toBeUndefined();
    const [lookup] = clients();
    expect(lookup!.attributes['url.template']).toBe('/apps/{appID}/data/call-log');
    expect(lookup!.attributes['url.full']).toMatch(/\/apps\/REDACTED\/data\/call-log\?.*callID=REDACTED/);
    expect(lookup!.attributes['url.full']).toMatch(/limit=1/);
    expect(servers()[0]!.name).toBe('query One');
    expectNoCredentials(exporter.getFinishedSpans(), canary);
  });

  it("continues the caller's traceparent: the server span is its child", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await h.gql(PAGE, undefined, { traceparent: `00-${traceId}-${parentId}-01` });
    const [server] = servers();
    expect(server!.spanContext().traceId).toBe(traceId);
    expect(server!.parentSpanContext?.spanId).toBe(parentId);
    expect(server!.status.code).toBe(SpanStatusCode.UNSET);
    for (const span of clients()) expect(span.spanContext().traceId).toBe(traceId);
  });

  it('records nothing for a caller whose trace is not sampled (traceparent flags 00)', async () => {
    const res = await h.gql(PAGE, undefined, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' });
    expect(res.body.data.calls.nodes.length).toBeGreaterThan(0);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('traces a request refused before it ran, with its code', async () => {
    const res = await fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
    expect(res.status).toBe(400);
    const [server] = servers();
    expect(server!.name).toBe('GraphQL Operation');
    expect(server!.attributes).toMatchObject({ 'http.response.status_code': 400, 'error.type': 'BAD_REQUEST' });
    expect(clients()).toEqual([]);
  });
});

describe('tracing from the OTEL_* variables (src/index.ts)', () => {
  it('exports over OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT, the last spans flushed at SIGTERM', async () => {
    const received: Array<{ url?: string; type?: string; body: Buffer }> = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ url: req.url, type: req.headers['content-type'], body: Buffer.concat(chunks) });
        res.end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    // Demo mode (no provider configured): the simulated providers answer.
    const running = await startEntryPoint({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'switchboard-trace-test' });
    try {
      expect(running.lines.join('\n')).toMatch(/"tracing":true/);
      const res = await fetch(running.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query LatestCalls { calls(first: 5) { nodes { id } } }' }),
      });
      expect(res.status).toBe(200);
      expect(await stopEntryPoint(running)).toBe(0);
      expect(received.map((r) => [r.url, r.type])).toEqual([['/v1/traces', 'application/x-protobuf']]);
      // Protobuf keeps strings as UTF-8: the resource's service name and the span names are in it.
      const body = received[0]!.body.toString('latin1');
      for (const text of ['switchboard-trace-test', 'query LatestCalls', 'graphql.operation.name', 'switchboard.provider']) expect(body).toContain(text);
    } finally {
      running.child.kill('SIGKILL');
      collector.close();
    }
  }, 90_000);
});

/** No span name, attribute, event or resource value contains a credential (every one carries `canary`). */
function expectNoCredentials(spans: ReadableSpan[], canary: string): void {
  expect(spans.length).toBeGreaterThan(0);
  const text = JSON.stringify(
    spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, resource: s.resource.attributes, status: s.status })),
  );
  expect(text).not.toContain(canary);
}
