/**
 * `_entities` representations over real HTTP: every representation that is not
 * `{ "__typename": "Call", "id": <a Call.id> }` is that item's BAD_USER_INPUT error (its entity
 * null) decided before any look-up, never an internal error or an error log line; the well-formed
 * ones of the same list are still looked up, as one batch, and come back in their places. Each
 * document is sent twice, so both graphql-js and the compiled path (src/execution.ts) answer it.
 */
import { newCanary, startCanarySimulators } from '../helpers/resilience.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Call { id provider } } }';

let h: Harness;
let good: { id: string; provider: string }[];

beforeAll(async () => {
  h = await startHarness({ sims: () => startCanarySimulators(newCanary(), 30) });
  const page = await h.gql('{ calls(first: 30, filter: { providers: [TALKSTACK] }) { nodes { id provider } } }');
  expect(page.body.errors).toBeUndefined();
  good = page.body.data.calls.nodes.slice(0, 2);
});
afterAll(() => h.stop());
beforeEach(() => {
  h.resetCounters();
  h.batches.length = 0;
  h.logs.length = 0;
});

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
const errorLogs = () => h.logs.filter((line) => JSON.parse(line).level >= 50);

/** Sends the request twice (graphql-js, then compiled) and answers the first, after checking the second is the same. */
async function twice(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse> {
  const first = await h.gql(query, variables, headers);
  const second = await h.gql(query, variables, headers);
  expect({ status: second.status, body: second.body }).toEqual({ status: first.status, body: first.body });
  return first;
}

const otherProviderId = () =>
  Buffer.from(JSON.stringify(['Call', 'NOPE', 'default', 'x', Date.parse('2026-11-01T00:00:00Z')])).toString('base64url');

/** Each malformed representation and the argument its error must name (`#` is its index). */
const MALFORMED: [string, unknown, string][] = [
  ['a value type (CallParty)', () => ({ __typename: 'CallParty', id: good[0]!.id }), '#.__typename'],
  ['another value type', () => ({ __typename: 'Money', id: good[0]!.id }), '#.__typename'],
  ['the Node interface', () => ({ __typename: 'Node', id: good[0]!.id }), '#.__typename'],
  ['the Query type', () => ({ __typename: 'Query', id: good[0]!.id }), '#.__typename'],
  ['a federation type', () => ({ __typename: '_Service', id: good[0]!.id }), '#.__typename'],
  ['a scalar', () => ({ __typename: 'String', id: good[0]!.id }), '#.__typename'],
  ['an unknown type', () => ({ __typename: 'Nope', id: good[0]!.id }), '#.__typename'],
  ['the entity in the wrong case', () => ({ __typename: 'call', id: good[0]!.id }), '#.__typename'],
  ['no __typename', () => ({ id: good[0]!.id }), '#.__typename'],
  ['a __typename that is not a string', () => ({ __typename: ['Call'], id: good[0]!.id }), '#.__typename'],
  ['no id', () => ({ __typename: 'Call' }), '#.id'],
  ['a null id', () => ({ __typename: 'Call', id: null }), '#.id'],
  ['a numeric id', () => ({ __typename: 'Call', id: 42 }), '#.id'],
  ['an object id', () => ({ __typename: 'Call', id: { id: good[0]!.id } }), '#.id'],
  ['an empty id', () => ({ __typename: 'Call', id: '' }), '#.id'],
  ['an id Switchboard did not issue', () => ({ __typename: 'Call', id: 'not-an-id' }), '#.id'],
  ['a well-encoded id of an unknown provider', () => ({ __typename: 'Call', id: otherProviderId() }), '#.id'],
  ['an extra key', () => ({ __typename: 'Call', id: good[0]!.id, provider: 'TALKSTACK' }), '#.provider'],
  ['a string', () => 'Call', '#'],
  ['a number', () => 7, '#'],
  ['an array', () => [{ __typename: 'Call', id: good[0]!.id }], '#'],
];

describe('_entities representations', () => {
  it('the named case: a CallParty representation is BAD_USER_INPUT, with no error log and no look-up', async () => {
    const res = await twice(`{ _entities(representations: [{ __typename: "CallParty", id: "${good[0]!.id}" }]) { __typename } }`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: { _entities: [null] },
      errors: [
        {
          message: expect.stringMatching(/^Argument "representations\[0\]\.__typename": is not an entity of this subgraph: the only entity is "Call"$/),
          locations: expect.any(Array),
          path: ['_entities', 0],
          extensions: { code: 'BAD_USER_INPUT', argument: 'representations[0].__typename' },
        },
      ],
    });
    expect(h.upstreamCount()).toBe(0);
    expect(errorLogs()).toEqual([]);
  });

  it.each(MALFORMED)('%s: that item alone is BAD_USER_INPUT, the Calls beside it come back', async (_name, make, argument) => {
    const representation = (make as () => unknown)();
    const r = [{ __typename: 'Call', id: good[0]!.id }, representation, { __typename: 'Call', id: good[1]!.id }];
    const res = await twice(ENTITIES, { r });
    expect(res.status).toBe(200);
    expect(res.body.data!._entities).toEqual([{ __typename: 'Call', ...good[0] }, null, { __typename: 'Call', ...good[1] }]);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: ['_entities', 1], extensions: { code: 'BAD_USER_INPUT', argument: argument.replace('#', 'representations[1]') } }),
    ]);
    expect(errorLogs()).toEqual([]);
    // The two Calls were one look-up batch (once per request); the malformed one asked nothing.
    expect(h.batches).toEqual([
      { connection: 'talkstack/default', kind: 'call', size: 2 },
      { connection: 'talkstack/default', kind: 'call', size: 2 },
    ]);
    expect(h.sims.talkstack.server.count()).toBe(4);
  });

  it('a list of only malformed representations: one error each, in place, and no upstream request', async () => {
    const r = MALFORMED.map(([, make]) => (make as () => unknown)());
    const res = await twice(ENTITIES, { r });
    expect(res.body.data!._entities).toEqual(r.map(() => null));
    expect(res.body.errors!.map((e) => [e.path, e.extensions])).toEqual(
      MALFORMED.map(([, , argument], i) => [['_entities', i], { code: 'BAD_USER_INPUT', argument: argument.replace('#', `representations[${i}]`) }]),
    );
    expect(h.upstreamCount()).toBe(0);
    expect(h.batches).toEqual([]);
    expect(errorLogs()).toEqual([]);
  });

  it('an empty list answers an empty list, asking nothing', async () => {
    const res = await twice(ENTITIES, { r: [] });
    expect(res.body).toEqual({ data: { _entities: [] } });
    expect(h.upstreamCount()).toBe(0);
  });

  it('the same Call twice is looked up once and answered twice', async () => {
    const r = [{ __typename: 'Call', id: good[0]!.id }, { __typename: 'Call', id: good[0]!.id }];
    const res = await h.gql(ENTITIES, { r });
    expect(res.body).toEqual({ data: { _entities: [{ __typename: 'Call', ...good[0] }, { __typename: 'Call', ...good[0] }] } });
    expect(h.sims.talkstack.server.count()).toBe(1);
  });

  it.each([
    ['a null item', ENTITIES, { r: [null] }, 'BAD_USER_INPUT'],
    ['a null list', ENTITIES, { r: null }, 'BAD_USER_INPUT'],
    ['no list', ENTITIES, {}, 'BAD_USER_INPUT'],
    ['a null item written in the document', '{ _entities(representations: [null]) { __typename } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
    ['no argument', '{ _entities { __typename } }', undefined, 'GRAPHQL_VALIDATION_FAILED'],
  ])('%s is refused before execution, with no error log', async (_name, query, variables, code) => {
    // The GraphQL-over-HTTP media type, for which a request error is a 400 whatever legacy clients get.
    const res = await twice(query, variables, { accept: 'application/graphql-response+json' });
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(res.body.errors![0]!.extensions).toEqual({ code });
    expect(h.upstreamCount()).toBe(0);
    expect(errorLogs()).toEqual([]);
  });
});
