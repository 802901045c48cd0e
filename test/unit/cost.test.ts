/**
 * The cost estimate (src/security/cost.ts) over Switchboard's own schema, pinned to Apollo Router's
 * static algorithm: objects 1, scalars and enums 0, lists times their @listSize, @cost weights in
 * place of the type's, input objects in arguments 1. The same numbers whether `first` is written
 * inline, sent as a variable or left to a variable's default.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OperationDefinitionNode, Kind, parse } from 'graphql';
import { createSchema } from '../../src/schema.js';
import { CostEstimator, DEFAULT_LIST_SIZE } from '../../src/security/cost.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const estimator = new CostEstimator(createSchema());

function cost(query: string, variables: Record<string, unknown> = {}): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return estimator.estimate(document, operation, variables);
}

/** What one Call of each selection costs: the Call 1, objects 1, detail fields 5 each. */
const CALL = 'id provider status startedAt';
const DETAIL = 'recordings { url } transcript { url } inputParameters outputParameters billedDurationSeconds';

it("gives the README's example query 27, as docs/operations.md works it out", () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const example = /```graphql\n([\s\S]*?)```/.exec(readme)![1]!;
  expect(example).toMatch(/query LatestCompletedCalls/);
  // calls 5 + filter 1 + 4 edges × (edge 1 + node 1 + from 1 + to 1 + cost 1) + pageInfo 1
  expect(cost(example)).toBe(27);
  expect(readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8')).toMatch(/= 27\b/);
});

describe('first/last: literal, variable and variable default give the same estimate', () => {
  it.each([0, 1, 20, 70, 100])('first = last = %i', (n) => {
    const literal = cost(`{ calls(first: ${n}) { nodes { ${CALL} } } }`);
    expect(literal).toBe(5 + n);
    expect(cost(`query($n: Int) { calls(first: $n) { nodes { ${CALL} } } }`, { n })).toBe(literal);
    expect(cost(`query($n: Int!) { calls(first: $n) { nodes { ${CALL} } } }`, { n })).toBe(literal);
    expect(cost(`query($n: Int = ${n}) { calls(first: $n) { nodes { ${CALL} } } }`)).toBe(literal);
    expect(cost(`{ calls(last: ${n}) { nodes { ${CALL} } } }`)).toBe(literal);
    expect(cost(`query($n: Int) { calls(last: $n) { nodes { ${CALL} } } }`, { n })).toBe(literal);
  });

  it('a variable sent overrides its default, and a page without first/last counts the default page of 20', () => {
    expect(cost(`query($n: Int = 5) { calls(first: $n) { nodes { id } } }`, { n: 90 })).toBe(5 + 90);
    expect(cost(`{ calls { nodes { id } } }`)).toBe(5 + 20);
    expect(cost(`query($n: Int) { calls(first: $n) { nodes { id } } }`)).toBe(5 + 20);
    expect(cost(`{ calls(first: null) { nodes { id } } }`)).toBe(5 + 20);
  });

  it('sizes edges and nodes (and only them) by the page', () => {
    expect(cost(`{ calls(first: 50) { edges { cursor node { id } } } }`)).toBe(5 + 50 * 2);
    expect(cost(`{ calls(first: 50) { edges { node { id } } nodes { id } pageInfo { hasNextPage } totalCount } }`)).toBe(5 + 100 + 50 + 1);
  });
});

it('weighs each detail field 5 per call, in place of its type', () => {
  expect(cost(`{ calls(first: 10) { nodes { ${CALL} ${DETAIL} } } }`)).toBe(5 + 10 * (1 + 5 * 5));
  expect(cost(`{ calls(first: 10) { nodes { from { phoneNumber } to { phoneNumber } cost { amount } } } }`)).toBe(5 + 10 * 4);
  // The largest page a client can ask for, every field once: well under the default limit of 5000.
  expect(cost(`{ calls(first: 100) { edges { cursor node { ${CALL} from { phoneNumber } to { phoneNumber } cost { amount } ${DETAIL} } } pageInfo { endCursor } } }`)).toBe(5 + 100 * (1 + 29) + 1);
});

it('weighs look-ups 5 each: call, node, and nodes at its assumed 100 ids; _entities at the default list size', () => {
  expect(cost(`{ call(id: "x") { ${CALL} } }`)).toBe(5);
  expect(cost(`{ node(id: "x") { id ... on Call { transcript { url } } } }`)).toBe(5 + 5);
  expect(cost(`{ nodes(ids: ["a", "b"]) { id } }`)).toBe(100 * 5);
  expect(cost(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id transcript { url } } } }`, { r: [{}, {}] })).toBe(DEFAULT_LIST_SIZE * (1 + 5));
});

it('counts an input object argument 1, written inline or sent as a variable', () => {
  const inline = cost(`{ calls(first: 10, filter: { statuses: [COMPLETED], phoneNumber: "+1" }) { nodes { id } } }`);
  expect(inline).toBe(5 + 10 + 1);
  expect(cost(`query($f: CallFilter) { calls(first: 10, filter: $f) { nodes { id } } }`, { f: { statuses: ['COMPLETED'], phoneNumber: '+1' } })).toBe(inline);
  expect(cost(`query($f: CallFilter) { calls(first: 10, filter: $f) { nodes { id } } }`, { f: null })).toBe(5 + 10);
  expect(cost(`{ calls(first: 10, filter: { statuses: [COMPLETED] }, after: "c") { nodes { id } } }`)).toBe(inline);
});

it('expands fragments, skips literal @skip/@include, and leaves __typename and introspection free', () => {
  const plain = cost(`{ calls(first: 3) { nodes { id transcript { url } } } }`);
  expect(cost(`{ calls(first: 3) { ...Page } } fragment Page on CallConnection { nodes { ...C } } fragment C on Call { id transcript { url } }`)).toBe(plain);
  expect(cost(`{ calls(first: 3) { ... on CallConnection { nodes { id ... on Call { transcript { url } } } } } }`)).toBe(plain);
  expect(cost(`{ calls(first: 3) { nodes { id transcript @skip(if: true) { url } } } }`)).toBe(5 + 3);
  expect(cost(`{ calls(first: 3) { nodes { id transcript @include(if: false) { url } } } }`)).toBe(5 + 3);
  // A variable condition is not evaluated (as in the router): the field counts.
  expect(cost(`query($d: Boolean!) { calls(first: 3) { nodes { id transcript @include(if: $d) { url } } } }`, { d: false })).toBe(plain);
  expect(cost(`{ __typename calls(first: 3) { __typename nodes { __typename id transcript { url } } } }`)).toBe(plain);
  expect(cost(`{ __schema { types { name fields { name } } } }`)).toBe(0);
});
