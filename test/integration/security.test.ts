/**
 * Security over real HTTP: API keys, tenant isolation at every entry point, cursors bound to the
 * key, document limits, the body limit, CSRF, production mode, and start-up refusals.
 */
import { gzipSync } from 'node:zlib';
import { ConfigError, loadConfig } from '../../src/config.js';
import { runEntryPoint } from '../helpers/entryPoint.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { newCanary, startCanarySimulators } from '../helpers/resilience.js';

const KEY_A = 'tenant-a-key-0123456789abcdef';
const KEY_B = 'tenant-b-key-0123456789abcdef';
const A = { authorization: `Bearer ${KEY_A}` };
const B = { authorization: `Bearer ${KEY_B}` };

const PAGE = `query Page($first: Int, $after: String, $filter: CallFilter) {
  calls(first: $first, after: $after, filter: $filter) { nodes { id provider } pageInfo { endCursor hasNextPage } }
}`;
const fakeId = (provider: string, key: string) =>
  Buffer.from(JSON.stringify(['Call', provider, 'default', key, Date.parse('2026-11-01T00:00:00Z')])).toString('base64url');

describe('API keys and tenants', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(newCanary(), 25),
      env: {
        SWITCHBOARD_API_KEYS: `${KEY_A}:twenty2/default+unpod,${KEY_B}:cinnox/default+talkstack`,
        SWITCHBOARD_MAX_QUERY_DEPTH: '4',
        SWITCHBOARD_MAX_ALIASES: '5',
        SWITCHBOARD_MAX_TOKENS: '400',
      },
    });
  });
  afterAll(() => h.stop());
  beforeEach(() => h.resetCounters());

  it.each([
    ['no key', {}],
    ['a wrong key', { authorization: 'Bearer not-a-key-of-this-server-123' }],
    ['a key in the wrong scheme', { authorization: `Basic ${KEY_A}` }],
  ])('answers 401 with %s, before any upstream request', async (_name, headers) => {
    const res = await h.gql(PAGE, { first: 5 }, headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
    expect(h.upstreamCount()).toBe(0);
  });

  it('a key scoped to twenty2/default+unpod sees only those, and nothing is asked of the others', async () => {
    const res = await h.gql(PAGE, { first: 60 }, A);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(new Set(res.body.data.calls.nodes.map((n: { provider: string }) => n.provider))).toEqual(new Set(['TWENTY2', 'UNPOD']));
    expect(h.sims.cinnox.server.count()).toBe(0);
    expect(h.sims.talkstack.server.count()).toBe(0);
    // Filtering for a provider outside the scope gives an empty list, not the provider's calls.
    const filtered = await h.gql(PAGE, { first: 5, filter: { providers: ['CINNOX'] } }, A);
    expect(filtered.body).toEqual({ data: { calls: { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } } } });
    expect(h.sims.cinnox.server.count()).toBe(0);
  });

  it("another tenant's call id answers exactly like a missing id at every entry point, with no upstream request", async () => {
    const theirs = await h.gql(PAGE, { first: 5, filter: { providers: ['CINNOX'] } }, B);
    const foreignId: string = theirs.body.data.calls.nodes[0].id;
    const missingId = fakeId('TWENTY2', 'no-such-call');
    const entry = [
      ['call', 'query($id: ID!) { call(id: $id) { id provider } }', (id: string) => ({ id })],
      ['node', 'query($id: ID!) { node(id: $id) { id ... on Call { provider } } }', (id: string) => ({ id })],
      ['nodes', 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', (id: string) => ({ ids: [id] })],
      [
        '_entities',
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id provider } } }',
        (id: string) => ({ r: [{ __typename: 'Call', id }] }),
      ],
    ] as const;
    for (const [name, query, vars] of entry) {
      h.resetCounters();
      const foreign = await h.gql(query, vars(foreignId), A);
      expect({ name, count: h.sims.cinnox.server.count() + h.sims.talkstack.server.count() }).toEqual({ name, count: 0 });
      const missing = await h.gql(query, vars(missingId), A);
      expect({ name, status: foreign.status, body: foreign.body }).toEqual({ name, status: missing.status, body: missing.body });
      expect(foreign.body.errors).toBeUndefined();
      // The same id with the owner's key does resolve: the null above is the scope, not a bad id.
      const own = await h.gql(query, vars(foreignId), B);
      expect(JSON.stringify(own.body.data)).toContain(foreignId);
    }
  });

  it("a cursor from key A is refused for key B with BAD_USER_INPUT (and B's providers get no request)", async () => {
    const page = await h.gql(PAGE, { first: 3 }, A);
    const cursor = page.body.data.calls.pageInfo.endCursor;
    h.resetCounters();
    const res = await h.gql(PAGE, { first: 3, after: cursor }, B);
    expect(res.status).toBe(200);
    expect(res.body.data).toBeNull();
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    expect(h.upstreamCount()).toBe(0);
    // With its own key the cursor pages on.
    const own = await h.gql(PAGE, { first: 3, after: cursor }, A);
    expect(own.body.errors).toBeUndefined();
  });

  it('refuses documents over the depth, alias and token limits before any upstream request', async () => {
    const deep = await h.gql('{ calls(first: 1) { edges { node { from { phoneNumber } } } } }', undefined, A);
    expect(deep.status).toBe(400);
    expect(deep.body.errors![0]!.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(deep.body.errors![0]!.message).toMatch(/depth/i);
    const shallow = await h.gql('{ calls(first: 1) { nodes { from { phoneNumber } } } }', undefined, A);
    expect(shallow.body.errors).toBeUndefined();
    h.resetCounters();

    const aliases = Array.from({ length: 6 }, (_, i) => `a${i}: calls(first: 1) { totalCount }`).join(' ');
    const aliased = await h.gql(`{ ${aliases} }`, undefined, A);
    expect(aliased.status).toBe(400);
    expect(aliased.body.errors![0]!.message).toMatch(/alias/i);

    const tokens = await h.gql(`{ calls(first: 1) { nodes { ${'id '.repeat(450)} } } }`, undefined, A);
    expect(tokens.status).toBe(400);
    expect(tokens.body.errors![0]!.message).toMatch(/token/i);
    expect(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST']).toContain(tokens.body.errors![0]!.extensions!.code);

    // A fragment bomb: 2^12 selections from a short document.
    const fragments = ['fragment F0 on Call { id }'];
    for (let i = 1; i <= 12; i++) fragments.push(`fragment F${i} on Call { ...F${i - 1} ...F${i - 1} }`);
    const bomb = await h.gql(`{ call(id: "${fakeId('TWENTY2', 'x')}") { ...F12 } } ${fragments.join(' ')}`, undefined, A);
    expect(bomb.status).toBe(400);
    expect(bomb.body.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(h.upstreamCount()).toBe(0);
  });

  it('_entities with a bad id before an unknown __typename: a BAD_USER_INPUT for each, and the server lives on', async () => {
    const res = await h.gql(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }',
      { r: [{ __typename: 'Call', id: 'not-an-id' }, { __typename: 'Nope', id: 'x' }, 'just a string'] },
      A,
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ _entities: [null, null, null] });
    expect(res.body.errors!.map((e) => e.extensions)).toEqual([
      { code: 'BAD_USER_INPUT', argument: 'representations[0].id' },
      { code: 'BAD_USER_INPUT', argument: 'representations[1].__typename' },
      { code: 'BAD_USER_INPUT', argument: 'representations[2]' },
    ]);
    await new Promise((r) => setTimeout(r, 50)); // an unhandled rejection would surface here
    const after = await h.gql('{ calls(first: 1) { nodes { id } } }', undefined, A);
    expect(after.body.errors).toBeUndefined();
  });

  it('answers a body over SWITCHBOARD_MAX_BODY_BYTES with 413 JSON', async () => {
    const query = `{ calls(first: 1) { nodes { id } } } # ${'x'.repeat(120_000)}`;
    const res = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...A },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as { errors: Array<{ message: string }> };
    expect(body.errors[0]!.message).toMatch(/larger than 100000 bytes/);
    expect(h.upstreamCount()).toBe(0);
  });

  it('counts the 413 limit after inflating a compressed body, and accepts one under it', async () => {
    const post = (body: Buffer, encoding: string) =>
      fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding, ...A }, body });
    const small = await post(gzipSync(JSON.stringify({ query: '{ calls(first: 1) { nodes { id } } }' })), 'gzip');
    expect(small.status).toBe(200);
    expect(((await small.json()) as { data: { calls: { nodes: unknown[] } } }).data.calls.nodes).toHaveLength(1);
    const answered = h.upstreamCount();
    // 120 kB of spaces compress to a few hundred bytes: the cap is on what the server would hold.
    const bomb = gzipSync(JSON.stringify({ query: `{ calls(first: 1) { nodes { id } } }${' '.repeat(120_000)}` }));
    expect(bomb.length).toBeLessThan(2_000);
    const refused = await post(bomb, 'gzip');
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toMatch(/larger than 100000 bytes/);
    const unknown = await post(Buffer.from('{}'), 'zstd-of-the-future');
    expect(unknown.status).toBe(415);
    expect(h.upstreamCount()).toBe(answered); // the refusals asked nothing upstream
  });

  it('answers malformed JSON, other methods and unknown paths with a JSON error and a code, never a stack', async () => {
    const broken = await fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...A }, body: '{"query": "{ calls' });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ errors: [{ message: 'Malformed request: the body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
    const put = await fetch(h.server.url, { method: 'PUT', headers: { 'content-type': 'application/json', ...A }, body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    const nowhere = await fetch(new URL('/graphq', h.server.url), { headers: A });
    expect(nowhere.status).toBe(404);
    expect(((await nowhere.json()) as { errors: Array<{ extensions: unknown }> }).errors[0]!.extensions).toEqual({ code: 'NOT_FOUND' });
  });

  it('keeps CSRF prevention on for POST and lets plain GET queries through', async () => {
    // The content types a browser may send cross-site without a preflight, and none at all.
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
      const simplePost = await fetch(h.server.url, {
        method: 'POST',
        headers: { ...(contentType ? { 'content-type': contentType } : {}), ...A },
        // A Blob without a type: fetch then sends no Content-Type of its own.
        body: new Blob([JSON.stringify({ query: '{ calls(first: 1) { nodes { id } } }' })]),
      });
      expect(simplePost.status).toBe(400);
      const body = (await simplePost.json()) as { errors: Array<{ message: string; extensions: unknown }> };
      expect(body.errors[0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(body.errors[0]!.message).toContain(`POST /graphql takes a JSON body sent with the header "Content-Type: application/json" (curl: -H 'content-type: application/json')`);
      expect(body.errors[0]!.message).toContain(contentType ? `this request has Content-Type "${contentType}"` : 'this request has no Content-Type');
    }
    expect(h.upstreamCount()).toBe(0);
    const get = await fetch(`${h.server.url}?query=${encodeURIComponent('{ calls(first: 1) { nodes { id } } }')}`, { headers: A });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { data: unknown }).data).toBeTruthy();
  });
});

