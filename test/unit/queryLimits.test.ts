/**
 * The selection count (SWITCHBOARD_MAX_SELECTIONS) that queries and subscriptions share: fields,
 * inline fragments and fragment spreads, with each spread counting its fragment's selections again,
 * as Apollo Server's maxRecursiveSelections counts them.
 */
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { maxSelectionsRule } from '../../src/security/queryLimits.js';

const schema = buildSchema('type Query { a: A } type A { x: Int y: Int a: A }');
const errors = (max: number, document: string) => validate(schema, parse(document), [maxSelectionsRule(max)]).map((e) => e.message);

describe('maxSelectionsRule', () => {
  it('counts fields, inline fragments and spreads, each spread with its fragment expanded', () => {
    // a, x, y = 3; ... on A, x = 2; ...F (1) + F's x, y (2) = 3: 8 in all.
    const document = 'query Q { a { x y ... on A { x } ...F } } fragment F on A { x y }';
    expect(errors(8, document)).toEqual([]);
    expect(errors(7, document)).toEqual(['Operation "Q" recursively requests too many selections.']);
  });

  it('stops a fragment bomb: 2^n selections from n lines', () => {
    const fragments = ['fragment F0 on A { x }'];
    for (let i = 1; i <= 20; i++) fragments.push(`fragment F${i} on A { ...F${i - 1} ...F${i - 1} }`);
    expect(errors(10_000, `{ a { ...F20 } } ${fragments.join(' ')}`)).toEqual(['Anonymous operation recursively requests too many selections.']);
  });

  it('names each operation over the limit, and leaves a fragment cycle to graphql-js', () => {
    expect(errors(2, 'query A { a { x y } } query B { a { x } }')).toEqual(['Operation "A" recursively requests too many selections.']);
    const cycle = '{ a { ...F } } fragment F on A { a { ...G } } fragment G on A { a { ...F } }';
    expect(errors(100, cycle)).toEqual([]);
    expect(validate(schema, parse(cycle), specifiedRules).some((e) => /Cannot spread fragment "F" within itself/.test(e.message))).toBe(true);
  });
});
