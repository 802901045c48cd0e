/**
 * A guard in front of federation's `_entities`. @apollo/subgraph accepts any `__typename` naming an
 * object or interface type: for one that is not an entity (`CallParty`, `Query`, `Node`) it returns
 * the representation itself, which then fails as an internal error, and at an unknown one it throws
 * a plain Error after starting the look-ups of the representations before it. Here each
 * representation is checked first, and one that is not `{ "__typename": "Call", "id": <a Call.id> }`
 * is that item's BAD_USER_INPUT error (its entity `null`) before any look-up starts. The well-formed
 * ones are looked up together, as one batch, and come back in their places.
 */
import { type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { decodeCallId } from '../calls/ids.js';
import { BadInputError } from '../errors.js';

/** The one entity of this subgraph and its key (schema/call.graphql: `@key(fields: "id")`). */
const ENTITY = 'Call';
const KEYS = new Set(['__typename', 'id']);

/**
 * Why `reference`, the representation at `index`, cannot name a Call, or null when it can. Checks
 * the shape a router sends for this subgraph: exactly `__typename` and the key field `id`.
 */
export function representationError(reference: unknown, index: number): BadInputError | null {
  const at = `representations[${index}]`;
  if (typeof reference !== 'object' || reference === null || Array.isArray(reference)) {
    return new BadInputError(at, `expected an object { "__typename": "${ENTITY}", "id": <a Call.id> }`);
  }
  const { __typename: typename, id } = reference as Record<string, unknown>;
  if (typename !== ENTITY) {
    const what = typeof typename === 'string' ? 'is not an entity of this subgraph' : 'is missing or not a string';
    return new BadInputError(`${at}.__typename`, `${what}: the only entity is "${ENTITY}"`);
  }
  const extra = Object.keys(reference).find((key) => !KEYS.has(key));
  if (extra !== undefined) {
    return new BadInputError(`${at}.${extra.slice(0, 40)}`, `is not a key of ${ENTITY}: a representation has "__typename" and "id" only`);
  }
  if (id === undefined) return new BadInputError(`${at}.id`, `is required: the id of a ${ENTITY} as Switchboard issued it`);
  try {
    decodeCallId(id as string, `${at}.id`);
  } catch (error) {
    return error as BadInputError;
  }
  return null;
}

export function guardEntities(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  const resolve = field?.resolve as GraphQLFieldResolver<unknown, unknown> | undefined;
  if (!field || !resolve) return schema;
  field.resolve = (source, args, context, info) => {
    // `[_Any!]!`: GraphQL has already refused a missing list or a null item.
    const representations = args.representations as unknown[];
    const errors = representations.map(representationError);
    const wellFormed = representations.filter((_, i) => errors[i] === null);
    const entities = wellFormed.length === 0 ? [] : (resolve(source, { ...args, representations: wellFormed }, context, info) as unknown[]);
    let next = 0;
    // An Error as a list item is that item's field error (graphql-js and graphql-jit alike).
    return errors.map((error) => error ?? entities[next++]);
  };
  return schema;
}
