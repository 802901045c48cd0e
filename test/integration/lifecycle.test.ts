/**
 * Readiness and graceful shutdown. GET /health is liveness (200 whenever the process serves);
 * GET /ready is 503 until start-up is done and while draining. A shutdown lets requests in flight
 * finish within the grace period, refuses new ones with 503, closes idle keep-alive connections at
 * once, and ends: SIGTERM or SIGINT on the real entry point exits 0, or 1 when the grace period ran
 * out. Upstream requests are made slow with the simulators' latency.
 */
import http from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { jest } from '@jest/globals';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { createUnpodSimulator } from '../../src/providers/unpod/simulator.js';
import { startEntryPoint } from '../helpers/entryPoint.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { type Harness, startHarness } from '../helpers/switchboard.js';

jest.setTimeout(120_000);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One HTTP request over node:http (a fresh connection unless an agent is given). */
function request(url: string, options: { method?: string; body?: unknown; agent?: http.Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: options.agent ?? false,
        headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON: the test says what it expected
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const graphql = (base: string, query: string) => request(`${base}/graphql`, { method: 'POST', body: { query } });

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const UNPOD_PAGE = '{ calls(first: 30, filter: { providers: [UNPOD] }) { nodes { id provider } } }';

describe('in process', () => {
  let sims: Simulators;
  beforeAll(async () => {
    sims = await startSimulators({ count: 40 });
  });
  afterAll(async () => {
    await sims?.close();
  });
  afterEach(() => {
    sims.servers.forEach((s) => {
      s.latencyMs = 0;
      s.clearFaults();
    });
  });

  it('answers /ready 503 and refuses /graphql until start-up is done, while /health is 200', async () => {
    // A Redis that accepts connections and never answers holds start-up (the cache connects first).
    const silent: Server = createServer(() => {});
    const sockets: Socket[] = [];
    silent.on('connection', (socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let started: Harness | undefined;
    const starting = startHarness({
      sims: async () => sims,
      env: { REDIS_URL: `redis://127.0.0.1:${(silent.address() as { port: number }).port}` },
      configure: (config) => ({ ...config, port }),
    }).then((h) => (started = h));
    try {
      const seen: Answer[] = [];
      let refused: Answer | undefined;
      let alive: Answer | undefined;
      while (!started) {
        const ready = await request(`${base}/ready`).catch(() => null); // not listening yet
        if (ready?.status === 503) {
          seen.push(ready);
          refused ??= await graphql(base, '{ __typename }');
          alive ??= await request(`${base}/health`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await starting;
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]!.json).toEqual({ status: 'starting' });
      expect(refused!.status).toBe(503);
      expect(refused!.headers['retry-after']).toBe('1');
      expect(refused!.json.errors[0].extensions.code).toBe('NOT_READY');
      expect(refused!.json.errors[0].message).toMatch(/starting/);
      expect(alive!.status).toBe(200);

      const ready = await request(`${base}/ready`);
      expect(ready.status).toBe(200);
      expect(ready.json).toEqual({ status: 'ready' });
    } finally {
      await started?.server.stop();
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it('drains: the request in flight finishes, readiness and new requests get 503, then the port closes', async () => {
    const h = await startHarness({ sims: async () => sims });
    const base = h.server.url.replace(/\/graphql$/, '');
    sims.unpod.server.latencyMs = 1_500;
    const slow = graphql(base, UNPOD_PAGE);
    await until(() => sims.unpod.server.inFlight > 0, 'the upstream request');

    const stopping = h.server.stop({ graceMs: 60_000 });
    const ready = await request(`${base}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'draining' });
    const refused = await graphql(base, '{ __typename }');
    expect(refused.status).toBe(503);
    expect(refused.json.errors[0].extensions.code).toBe('NOT_READY');
    expect(refused.json.errors[0].message).toMatch(/shutting down/);
    expect(refused.headers.connection).toBe('close');
    expect((await request(`${base}/health`)).status).toBe(200);

    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.json.errors).toBeUndefined();
    expect(answer.json.data.calls.nodes).toHaveLength(30);
    // It was in flight when the drain began: its connection ends with it.
    expect(answer.headers.connection).toBe('close');
    expect(await stopping).toEqual({ graceful: true, abandoned: 0 });
    await expect(request(`${base}/ready`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('cuts the requests still in flight when the grace period runs out, and says so', async () => {
    // A short upstream time-out, so that the abandoned resolver ends soon after the test.
    const h = await startHarness({
      sims: async () => sims,
      configure: (config) => ({ ...config, http: { ...config.http, responseTimeoutMs: 1_000, totalTimeoutMs: 1_000 } }),
    });
    const base = h.server.url.replace(/\/graphql$/, '');
    sims.unpod.server.persistentFault = { kind: 'hang' };
    const slow = graphql(base, UNPOD_PAGE);
    await until(() => sims.unpod.server.inFlight > 0, 'the upstream request');
    expect(await h.server.stop({ graceMs: 200 })).toEqual({ graceful: false, abandoned: 1 });
    await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
    await until(() => sims.unpod.server.inFlight === 0, 'the upstream time-out');
  });
});

describe('the real entry point', () => {
  let unpod: ReturnType<typeof createUnpodSimulator>;
  let unpodUrl: string;
  let redis: RedisServer;
  beforeAll(async () => {
    unpod = createUnpodSimulator({ count: 30 });
    unpodUrl = await unpod.server.start();
    redis = await startRedis();
  });
  afterAll(async () => {
    await unpod?.server.close();
    await redis?.stop();
  });
  const env = () => ({ UNPOD_TOKEN: unpod.credentials.token, UNPOD_ORG_HANDLE: unpod.credentials.orgHandle, UNPOD_BASE_URL: unpodUrl, REDIS_URL: redis.url });

  it('SIGTERM during a slow upstream request: it completes with 200 and full data, readiness is 503 meanwhile, exit 0', async () => {
    const running = await startEntryPoint(env());
    try {
      expect((await request(`${running.base}/ready`)).status).toBe(200);
      const events: string[] = [];
      // A keep-alive connection left idle must not hold the process open.
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      await request(`${running.base}/health`, { agent: keepAlive });
      const idle = Object.values(keepAlive.freeSockets).flat()[0]!;
      idle.once('close', () => events.push('idle connection closed'));

      unpod.server.latencyMs = 3_000;
      const slow = graphql(running.base, UNPOD_PAGE).then((answer) => (events.push('slow request answered'), answer));
      await until(() => unpod.server.inFlight > 0, 'the upstream request');
      running.child.kill('SIGTERM');

      await until(() => running.lines.some((line) => line.includes('shutting down')), 'the shutdown log line');
      const ready = await request(`${running.base}/ready`);
      expect(ready.status).toBe(503);
      expect(ready.json).toEqual({ status: 'draining' });

      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(answer.json.errors).toBeUndefined();
      expect(answer.json.data.calls.nodes).toHaveLength(30);
      expect(await running.exited).toBe(0);
      expect(events).toEqual(['idle connection closed', 'slow request answered']);
      const messages = running.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).msg as string);
      expect(messages).toContain('stopped');
      expect(messages.find((m) => m.startsWith('SIGTERM'))).toMatch(/^SIGTERM: shutting down; no new requests, those in flight have 25000 ms to finish$/);
    } finally {
      unpod.server.latencyMs = 0;
      running.child.kill('SIGKILL');
    }
  });

  it('SIGINT likewise; when the grace period runs out it cuts the request, says why and exits 1', async () => {
    const running = await startEntryPoint({ ...env(), SWITCHBOARD_SHUTDOWN_GRACE_MS: '300' });
    try {
      unpod.server.latencyMs = 4_000;
      const slow = graphql(running.base, UNPOD_PAGE);
      await until(() => unpod.server.inFlight > 0, 'the upstream request');
      running.child.kill('SIGINT');
      await expect(slow).rejects.toThrow(/socket hang up|ECONNRESET/);
      expect(await running.exited).toBe(1);
      const errors = running.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
      expect(errors.map((l) => l.msg)).toEqual(['shutdown grace period of 300 ms ran out with 1 request(s) in flight; their connections were closed']);
    } finally {
      unpod.server.latencyMs = 0;
      running.child.kill('SIGKILL');
    }
  });
});
