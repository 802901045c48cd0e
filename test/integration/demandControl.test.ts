/**
 * Demand control as a supergraph sees it and as Switchboard enforces it alone: the @cost/@listSize
 * directives in `_service { sdl }` survive composition (@apollo/composition, as rover runs it) and
 * give the same estimate over the supergraph as over the subgraph; over HTTP, `first` written
 * inline or sent as a variable is counted the same, ordinary pages pass the default limit, and an
 * operation over the limit is refused before any upstream request with the router's code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { composeServices } from '@apollo/composition';
import { type GraphQLSchema, type OperationDefinitionNode, Kind, buildSchema, parse } from 'graphql';
import { EXAMPLE_QUERY } from '../../src/graphiql.js';
import { createSchema } from '../../src/schema.js';
import { CostEstimator } from '../../src/security/cost.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README_QUERY = /```graphql\n([\s\S]*?)```/.exec(readFileSync(path.join(ROOT, 'README.md'), 'utf8'))![1]!;
const EVERY_FIELD = `id provider connection providerCallId direction status providerStatus startedAt answeredAt endedAt
  durationSeconds billedDurationSeconds endReason agentId inputParameters outputParameters
  from { phoneNumber rawPhoneNumber displayName countryCode isStaff } to { phoneNumber } cost { amount currency }
  recordings { url expiresAt } transcript { url expiresAt }`;
const inline = (n: number, fields = EVERY_FIELD) => `query Inline { calls(first: ${n}) { edges { cursor node { ${fields} } } pageInfo { hasNextPage } } }`;
const variable = (fields = EVERY_FIELD) => `query Variable($n: Int) { calls(first: $n) { edges { cursor node { ${fields} } } pageInfo { hasNextPage } } }`;

function estimate(schema: GraphQLSchema, query: string, variables: Record<string, unknown> = {}): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return new CostEstimator(schema).estimate(document, operation, variables);
}

describe('in a supergraph', () => {
  let h: Harness;
  let sdl: string;
  beforeAll(async () => {
    h = await startHarness();
    const service = await h.gql('{ _service { sdl } }');
    expect(service.body.errors).toBeUndefined();
    sdl = service.body.data._service.sdl;
  });
  afterAll(() => h.stop());

  it('declares its costs in _service { sdl } with the cost spec and Federation 2.9', () => {
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.9"');
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@cost", "@listSize"])');
    expect(sdl).toMatch(/calls\([\s\S]*?\): CallConnection!\s*@cost\(weight: 5\)\s*@listSize\(assumedSize: 20, slicingArguments: \["first", "last"\], sizedFields: \["edges", "nodes"\], requireOneSlicingArgument: false\)/);
    expect(sdl).toMatch(/nodes\([\s\S]*?\): \[Node\]! @cost\(weight: 5\) @listSize\(assumedSize: 100\)/);
    for (const field of ['recordings: [MediaLink!]! @cost(weight: 5) @listSize(assumedSize: 1)', 'transcript: MediaLink @cost(weight: 5)', 'inputParameters: JSON @cost(weight: 5)', 'outputParameters: JSON @cost(weight: 5)', 'billedDurationSeconds: Int @cost(weight: 5)']) {
      expect(sdl).toContain(field);
    }
  });

  it('keeps the directives through composition, and the supergraph estimates as Switchboard does', () => {
    const composed = composeServices([{ name: 'switchboard', url: h.server.url, typeDefs: parse(sdl) }]);
    expect(composed.errors ?? []).toEqual([]);
    const supergraphSdl = composed.supergraphSdl!;
    expect(supergraphSdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/cost\/v0\.1"/);
    expect(supergraphSdl).toMatch(/@listSize\(assumedSize: 20, slicingArguments: \["first", "last"\], sizedFields: \["edges", "nodes"\], requireOneSlicingArgument: false\)/);
    expect(supergraphSdl).toContain('transcript: MediaLink @cost(weight: 5)');

    const supergraph = buildSchema(supergraphSdl);
    const subgraph = createSchema();
    const queries: Array<[string, Record<string, unknown>?]> = [
      [README_QUERY],
      [EXAMPLE_QUERY],
      [inline(70)],
      [variable(), { n: 70 }],
      ['{ calls { nodes { id } } }'],
      ['query($f: CallFilter) { calls(last: 30, filter: $f) { nodes { id transcript { url } } } }', { f: { providers: ['UNPOD'] } }],
      ['{ call(id: "x") { id recordings { url } } node(id: "y") { id } nodes(ids: ["z"]) { id ... on Call { billedDurationSeconds } } }'],
    ];
    for (const [query, variables] of queries) {
      const expected = estimate(subgraph, query, variables);
      expect({ query, cost: estimate(supergraph, query, variables) }).toEqual({ query, cost: expected });
    }
    expect(estimate(supergraph, README_QUERY)).toBe(27);
  });
});

describe('standalone, at the default limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());

  it("passes the README's example query and GraphiQL's", async () => {
    for (const query of [README_QUERY, EXAMPLE_QUERY]) {
      const res = await h.gql(query);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
    }
  });

  it('passes a page of 70 with every field, first inline or as a variable (refused inline at 5403 by the old estimate)', async () => {
    const literal = await h.gql(inline(70));
    const sent = await h.gql(variable(), { n: 70 });
    for (const res of [literal, sent]) {
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.calls.edges).toHaveLength(70);
    }
  });
});

describe('standalone, over the limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { SWITCHBOARD_MAX_QUERY_COST: '500' } });
  });
  afterAll(() => h.stop());
  beforeEach(() => h.resetCounters());

  const LIGHT = 'id transcript { url }'; // 1 + 5 per call, + 1 per edge: 5 + 7n + pageInfo 1

  it('refuses first: 100 the same way inline, as a variable and as a variable default, before any upstream request', async () => {
    const refusals = [
      await h.gql(inline(100, LIGHT)),
      await h.gql(variable(LIGHT), { n: 100 }),
      await h.gql(`query Default($n: Int = 100) { calls(first: $n) { edges { cursor node { ${LIGHT} } } pageInfo { hasNextPage } } }`),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(400);
      expect(res.body.data).toBeUndefined();
      expect(res.body.errors).toEqual([
        {
          message: 'Estimated query cost 706 is over the limit of 500: ask for fewer calls (first/last) or fewer fields',
          extensions: { code: 'COST_ESTIMATED_TOO_EXPENSIVE', 'cost.estimated': 706, 'cost.max': 500 },
        },
      ]);
      expect(res.text).not.toMatch(/Syntax Error/);
    }
    expect(h.upstreamCount()).toBe(0);
  });

  it('passes first: 70 (496) inline and as a variable, with the same calls', async () => {
    const literal = await h.gql(inline(70, LIGHT));
    const sent = await h.gql(variable(LIGHT), { n: 70 });
    expect(literal.body.errors).toBeUndefined();
    expect(sent.body.errors).toBeUndefined();
    const ids = (res: typeof sent) => res.body.data.calls.edges.map((edge: { node: { id: string } }) => edge.node.id);
    expect(ids(literal)).toHaveLength(70);
    expect(ids(sent)).toEqual(ids(literal));
  });

  it('counts aliases: each aliased page adds its own cost', async () => {
    const res = await h.gql(`{ ${Array.from({ length: 5 }, (_, i) => `p${i}: calls(first: 100) { nodes { id } }`).join(' ')} }`);
    expect(res.body.errors![0]!.extensions).toEqual({ code: 'COST_ESTIMATED_TOO_EXPENSIVE', 'cost.estimated': 525, 'cost.max': 500 });
    expect(h.upstreamCount()).toBe(0);
  });
});
