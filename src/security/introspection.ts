/**
 * Introspection is refused in production, in Switchboard's terms: Apollo Server's own rule tells
 * the operator to "pass introspection: true to ApolloServer", which no Switchboard setting does.
 * The same check as Apollo's (`__schema` and `__type` anywhere in the document; `__typename` is not
 * introspection), answered 400 GRAPHQL_VALIDATION_FAILED before anything runs.
 */
import { GraphQLError, type ValidationRule } from 'graphql';

export const INTROSPECTION_REFUSED =
  'Introspection is off in production (NODE_ENV=production). The schema is served as `{ _service { sdl } }`, ' +
  'which gateways compose; to browse it in GraphiQL, run Switchboard without NODE_ENV=production.';

export const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(new GraphQLError(INTROSPECTION_REFUSED, { nodes: node }));
    }
  },
});
