/**
 * Nothing leaks: every credential (and the client's API key) carries a unique marker; every fault,
 * malformed query, bad cursor and bad id is driven over HTTP; the marker must appear in no response
 * body or header and in no log line, and no error carries a stack trace. Also checks the shape of
 * the structured logs: one line per GraphQL request, one per upstream failure, never a body.
 */
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/logger.js';
import type { Fault } from '../../src/simulation/harness.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { decodeCallId } from '../../src/calls/ids.js';
import { moduleOf, simOf } from '../helpers/modules.js';
import { PROVIDERS, newCanary, serverOf, startCanarySimulators } from '../helpers/resilience.js';
import { startRedis } from '../helpers/redis.js';

const canary = newCanary();
const apiKey = `key-${canary}`;
const auth = { authorization: `Bearer ${apiKey}` };

const FULL = `query Everything($first: Int, $after: String) {
  calls(first: $first, after: $after) {
    totalCount
    edges { cursor node { id provider connection providerCallId status from { phoneNumber rawPhoneNumber } recordings { url } transcript { url } inputParameters outputParameters billedDurationSeconds } }
    pageInfo { endCursor hasNextPage }
  }
}`;

const FAULTS: Fault[] = [
  { kind: 'status', status: 500, body: JSON.stringify({ error: `upstream says ${canary}` }) },
  { kind: 'status', status: 503, retryAfter: '0' },
  { kind: 'status', status: 429, retryAfter: '600' },
  { kind: 'status', status: 401, body: JSON.stringify({ detail: `bad token ${canary}` }) },
  { kind: 'status', status: 403 },
  { kind: 'status', status: 404, body: 'not found' },
  { kind: 'hang' },
  { kind: 'slowBody', delayMs: 3000 },
  { kind: 'reset' },
  { kind: 'invalidJson' },
  { kind: 'html' },
  { kind: 'oversized', bytes: 300_000 },
  { kind: 'wrongShape' },
];

interface Seen {
  what: string;
  status: number;
  headers: string;
  text: string;
}

