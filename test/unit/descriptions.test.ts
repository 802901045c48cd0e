/**
 * Every type, field, argument, enum value and input field of the SDL (schema/*.graphql) carries a
 * description: GraphiQL's docs explorer and codegen'd clients show them. Descriptions are Markdown
 * there, so a line break inside a paragraph shows mid-sentence: paragraphs are written on one line.
 * Federation's and GraphQL's own definitions are left out: the project does not write them.
 */
import {
  type GraphQLSchema,
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  isUnionType,
} from 'graphql';
import { createSchema } from '../../src/schema.js';

// Added by buildSubgraphSchema, not written in schema/.
const FEDERATION_TYPES = new Set(['_Service', '_Entity', '_Any', 'FieldSet', '_FieldSet']);
const FEDERATION_FIELDS = new Set(['Query._service', 'Query._entities']);
const isFederationType = (name: string) =>
  FEDERATION_TYPES.has(name) || name.startsWith('link__') || name.startsWith('federation__');

/** Each schema coordinate ("Type.field(arg:)") the project writes, with its description. */
function descriptions(schema: GraphQLSchema): Array<[coordinate: string, description: string | null | undefined]> {
  const all: Array<[string, string | null | undefined]> = [];
  const check = (coordinate: string, description: string | null | undefined) => {
    all.push([coordinate, description]);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type) || isFederationType(type.name)) continue;
    check(type.name, type.description);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        if (FEDERATION_FIELDS.has(coordinate)) continue;
        check(coordinate, field.description);
        for (const arg of field.args) check(`${coordinate}(${arg.name}:)`, arg.description);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) check(`${type.name}.${field.name}`, field.description);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) check(`${type.name}.${value.name}`, value.description);
    } else if (isUnionType(type)) {
      // Members are types, checked on their own.
    }
  }
  return all;
}

/** The schema coordinates that lack a description. */
export function undescribed(schema: GraphQLSchema): string[] {
  return descriptions(schema)
    .filter(([, description]) => !description?.trim())
    .map(([coordinate]) => coordinate)
    .sort();
}

/** The schema coordinates whose description breaks a line inside a paragraph (paragraphs are separated by a blank line). */
export function hardWrapped(schema: GraphQLSchema): string[] {
  return descriptions(schema)
    .filter(([, description]) => (description ?? '').split('\n\n').some((paragraph) => paragraph.includes('\n')))
    .map(([coordinate]) => coordinate)
    .sort();
}

describe('schema descriptions', () => {
  test('every type, field, argument, enum value and input field in schema/*.graphql is described', () => {
    const schema = createSchema();
    // The check covers the project's own types (not a vacuous pass over an empty list).
    for (const name of ['Call', 'CallConnection', 'CallFilter', 'CallStatus', 'Provider', 'Query', 'DateTime']) {
      expect(schema.getType(name)).toBeDefined();
    }
    expect(undescribed(schema)).toEqual([]);
  });

  test('no description breaks a line inside a paragraph (GraphiQL would show the break mid-sentence)', () => {
    expect(hardWrapped(createSchema())).toEqual([]);
  });

  test('the hard-wrap check names each coordinate with a line break inside a paragraph', () => {
    const schema = buildSchema(`
      """
      Wrapped
      here.

      A second paragraph.
      """
      type Query { "One paragraph.\\n\\nAnother." ok: Int "Broken\\nline." broken: Int }
    `);
    expect(hardWrapped(schema)).toEqual(['Query', 'Query.broken']);
  });

  test('the check names each undescribed coordinate', () => {
    const schema = buildSchema(`
      "Described." type Query { bare(arg: Int): Int "ok" ok: Int }
      enum Colour { RED "ok" BLUE }
      input Where { x: Int }
      scalar Instant
    `);
    expect(undescribed(schema)).toEqual(['Colour', 'Colour.RED', 'Instant', 'Query.bare', 'Query.bare(arg:)', 'Where', 'Where.x']);
  });
});
