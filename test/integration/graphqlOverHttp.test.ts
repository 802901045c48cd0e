/**
 * The GraphQL-over-HTTP conformance audit (graphql-http's `serverAudits`, the suite the spec's
 * authors publish) against the real server over HTTP: any audit error fails; warnings and notices
 * are printed. The three that warned before (400 instead of the recommended 200 for a request error
 * answered as application/json) are pinned as passing, next to the 400 that
 * application/graphql-response+json keeps.
 */
import { serverAudits, type AuditResult } from 'graphql-http';
import { startHarness, type Harness } from '../helpers/switchboard.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.stop());

it('passes every audit of graphql-http with no error', async () => {
  const results: AuditResult[] = [];
  for (const audit of serverAudits({ url: () => h.server.url })) results.push(await audit.fn());
  const notOk = results.filter((result) => result.status !== 'ok');
  for (const result of notOk) process.stdout.write(`graphql-http audit ${result.status}: ${result.id} ${result.name}\n`);
  process.stdout.write(`graphql-http audits: ${results.length - notOk.length} ok, ${notOk.length} not ok\n`);
  expect(results.length).toBeGreaterThan(50);
  expect(results.filter((result) => result.status === 'error').map((result) => `${result.id} ${result.name}`)).toEqual([]);
  // Warned before: 400 for parse, validation and variable failures when accepting application/json.
  const fixed = results.filter((result) => ['572B', 'FDE2', '7B9B'].includes(result.id));
  expect(fixed.map((result) => [result.id, result.status])).toEqual([
    ['572B', 'ok'],
    ['FDE2', 'ok'],
    ['7B9B', 'ok'],
  ]);
});

describe('request errors: 200 as application/json, 400 as application/graphql-response+json', () => {
  const cases = [
    ['parse', '{ calls(first: 1) { nodes { id }', undefined, 'GRAPHQL_PARSE_FAILED'],
    ['validation', '{ calls(first: 1) { nodez { id } } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
    ['variable coercion', 'query($n: Int) { calls(first: $n) { nodes { id } } }', { n: 'ten' }, 'BAD_USER_INPUT'],
    ['cost', `{ ${Array.from({ length: 50 }, (_, i) => `p${i}: calls(first: 100) { nodes { id } }`).join(' ')} }`, undefined, 'COST_ESTIMATED_TOO_EXPENSIVE'],
  ] as const;

  it.each(cases)('%s failure', async (_kind, query, variables, code) => {
    const post = (accept: string) =>
      fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query, variables }) });
    for (const [accept, status, type] of [
      ['application/json', 200, 'application/json'],
      ['*/*', 200, 'application/json'],
      ['application/graphql-response+json', 400, 'application/graphql-response+json'],
      ['application/graphql-response+json, application/json;q=0.9', 400, 'application/graphql-response+json'],
    ] as const) {
      const res = await post(accept);
      const body = (await res.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
      expect({ accept, status: res.status, type: res.headers.get('content-type')?.split(';')[0] }).toEqual({ accept, status, type });
      expect('data' in body).toBe(false);
      expect(body.errors[0]!.extensions.code).toBe(code);
      // The request log has the status the client got.
      const logged = h.logs.map((line) => JSON.parse(line)).filter((line) => line.event === 'graphql_request');
      expect(logged.at(-1)).toMatchObject({ status, errorCodes: [code] });
    }
    expect(h.upstreamCount()).toBe(0);
  });

  it('requests that are not well-formed keep 400 as application/json too', async () => {
    const noQuery = await fetch(h.server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{}' });
    expect(noQuery.status).toBe(400);
    expect(((await noQuery.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    const badVariables = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ calls { totalCount } }', variables: [1] }),
    });
    expect(badVariables.status).toBe(400);
  });
});