describe('nothing leaks', () => {
  let h: Harness;
  const seen: Seen[] = [];

  async function send(what: string, init: RequestInit & { url?: string }): Promise<Seen> {
    const res = await fetch(init.url ?? h.server.url, init);
    const text = await res.text();
    const record = { what, status: res.status, headers: JSON.stringify([...res.headers]), text };
    seen.push(record);
    return record;
  }
  const post = (what: string, body: unknown, headers: Record<string, string> = auth) =>
    send(what, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(canary, 20),
      env: { SWITCHBOARD_API_KEYS: apiKey },
      configure: (c) => ({
        ...c,
        http: { ...c.http, totalTimeoutMs: 700, responseTimeoutMs: 400, retries: 1, maxRetryAfterMs: 1500, breakerThreshold: 1000, maxBodyBytes: 128 * 1024 },
      }),
    });
  });
  afterAll(() => h.stop());

  it('drives every fault of every provider through lists, details and look-ups', async () => {
    const clean = await post('clean', { query: FULL, variables: { first: 40 } });
    const ids = new Map<string, string>();
    for (const edge of JSON.parse(clean.text).data.calls.edges) ids.set(edge.node.provider, edge.node.id);
    expect(ids.size).toBe(PROVIDERS.length);
    // Providers in parallel (each fault is its own simulator's), faults one after another.
    await Promise.all(
      PROVIDERS.map(async (p) => {
        for (const fault of FAULTS) {
          const sim = serverOf(h.sims, p.key);
          sim.persistentFault = fault;
          const [list, lookup] = await Promise.all([
            post(`${p.key} ${fault.kind} list`, { query: FULL, variables: { first: 10 } }),
            post(`${p.key} ${fault.kind} lookup`, { query: 'query($id: ID!) { call(id: $id) { id recordings { url } } }', variables: { id: ids.get(p.provider) } }),
          ]);
          expect(list.status).toBe(200);
          expect(lookup.status).toBe(200);
          sim.clearFaults();
        }
      }),
    );
  });

  it('drives rows that do not read, carrying the marker, through lists, look-ups and detail fields', async () => {
    const clean = JSON.parse((await post('clean rows', { query: FULL, variables: { first: 40 } })).text);
    const nodes: { id: string; provider: string; providerCallId: string | null }[] = clean.data.calls.edges.map((e: { node: unknown }) => e.node);
    // One listed call per provider, sent with the marker in a field that does not read and in one
    // that does (each module's markUnreadable).
    const listed = PROVIDERS.map((p) => nodes.find((n) => n.provider === p.provider && n.providerCallId !== null)!);
    for (const n of listed) expect(moduleOf(n.provider).simulator.markUnreadable(simOf(h.sims, n.provider), decodeCallId(n.id).key, canary)).toBe(true);
    const { twenty2 } = h.sims;
    // A Twenty2 detail body whose media does not read, for another call.
    const other = twenty2.rows.find((r) => !twenty2.unreadable.has(r))!;
    twenty2.unreadableDetail.set(other, (body) => ({ ...body, recording: { url: { canary } }, output_parameters: canary }));
    try {
      const ids = listed.map((n) => n.id);
      const list = await post('unreadable rows list', { query: FULL, variables: { first: 40 } });
      expect(JSON.parse(list.text).errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toContain('PROVIDER_DATA_INVALID');
      await post('unreadable rows look-up', { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Call { recordings { url } } } }', variables: { ids } });
      await post('unreadable detail', { query: '{ calls(first: 40, filter: { providers: [TWENTY2] }) { nodes { id recordings { url } outputParameters } } }' });
    } finally {
      for (const p of PROVIDERS) h.sims[p.key].unreadable.clear();
      twenty2.unreadableDetail.clear();
    }
  });

  it('drives malformed queries, bad cursors, bad ids and bad requests', async () => {
    const good = JSON.parse((await post('page', { query: FULL, variables: { first: 2 } })).text);
    const cursor: string = good.data.calls.pageInfo.endCursor;
    const [data, signature] = cursor.split('.');
    const badCursors = [
      'x',
      '',
      `${data}.AAAA`,
      `${Buffer.from(JSON.stringify({ v: 1, p: [0, 0, canary, canary] })).toString('base64url')}.${signature}`,
      `${data}.${signature}.${canary}`,
      canary,
      'a'.repeat(5000),
    ];
    for (const after of badCursors) {
      const res = await post(`cursor ${after.slice(0, 20)}`, { query: FULL, variables: { first: 2, after } });
      expect(res.status).toBeLessThan(500);
    }
    const badIds = ['', canary, Buffer.from(JSON.stringify(['Call', 'TWENTY2', 'default', canary, 1])).toString('base64url'), 'W10'];
    for (const id of badIds) {
      await post(`id ${id.slice(0, 20)}`, { query: 'query($id: ID!) { call(id: $id) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }', variables: { id } });
    }
    const documents = [
      `{ calls(first: 1) { nodes { ${canary} } } }`,
      // Messages echo a wrong value back to its sender ("what arrived"), which is no secret: so the
      // marker is not used in literals and filters, only in opaque cursors and ids.
      '{ calls(first: "many") { nodes { id } } }',
      'query { calls(filter: { phoneNumber: "not-a-number" }) { nodes { id } } }',
      'query { calls(filter: { startedAfter: "yesterday" }) { nodes { id } } }',
      '{ calls(first: 1000) { nodes { id } } }',
      '{ calls(first: -1) { nodes { id } } }',
      '{ calls(first: 1, last: 1) { nodes { id } } }',
      '{ calls { nodes { id }',
      '{ __typename }',
      `query Q { calls { nodes { id } } } query R { call(id: "${canary}") { id } }`,
      'subscription { calls }',
      'mutation { x }',
    ];
    for (const query of documents) await post(`doc ${query.slice(0, 30)}`, { query });
    await post('variables not an object', { query: FULL, variables: canary });
    await post('broken JSON', `{"query": "${canary}`);
    await post('not GraphQL', { nothing: canary });
    await post('too large', { query: `{ __typename } # ${canary}${'x'.repeat(200_000)}` });
    await post('wrong key', { query: '{ __typename }' }, { authorization: `Bearer wrong-${canary}` });
    await send('GET bad', { url: `${h.server.url}?query=${encodeURIComponent(`{ ${canary} }`)}&variables=${canary}`, headers: auth });
    await send('GET mutation', { url: `${h.server.url}?query=${encodeURIComponent('mutation { x }')}`, headers: auth });
    await send('health', { url: h.server.url.replace('/graphql', '/health') });
  });

  it('the marker appears in no response and no log line; no error has a stack trace; nothing answered 5xx', () => {
    expect(seen.length).toBeGreaterThan(100);
    for (const record of seen) {
      expect({ what: record.what, leak: record.text.includes(canary) || record.headers.includes(canary) }).toEqual({ what: record.what, leak: false });
      expect({ what: record.what, status: record.status < 500 }).toEqual({ what: record.what, status: true });
      expect(record.text).not.toMatch(/stacktrace|\n\s+at |\s{4}at \S+ \(/i);
      const body = (() => {
        try {
          return JSON.parse(record.text) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
        } catch {
          return {};
        }
      })();
      for (const error of body.errors ?? []) expect(Object.keys(error.extensions ?? {})).not.toContain('exception');
    }
    expect(h.logs.length).toBeGreaterThan(0);
    const leaking = h.logs.filter((line) => line.includes(canary));
    expect(leaking).toEqual([]);
  });

  it('logs one structured line per GraphQL request and one per upstream failure, with no bodies or headers', async () => {
    h.logs.length = 0;
    h.resetCounters();
    h.sims.unpod.server.persistentFault = { kind: 'status', status: 502 };
    await post('logged', { query: FULL, operationName: 'Everything', variables: { first: 5 } });
    h.sims.unpod.server.clearFaults();
    const lines = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = lines.filter((l) => l.event === 'graphql_request');
    expect(requests).toHaveLength(1);
    const request = requests[0]!;
    // The line's counts are exactly what each simulator received (lists, totalCount, details, retries).
    expect(request).toMatchObject({
      operationName: 'Everything',
      errorCodes: ['PROVIDER_UNAVAILABLE'],
      upstream: Object.fromEntries(PROVIDERS.map((p) => [p.label, serverOf(h.sims, p.key).count()])),
      upstreamRequests: h.upstreamCount(),
    });
    expect(h.sims.unpod.server.count()).toBeGreaterThanOrEqual(2);
    expect(typeof request.durationMs).toBe('number');
    const failures = lines.filter((l) => l.event === 'upstream_failure');
    expect(failures).toHaveLength(h.sims.unpod.server.count()); // every try, retries included
    for (const failure of failures) {
      expect(failure).toMatchObject({ provider: 'UNPOD', connection: 'default', failure: 'HTTP_STATUS', status: 502 });
      expect(Object.keys(failure).sort()).toEqual(
        ['connection', 'durationMs', 'event', 'failure', 'level', 'msg', 'operation', 'provider', 'service', 'status', 'time'].sort(),
      );
    }
  });

  it('the logger redacts credentials, settings, variables and request options should they ever be logged', () => {
    const lines: string[] = [];
    const logger = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
    logger.info({ settings: { password: canary }, connection: { settings: { appToken: canary }, token: canary }, password: canary, variables: { v: canary } }, 'stray');
    logger.error({ err: Object.assign(new Error('boom'), { options: { headers: { authorization: canary } } }) }, 'stray error');
    logger.info({ req: { headers: { authorization: `Bearer ${canary}` } } }, 'stray request');
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(canary);
  });

  it("the logger drops the command an ioredis error carries: its arguments hold call data (a webhook payload's signed links, a watch window)", async () => {
    const redis = await startRedis();
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      // As src/live/webhooks.ts's SETTLE failing (a full Redis answers OOM): ioredis sets err.command = { name, args }.
      const error = await client.eval("return redis.error_reply('OOM command not allowed')", 0, `{"recordings":[{"url":"https://media.example/r.mp3?sig=${canary}"}]}`).catch((e: unknown) => e);
      expect((error as { command?: { args: unknown[] } }).command?.args.join(' ')).toContain(canary);
      const lines: string[] = [];
      const logger = createLogger('debug', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
      logger.debug({ err: error }, 'webhook attempt could not be recorded in Redis');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('OOM command not allowed');
      expect(lines[0]).not.toContain(canary);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });
});
