/** The SDL from schema/*.graphql, read once at start-up, as one federation subgraph schema. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLSchema } from 'graphql';
import { gql } from 'graphql-tag';
import { resolvers } from './resolvers/index.js';

/** schema/ sits at the project root, above src/ (tsx, jest) or dist/src/ (npm start). */
function schemaDirectory(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'schema')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'schema');
}

export function readTypeDefs(): string {
  const dir = schemaDirectory();
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(path.join(dir, file), 'utf8'))
    .join('\n');
}

export function createSchema(): GraphQLSchema {
  // The module form: its resolver map is generic in the context, so the generated Resolvers type
  // (checked against the SDL by codegen) goes in without a cast.
  return buildSubgraphSchema([{ typeDefs: gql(readTypeDefs()), resolvers }]);
}
