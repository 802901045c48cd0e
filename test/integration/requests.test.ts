/**
 * Requests the schema cannot run are the client's mistake, in development and in production: a 4xx
 * with a coded error saying what was wrong, never INTERNAL_SERVER_ERROR, never an error-level log
 * line, never an upstream request. Each request is sent twice, so a document that reached execution
 * would run on both graphql-js and the compiled path (src/execution.ts).
 */
import { startHarness, type Harness } from '../helpers/switchboard.js';

interface Shape {
  name: string;
  method?: 'GET' | 'POST' | 'PUT';
  /** A POST body (sent as JSON) or, for GET, the search parameters. */
  body?: unknown;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** The message must say this. */
  says?: RegExp;
}

const NO_MUTATIONS = /does not support mutation operations/;
/** Subscriptions run over WebSocket or SSE (src/live/transports.ts), never as a JSON answer. */
const NO_SUBSCRIPTIONS = /Subscriptions are served at \/graphql over WebSocket .* or Server-Sent Events/;

const SHAPES: Shape[] = [
  // Operation types the schema does not have (the named cases first).
  { name: 'mutation { x }', body: { query: 'mutation { x }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_MUTATIONS },
  // The schema has a subscription type: an invalid subscription document is refused for what is wrong in it.
  { name: 'subscription { x }', body: { query: 'subscription { x }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: /Cannot query field "x" on type "Subscription"/ },
  { name: 'a named mutation of a real field name', body: { query: 'mutation M { calls { totalCount } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_MUTATIONS },
  { name: 'mutation { __typename }', body: { query: 'mutation { __typename }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_MUTATIONS },
  { name: 'subscription { __typename }', body: { query: 'subscription { __typename }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: /must not select an introspection top level field/ },
  { name: 'a valid subscription as a JSON POST', body: { query: 'subscription { callEvents { id } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_SUBSCRIPTIONS },
  { name: 'a valid subscription, legacy JSON Accept', body: { query: 'subscription { callEvents { id } }' }, headers: { accept: 'application/json' }, status: 200, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_SUBSCRIPTIONS },
  {
    name: 'a query and a mutation, operationName picking the mutation',
    body: { query: 'query A { __typename } mutation B { x }', operationName: 'B' },
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    says: NO_MUTATIONS,
  },
  {
    name: 'a query and a mutation, operationName picking the query (the document is invalid as a whole)',
    body: { query: 'query A { __typename } mutation B { x }', operationName: 'A' },
    status: 400,
    code: 'GRAPHQL_VALIDATION_FAILED',
    says: NO_MUTATIONS,
  },
  { name: 'GET with a mutation', method: 'GET', params: { query: 'mutation { x }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_MUTATIONS },
  { name: 'GET with a subscription', method: 'GET', params: { query: 'subscription { x }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: /Cannot query field "x" on type "Subscription"/ },
  { name: 'GET with a valid subscription', method: 'GET', params: { query: 'subscription { callEvents { id } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', says: NO_SUBSCRIPTIONS },

  // Choosing the operation.
  { name: 'an operationName that matches no operation', body: { query: 'query A { __typename }', operationName: 'B' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE', says: /Unknown operation named "B"/ },
  { name: 'an empty operationName', body: { query: 'query A { __typename }', operationName: '' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'several operations without operationName', body: { query: 'query A { __typename } query B { __typename }' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE', says: /Must provide operation name/ },
  { name: 'GET: an operationName that matches no operation', method: 'GET', params: { query: 'query A { __typename }', operationName: 'B' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE' },
  { name: 'an anonymous operation beside a named one', body: { query: '{ __typename } query B { __typename }', operationName: 'B' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'two operations of one name', body: { query: 'query A { __typename } query A { __typename }', operationName: 'A' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'no operation at all (a fragment only)', body: { query: 'fragment F on Call { id }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'a type definition instead of an operation', body: { query: 'type X { a: Int }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },

  // The document and its variables.
  { name: 'a syntax error', body: { query: '{ calls(' }, status: 400, code: 'GRAPHQL_PARSE_FAILED' },
  { name: 'an unknown field', body: { query: '{ nope }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'a directive the schema does not have (@defer)', body: { query: '{ ... @defer { __typename } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  { name: 'a required variable not given', body: { query: 'query($a: Int!) { calls(first: $a) { totalCount } }' }, status: 400, code: 'BAD_USER_INPUT' },
  { name: 'a variable of the wrong type', body: { query: 'query($a: Int!) { calls(first: $a) { totalCount } }', variables: { a: 'x' } }, status: 400, code: 'BAD_USER_INPUT' },

  // The request around the document.
  { name: 'no query', body: { variables: {} }, status: 400, code: 'BAD_REQUEST' },
  { name: 'GET without a query', method: 'GET', params: {}, status: 400, code: 'BAD_REQUEST' },
  { name: 'a query that is not a string', body: { query: 5 }, status: 400, code: 'BAD_REQUEST' },
  { name: 'an operationName that is not a string', body: { query: '{ __typename }', operationName: 5 }, status: 400, code: 'BAD_REQUEST' },
  { name: 'variables as a string', body: { query: '{ __typename }', variables: '{}' }, status: 400, code: 'BAD_REQUEST' },
  { name: 'variables as an array', body: { query: '{ __typename }', variables: [1] }, status: 400, code: 'BAD_REQUEST' },
  { name: 'GET with variables that are not JSON', method: 'GET', params: { query: '{ __typename }', variables: 'x' }, status: 400, code: 'BAD_REQUEST' },
  { name: 'extensions as a string', body: { query: '{ __typename }', extensions: '{}' }, status: 400, code: 'BAD_REQUEST' },
  { name: 'a batch (an array of requests)', body: [{ query: '{ __typename }' }], status: 400, code: 'BAD_REQUEST' },
  { name: 'a JSON body that is not an object', body: 'x', status: 400, code: 'BAD_REQUEST' },
  {
    name: 'a persisted-query hash that does not match its query',
    body: { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab' } } },
    status: 400,
    code: 'BAD_REQUEST',
    says: /sha does not match/,
  },
  {
    name: 'an unsupported persisted-query version',
    body: { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'ab' } } },
    status: 400,
    code: 'BAD_REQUEST',
    says: /Unsupported persisted query version/,
  },
  {
    name: 'a persisted query given as a string',
    body: { query: '{ __typename }', extensions: { persistedQuery: 'ab' } },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    // Automatic persisted queries: the client sends the query next; a 200 is the protocol's answer.
    name: 'a persisted-query hash the server has not seen',
    body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } },
    status: 200,
    code: 'PERSISTED_QUERY_NOT_FOUND',
  },
  // text/event-stream is GraphQL over SSE, for subscriptions only (src/live/transports.ts).
  { name: 'an Accept that allows no JSON', body: { query: '{ __typename }' }, headers: { accept: 'text/event-stream' }, status: 406, code: 'BAD_REQUEST', says: /subscriptions only/ },
  { name: 'PUT', method: 'PUT', body: { query: '{ __typename }' }, status: 405, code: 'BAD_REQUEST' },
];

const PRODUCTION_ONLY: Shape[] = [
  { name: 'introspection (off in production)', body: { query: '{ __schema { queryType { name } } }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
];

async function send(h: Harness, shape: Shape): Promise<{ status: number; body: any }> {
  const method = shape.method ?? 'POST';
  // The GraphQL-over-HTTP media type: a request error is a 400 there whatever legacy clients get.
  const headers = { accept: 'application/graphql-response+json, application/json;q=0.9', ...shape.headers };
  const url = method === 'GET' ? `${h.server.url}?${new URLSearchParams(shape.params)}` : h.server.url;
  const response = await fetch(url, {
    method,
    headers: method === 'GET' ? headers : { 'content-type': 'application/json', ...headers },
    body: method === 'GET' ? undefined : JSON.stringify(shape.body),
  });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) };
}

describe.each([
  ['development', { NODE_ENV: 'test' }, SHAPES],
  ['production', { NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true' }, [...SHAPES, ...PRODUCTION_ONLY]],
])('requests the schema cannot run (%s)', (_mode, env, shapes) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env });
  });
  afterAll(() => h.stop());

  it.each(shapes.map((s) => [s.name, s] as const))('%s: a coded client error, no error log, nothing asked upstream', async (_name, shape) => {
    h.logs.length = 0;
    h.resetCounters();
    for (let i = 0; i < 2; i++) {
      const { status, body } = await send(h, shape);
      expect({ status, codes: body.errors?.map((e: { extensions?: { code?: string } }) => e.extensions?.code) }).toEqual({ status: shape.status, codes: [shape.code] });
      expect(body.data ?? null).toBeNull();
      expect(body.errors[0].message).not.toMatch(/Internal server error/);
      if (shape.says) expect(body.errors[0].message).toMatch(shape.says);
    }
    expect(h.logs.filter((line) => JSON.parse(line).level >= 50)).toEqual([]);
    expect(h.upstreamCount()).toBe(0);
  });
});
