/**
 * GraphiQL over HTTP (the browser test runs it for real): who gets the page, its CSP, its assets
 * from installed packages, and none of it in production.
 */
import { EXAMPLE_QUERY, EXAMPLE_SUBSCRIPTION } from '../../src/graphiql.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

describe('outside production', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  test('a browser asking for /graphql gets the page, with a CSP of its own origin and only local assets', async () => {
    const response = await fetch(h.server.url, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    const html = await response.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(sources.length).toBe(7);
    expect(sources.every((source) => source!.startsWith('/graphiql-assets/'))).toBe(true);
    expect(html).not.toMatch(/<script>(?!<)/); // no inline script: CSP forbids it

    for (const source of sources) {
      const asset = await fetch(new URL(source!, h.server.url));
      expect([source, asset.status]).toEqual([source, 200]);
      expect(asset.headers.get('content-type')).toMatch(/^text\/(javascript|css)/);
    }
    const boot = await (await fetch(new URL('/graphiql-assets/boot.js', h.server.url))).text();
    expect(boot).toContain(JSON.stringify(`${EXAMPLE_QUERY}\n${EXAMPLE_SUBSCRIPTION}`));
    // Subscriptions' client, served from graphql-sse's own UMD build.
    expect(sources).toContain('/graphiql-assets/graphql-sse.min.js');
    const sse = await (await fetch(new URL('/graphiql-assets/graphql-sse.min.js', h.server.url))).text();
    expect(sse).toContain('graphqlSse');
  });

  test('GraphQL over GET, and clients not asking for HTML, still reach the API', async () => {
    const query = encodeURIComponent('{ calls(first: 1) { nodes { provider } } }');
    const get = await fetch(`${h.server.url}?query=${query}`, { headers: { accept: 'text/html, application/json' } });
    expect(get.status).toBe(200);
    expect(((await get.json()) as { data: { calls: { nodes: unknown[] } } }).data.calls.nodes).toHaveLength(1);
    const plain = await fetch(h.server.url, { headers: { accept: 'application/json' } });
    expect(plain.headers.get('content-type')).not.toMatch(/text\/html/);
  });

  test('the example query is the named LatestCalls operation and runs without errors', async () => {
    expect(EXAMPLE_QUERY).toMatch(/query LatestCalls\b/);
    const res = await h.gql(EXAMPLE_QUERY);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.calls.nodes).toHaveLength(20);
    expect(res.body.data.calls.pageInfo.hasNextPage).toBe(true);
  });

  test('the example subscription is the named CallEvents operation and is accepted over SSE', async () => {
    expect(EXAMPLE_SUBSCRIPTION).toMatch(/subscription CallEvents\b/);
    const abort = new AbortController();
    const response = await fetch(h.server.url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: EXAMPLE_SUBSCRIPTION }),
      signal: abort.signal,
    });
    try {
      // The document is parsed and validated before the stream opens: a bad one is a 400 with errors.
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    } finally {
      abort.abort();
    }
  });
});

test('in production there is no GraphiQL and no landing page', async () => {
  const h = await startHarness({ env: { NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true' } });
  try {
    const page = await fetch(h.server.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(await page.text()).not.toMatch(/graphiql/i);
    expect((await fetch(new URL('/graphiql-assets/graphiql.min.js', h.server.url))).status).toBe(404);
  } finally {
    await h.stop();
  }
});