describe('production mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      sims: () => startCanarySimulators(newCanary(), 10),
      env: { NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY_A },
    });
  });
  afterAll(() => h.stop());

  it('refuses introspection, saying what to do in Switchboard\'s terms', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Call") { name } }', '{ calls(first: 1) { nodes { id } } meta: __schema { queryType { name } } }']) {
      const res = await h.gql(query, undefined, A);
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toEqual([
        {
          message: 'Introspection is off in production (NODE_ENV=production). The schema is served as `{ _service { sdl } }`, which gateways compose; to browse it in GraphiQL, run Switchboard without NODE_ENV=production.',
          locations: expect.any(Array),
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ]);
    }
    // __typename is not introspection.
    expect((await h.gql('{ __typename }', undefined, A)).body).toEqual({ data: { __typename: 'Query' } });
  });

  it('still serves _service { sdl } for composition', async () => {
    const res = await h.gql('{ _service { sdl } }', undefined, A);
    expect(res.status).toBe(200);
    expect(res.body.data._service.sdl).toMatch(/type Call/);
  });

  it('hides field suggestions and stack traces in errors', async () => {
    for (const query of ['{ cals { nodes { id } } }', '{ calls { nodez { id } } }', '{ call(id: 1) { idd } }']) {
      const res = await h.gql(query, undefined, A);
      expect(res.status).toBe(400);
      expect(res.text).not.toMatch(/Did you mean/i);
      expect(res.text).not.toMatch(/stacktrace|\s{4}at /);
    }
  });

  it('serves no landing page', async () => {
    const res = await fetch(h.server.url, { headers: { accept: 'text/html', ...A } });
    expect(await res.text()).not.toMatch(/<html|graphiql|apollo/i);
  });
});

