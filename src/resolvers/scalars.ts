import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

// ISO 8601 with a time zone; dates without one are ambiguous and refused.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

function parseInstant(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) {
    throw new GraphQLError(
      `DateTime must be an ISO 8601 instant with a time zone, e.g. "2024-12-25T10:00:00Z"; got ${JSON.stringify(value)?.slice(0, 60)}`,
      { extensions: { code: 'BAD_USER_INPUT' } },
    );
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime ${JSON.stringify(value)} is not a real instant`, {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return parseInstant(value).toISOString();
    throw new TypeError('DateTime cannot represent a non-date value');
  },
  parseValue: parseInstant,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseInstant(ast.value);
  },
});

function literal(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literal(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      return undefined;
  }
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literal,
});
