/**
 * Operations the schema cannot run are the client's mistake, refused at validation: Switchboard's
 * schema has no mutation type, and graphql-js 16 lets `mutation { … }` and `subscription { … }`
 * through validation and fails them in execution with an error that carries no code — an internal
 * error, logged with a stack, that any client could trigger. graphql-js 17 adds this check as
 * `KnownOperationTypesRule`; this is the same rule for 16. Refused here, such a document answers
 * 400 GRAPHQL_VALIDATION_FAILED before anything runs, whichever engine would have executed it.
 */
import { GraphQLError, type ValidationRule } from 'graphql';

export const knownOperationTypes: ValidationRule = (context) => ({
  OperationDefinition(node) {
    const { operation } = node;
    if (context.getSchema().getRootType(operation)) return;
    context.reportError(
      new GraphQLError(`This API does not support ${operation} operations: it serves queries, and subscriptions over WebSocket or SSE.`, { nodes: node }),
    );
  },
});
