/** The SDL from schema/*.graphql, read once at start-up, as one federation subgraph schema. */
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { gql } from 'graphql-tag';
import { resolvers } from './resolvers/index.js';
import { readTypeDefs } from './sdl.js';

export { readTypeDefs };

export function createSchema(): GraphQLSchema {
  // The module form: its resolver map is generic in the context, so the generated Resolvers type
  // (checked against the SDL by codegen) goes in without a cast.
  return buildSubgraphSchema([{ typeDefs: gql(readTypeDefs()), resolvers }]);
}
