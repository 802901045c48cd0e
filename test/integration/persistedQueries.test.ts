/**
 * Persisted queries over real HTTP, both kinds:
 * - trusted documents: with a persisted-query manifest (the format
 *   @apollo/generate-persisted-query-manifest writes) only its operations run — by id, as Apollo
 *   Client's persisted-queries link sends them, or by the same body — and anything else is refused
 *   with Apollo Router's codes before any provider is asked;
 * - automatic persisted queries without a manifest, shared by two instances through a real
 *   redis-server (started here), and per instance without Redis.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const LATEST = 'query Latest($first: Int) {\n  calls(first: $first) {\n    nodes {\n      id\n      provider\n    }\n  }\n}';
const ONE = 'query One($id: ID!) {\n  call(id: $id) {\n    id\n    status\n  }\n}';
const manifest = {
  format: 'apollo-persisted-query-manifest',
  version: 1,
  operations: [
    { id: sha256(LATEST), name: 'Latest', type: 'query', body: LATEST },
    // Ids are the manifest's to choose; the generator's default is the body's SHA-256.
    { id: 'one-call-v1', name: 'One', type: 'query', body: ONE },
  ],
};

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(url: string, body: unknown): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

async function get(url: string, params: Record<string, unknown>): Promise<Answer> {
  const search = new URLSearchParams(
    Object.entries(params).map(([key, value]): [string, string] => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  const res = await fetch(`${url}?${search}`, { headers: { accept: 'application/json' } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const byId = (id: string, extra: Record<string, unknown> = {}) => ({ extensions: { persistedQuery: { version: 1, sha256Hash: id } }, ...extra });
const code = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

let sims: Simulators;
beforeAll(async () => {
  sims = await startSimulators({ count: 40 });
});
afterAll(async () => {
  await sims?.close();
});

describe('trusted documents: a manifest is a safelist', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchboard-pq-')), 'manifest.json');
  writeFileSync(file, JSON.stringify(manifest));
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_PERSISTED_QUERY_MANIFEST: file } });
  });
  afterAll(async () => {
    await h?.server.stop();
  });
  beforeEach(() => h.resetCounters());

  it('runs a manifest operation by id, with its variables, over POST and GET', async () => {
    const posted = await post(h.server.url, byId(sha256(LATEST), { variables: { first: 5 } }));
    expect(posted.status).toBe(200);
    expect(posted.body.errors).toBeUndefined();
    expect(posted.body.data.calls.nodes).toHaveLength(5);

    const fetched = await get(h.server.url, byId(sha256(LATEST), { variables: { first: 3 } }));
    expect(fetched.status).toBe(200);
    expect(fetched.body.data.calls.nodes).toHaveLength(3);

    // An id that is not a hash, as a manifest may choose.
    const one = await post(h.server.url, byId('one-call-v1', { variables: { id: posted.body.data.calls.nodes[0].id } }));
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data.call.id).toBe(posted.body.data.calls.nodes[0].id);
  });

  it('runs a manifest operation sent as its body, whitespace, commas and comments aside', async () => {
    const exact = await post(h.server.url, { query: LATEST, variables: { first: 2 } });
    expect(exact.status).toBe(200);
    expect(exact.body.data.calls.nodes).toHaveLength(2);
    const reformatted = `# the same operation\nquery Latest($first: Int) { calls(first: $first) { nodes { id, provider } } }`;
    const same = await get(h.server.url, { query: reformatted, variables: { first: 2 } });
    expect(same.status).toBe(200);
    expect(same.body.data).toEqual(exact.body.data);
  });

  it.each([
    ['an id the manifest does not have', () => post(h.server.url, byId(sha256('{ calls { nodes { id } } }'))), 404, 'PERSISTED_QUERY_NOT_IN_LIST'],
    ['the same, over GET', () => get(h.server.url, byId('no-such-id')), 404, 'PERSISTED_QUERY_NOT_IN_LIST'],
    ['a body the manifest does not have', () => post(h.server.url, { query: '{ calls(first: 100) { nodes { id transcript { url } } } }' }), 403, 'QUERY_NOT_IN_SAFELIST'],
    ['the same, over GET', () => get(h.server.url, { query: '{ calls { nodes { id } } }' }), 403, 'QUERY_NOT_IN_SAFELIST'],
    ['a listed body with one field more', () => post(h.server.url, { query: LATEST.replace('provider', 'provider status') }), 403, 'QUERY_NOT_IN_SAFELIST'],
    ['a body that is not GraphQL', () => post(h.server.url, { query: '{ calls { "' }), 403, 'QUERY_NOT_IN_SAFELIST'],
    // Automatic persisted queries would register it: refused, and the hash stays unknown (below).
    [
      'an APQ registration (hash and body) of another operation',
      () => post(h.server.url, byId(sha256('{ calls { nodes { id } } }'), { query: '{ calls { nodes { id } } }' })),
      400,
      'CANNOT_SEND_PQ_ID_AND_BODY',
    ],
    ['a listed id with its own body', () => post(h.server.url, byId(sha256(LATEST), { query: LATEST })), 400, 'CANNOT_SEND_PQ_ID_AND_BODY'],
    ['a persistedQuery extension without an id', () => post(h.server.url, { extensions: { persistedQuery: { version: 1 } } }), 400, 'BAD_REQUEST'],
    ['a request with no operation at all', () => post(h.server.url, { variables: {} }), 400, 'BAD_REQUEST'],
  ])('refuses %s, before any provider is asked', async (_name, send, status, expected) => {
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(code(answer)).toBe(expected);
    expect(answer.body.data).toBeUndefined();
    expect(h.upstreamCount()).toBe(0);
    if (status === 404 || status === 403) expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('registers nothing at run time: after a refused registration the hash is still unknown', async () => {
    const query = '{ calls(first: 1) { nodes { id } } }';
    await post(h.server.url, byId(sha256(query), { query }));
    const again = await post(h.server.url, byId(sha256(query)));
    expect(again.status).toBe(404);
    expect(code(again)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
  });

  it('lets introspection through outside production (GraphiQL), but not a document that mixes it with data', async () => {
    const schema = await post(h.server.url, { query: '{ __schema { queryType { name } } }' });
    expect(schema.status).toBe(200);
    expect(schema.body.data.__schema.queryType.name).toBe('Query');
    const fragment = await post(h.server.url, { query: 'query { ...T } fragment T on Query { __typename }' });
    expect(fragment.body.data).toEqual({ __typename: 'Query' });
    const mixed = await post(h.server.url, { query: '{ __typename calls { nodes { id } } }' });
    expect(mixed.status).toBe(403);
    expect(code(mixed)).toBe('QUERY_NOT_IN_SAFELIST');
  });

  it('refuses introspection too in production, where it is off', async () => {
    const prod = await startHarness({
      sims: async () => sims,
      env: { NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true', SWITCHBOARD_PERSISTED_QUERY_MANIFEST: file },
    });
    try {
      const answer = await post(prod.server.url, { query: '{ __schema { queryType { name } } }' });
      expect(answer.status).toBe(403);
      expect(code(answer)).toBe('QUERY_NOT_IN_SAFELIST');
      const listed = await post(prod.server.url, byId(sha256(LATEST), { variables: { first: 1 } }));
      expect(listed.body.data.calls.nodes).toHaveLength(1);
    } finally {
      await prod.server.stop();
    }
  });
});

describe('automatic persisted queries (no manifest)', () => {
  const QUERY = '{ calls(first: 3) { nodes { id provider } } }';
  const HASH = sha256(QUERY);

  it('are registered per instance without Redis: another instance does not know the hash', async () => {
    const a = await startHarness({ sims: async () => sims });
    const b = await startHarness({ sims: async () => sims });
    try {
      expect(code(await post(a.server.url, byId(HASH)))).toBe('PERSISTED_QUERY_NOT_FOUND');
      const registered = await post(a.server.url, byId(HASH, { query: QUERY }));
      expect(registered.body.data.calls.nodes).toHaveLength(3);
      expect((await post(a.server.url, byId(HASH))).body.data).toEqual(registered.body.data);
      expect(code(await post(b.server.url, byId(HASH)))).toBe('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await a.server.stop();
      await b.server.stop();
    }
  });

  describe('with REDIS_URL', () => {
    let redis: RedisServer;
    let a: Harness;
    let b: Harness;
    beforeAll(async () => {
      redis = await startRedis();
      a = await startHarness({ sims: async () => sims, env: { REDIS_URL: redis.url } });
      b = await startHarness({ sims: async () => sims, env: { REDIS_URL: redis.url } });
    });
    afterAll(async () => {
      await a?.server.stop();
      await b?.server.stop();
      await redis?.stop();
    });

    it('share what one instance registered with the other, under an sb: key that expires', async () => {
      expect(code(await post(b.server.url, byId(HASH)))).toBe('PERSISTED_QUERY_NOT_FOUND');
      const registered = await post(a.server.url, byId(HASH, { query: QUERY }));
      expect(registered.body.errors).toBeUndefined();

      // Apollo Server writes the entry after answering; wait until it is there.
      const client = new Redis(redis.url);
      try {
        for (let i = 0; i < 100 && (await client.exists(`sb:apq:${HASH}`)) === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(await client.get(`sb:apq:${HASH}`)).toBe(QUERY);
        const ttl = await client.ttl(`sb:apq:${HASH}`);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(86_400);
      } finally {
        client.disconnect();
      }

      const shared = await post(b.server.url, byId(HASH));
      expect(shared.status).toBe(200);
      expect(shared.body.data).toEqual(registered.body.data);
    });

    it('still refuse a hash that does not match its query', async () => {
      const answer = await post(a.server.url, byId(sha256('{ __typename }'), { query: QUERY }));
      expect(answer.status).toBe(400);
      expect(code(answer)).toBe('BAD_REQUEST');
    });
  });

  it('fall back to the full query when Redis is unreachable', async () => {
    const h = await startHarness({ sims: async () => sims, env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` } });
    try {
      const query = '{ calls(first: 2) { nodes { id } } }';
      expect(code(await post(h.server.url, byId(sha256(query))))).toBe('PERSISTED_QUERY_NOT_FOUND');
      const full = await post(h.server.url, byId(sha256(query), { query }));
      expect(full.status).toBe(200);
      expect(full.body.data.calls.nodes).toHaveLength(2);
    } finally {
      await h.server.stop();
    }
  });
});
