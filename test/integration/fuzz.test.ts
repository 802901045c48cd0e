/**
 * Property: whatever arrives over HTTP — garbage, near-valid documents, random variables, garbled
 * cursors and ids — Switchboard answers below 500 and never with a stack trace.
 */
import fc from 'fast-check';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { newCanary, startCanarySimulators } from '../helpers/resilience.js';

let h: Harness;
let realCursor = '';
let realId = '';
beforeAll(async () => {
  h = await startHarness({ sims: () => startCanarySimulators(newCanary(), 15) });
  const page = await h.gql('{ calls(first: 3) { edges { cursor node { id } } } }');
  realCursor = page.body.data.calls.edges[1].cursor;
  realId = page.body.data.calls.edges[1].node.id;
});
afterAll(() => h.stop());

const FIELDS = ['id', 'provider', 'connection', 'status', 'startedAt', 'cost { amount currency }', 'from { phoneNumber }', 'recordings { url }', 'totalCount', 'nodes { id }', 'edges { cursor }', 'pageInfo { hasNextPage endCursor }', '__typename', 'bogus', '...on Call { id }'];
const ROOTS = ['calls', 'call', 'node', 'nodes', '_entities', '_service', '__schema', 'nope'];
const ARGS = ['first: $a', 'after: $b', 'last: $a', 'before: $b', 'id: $b', 'ids: [$b]', 'filter: $c', 'first: 5', 'first: -3', 'first: 1000', 'filter: { providers: [TWENTY2] }', 'representations: $c', 'filter: { phoneNumber: $b }', ''];

/** A cursor or id with a few characters changed, cut short or extended. */
const garbled = (base: () => string) =>
  fc.oneof(
    fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => {
      const b = base();
      const at = i % Math.max(1, b.length);
      return b.slice(0, at) + s + b.slice(at + s.length);
    }),
    fc.nat().map((n) => base().slice(0, n % Math.max(1, base().length))),
    fc.string().map((s) => base() + s),
    fc.string(),
    fc.base64String(),
  );

const variables = fc.record(
  {
    a: fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.double()),
    b: fc.oneof(garbled(() => realCursor), garbled(() => realId), fc.string(), fc.integer()),
    c: fc.oneof(
      fc.jsonValue(),
      fc.record({ providers: fc.array(fc.constantFrom('TWENTY2', 'UNPOD', 'X')), startedAfter: fc.string(), phoneNumber: fc.string() }, { requiredKeys: [] }),
      fc.array(fc.record({ __typename: fc.constantFrom('Call', 'Nope'), id: garbled(() => realId) })),
    ),
  },
  { requiredKeys: [] },
);

const nearValid = fc
  .tuple(fc.constantFrom(...ROOTS), fc.subarray(ARGS, { maxLength: 3 }), fc.subarray(FIELDS, { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([root, args, fields, declare]) => {
    const header = declare ? 'query Q($a: Int, $b: String, $c: CallFilter)' : 'query';
    const argList = args.filter(Boolean).join(', ');
    return `${header} { ${root}${argList ? `(${argList})` : ''} { ${fields.join(' ')} } }`;
  });

const document = fc.oneof(
  { weight: 3, arbitrary: nearValid },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: nearValid.chain((d) => fc.nat(d.length).map((n) => d.slice(0, n))) },
  { weight: 1, arbitrary: fc.stringMatching(/^[{}()[\]$:!@#"a-z0-9 .,]{0,120}$/) },
);

/** Valid documents whose variables carry the garbage: answered 200, with errors where due. */
const VALID = [
  'query Q($a: Int, $b: String) { calls(first: $a, after: $b) { nodes { id provider } pageInfo { endCursor } } }',
  'query Q($a: Int, $b: String) { calls(last: $a, before: $b) { edges { cursor } totalCount } }',
  'query Q($b: ID!) { call(id: $b) { id status } node(id: $b) { id } nodes(ids: [$b, $b]) { id } }',
  'query Q($c: [_Any!]!) { _entities(representations: $c) { ... on Call { id } } }',
];
const validRequest = fc.record({
  query: fc.constantFrom(...VALID),
  variables: fc.record({
    a: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.constant(null)),
    b: fc.oneof(garbled(() => realCursor), garbled(() => realId), fc.constant(realCursor), fc.constant(realId)),
    c: fc.array(fc.record({ __typename: fc.constantFrom('Call', 'Nope'), id: garbled(() => realId) }), { maxLength: 3 }),
  }),
  method: fc.constantFrom('POST', 'GET'),
  operationName: fc.constant('Q'),
});

const randomRequest = fc.record({
  query: document,
  variables: fc.oneof(variables, fc.jsonValue()),
  method: fc.constantFrom('POST', 'POST', 'GET'),
  operationName: fc.option(fc.constantFrom('Q', 'Nope', ''), { nil: undefined }),
});

const request = fc.oneof(randomRequest, validRequest);

it('never answers 5xx nor shows a stack trace, whatever the request', async () => {
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      let res: Response;
      if (r.method === 'GET') {
        const params = new URLSearchParams({ query: r.query, variables: JSON.stringify(r.variables) });
        if (r.operationName !== undefined) params.set('operationName', r.operationName);
        res = await fetch(`${h.server.url}?${params}`);
      } else {
        res = await fetch(h.server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: r.query, variables: r.variables, operationName: r.operationName }),
        });
      }
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status).toBeLessThan(500);
      expect(text).not.toMatch(/stacktrace|\n\s+at |\s{4}at \S+ \(|INTERNAL_SERVER_ERROR/);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 150) },
  );
  // Both answers and refusals were exercised.
  expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
});