describe('start-up refusals', () => {
  it('loadConfig refuses production without keys unless anonymous access is allowed', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SWITCHBOARD_API_KEYS.*SWITCHBOARD_ALLOW_ANONYMOUS=true/);
    expect(loadConfig({ NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true', SWITCHBOARD_DEMO: 'true' }).allowAnonymous).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY_A, SWITCHBOARD_DEMO: 'true' }).apiKeys).toHaveLength(1);
  });

  it.each([
    ['production without keys', { NODE_ENV: 'production' }, /SWITCHBOARD_API_KEYS/],
    ['TWENTY2_USERNAME without a password', { TWENTY2_USERNAME: 'u', TWENTY2_WORKSPACE_ID: 'w' }, /TWENTY2_PASSWORD/],
    [
      'TWENTY2_BASE_URL=not-a-url',
      { TWENTY2_USERNAME: 'u', TWENTY2_PASSWORD: 'p', TWENTY2_WORKSPACE_ID: 'w', TWENTY2_BASE_URL: 'not-a-url' },
      /TWENTY2_BASE_URL/,
    ],
    ['a bad limit', { SWITCHBOARD_MAX_QUERY_DEPTH: 'deep' }, /SWITCHBOARD_MAX_QUERY_DEPTH/],
  ])('%s: exits 1 with one line naming it, no stack trace', async (_name, env, names) => {
    const result = await runEntryPoint(env as Record<string, string>, 20_000);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(names);
    expect(lines[0]).toMatch(/^switchboard: configuration error: /);
    expect(result.stderr + result.stdout).not.toMatch(/\s{4}at |Error:/);
  });
});
