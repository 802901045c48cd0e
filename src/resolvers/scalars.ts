import { ErrorCode } from '../errors.js';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isoInstantProblem, parseIsoInstant } from '../time.js';

/**
 * A client's DateTime: an RFC 3339 date-time with an offset (src/time.ts has the forms accepted);
 * a value without one is ambiguous and refused, as is a day or time that does not exist.
 */
function parseInstant(value: unknown): Date {
  const date = typeof value === 'string' ? parseIsoInstant(value) : null;
  if (date) return date;
  const problem =
    typeof value === 'string'
      ? isoInstantProblem(value)
      : 'must be a string such as "2024-12-25T10:00:00Z"';
  throw new GraphQLError(`DateTime ${JSON.stringify(value)?.slice(0, 60) ?? String(value)} ${problem}`, {
    extensions: { code: ErrorCode.BadUserInput },
  });
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
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { extensions: { code: ErrorCode.BadUserInput } });
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
