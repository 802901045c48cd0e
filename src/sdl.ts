/**
 * The SDL of schema/*.graphql as text, and the values of its enums. A leaf module (no resolvers),
 * so that the core can take the contract's `Provider` order from it without importing the GraphQL layer.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, parse } from 'graphql';

/** schema/ sits at the project root, above src/ (tsx, jest) or dist/src/ (npm start). */
function schemaDirectory(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'schema')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return path.join(dir, 'schema');
}

/** Every schema/*.graphql file, in name order, joined. */
export function readTypeDefs(): string {
  const dir = schemaDirectory();
  return readdirSync(dir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(path.join(dir, file), 'utf8'))
    .join('\n');
}

/** The values of enum `name` in the SDL, in declaration order; throws when there is no such enum. */
export function sdlEnumValues(name: string): string[] {
  for (const definition of parse(readTypeDefs()).definitions) {
    if (definition.kind === Kind.ENUM_TYPE_DEFINITION && definition.name.value === name) {
      return (definition.values ?? []).map((value) => value.name.value);
    }
  }
  throw new Error(`schema/*.graphql declares no enum ${name}`);
}
