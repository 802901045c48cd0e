/**
 * A guard in front of federation's `_entities`. @apollo/subgraph maps representations one by one
 * and throws a plain Error at the first unknown `__typename`, after starting the look-ups of the
 * ones before it: the client would get an internal error, and a rejected look-up among those
 * dropped promises is an unhandled rejection, which ends a Node process. Checking every
 * representation first turns such input into one BAD_USER_INPUT error before any look-up starts.
 */
import { type GraphQLSchema, isInterfaceType, isObjectType } from 'graphql';
import { BadInputError } from '../errors.js';

export function guardEntities(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  const resolve = field?.resolve;
  if (!field || !resolve) return schema;
  field.resolve = (source, args, context, info) => {
    const representations: unknown = args.representations;
    if (Array.isArray(representations)) {
      representations.forEach((reference: unknown, i) => {
        const typename = typeof reference === 'object' && reference !== null ? (reference as { __typename?: unknown }).__typename : undefined;
        const type = typeof typename === 'string' ? schema.getType(typename) : undefined;
        if (!type || !(isObjectType(type) || isInterfaceType(type))) {
          throw new BadInputError(`representations[${i}]`, 'expected an object with "__typename": "Call" and the "id" of a Call');
        }
      });
    }
    return resolve(source, args, context, info);
  };
  return schema;
}
