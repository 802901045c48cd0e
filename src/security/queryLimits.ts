/**
 * Bounds on what one GraphQL document may ask, checked before anything runs: graphql-js's own
 * token limit while parsing, graphql-armor's validation rules, Apollo's selection count. A document
 * over a limit is refused with 400, GRAPHQL_VALIDATION_FAILED (GRAPHQL_PARSE_FAILED for tokens),
 * and a message naming the limit;
 * no provider is contacted. Defaults are well above what the contract's queries need: the deepest
 * real query (`calls { edges { node { from { phoneNumber } } } }`) has depth 5.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';

export interface QueryLimits {
  /** Deepest field nesting (SWITCHBOARD_MAX_QUERY_DEPTH). */
  maxDepth: number;
  /** Aliased fields per operation (SWITCHBOARD_MAX_ALIASES). */
  maxAliases: number;
  /** Lexical tokens per document (SWITCHBOARD_MAX_TOKENS). */
  maxTokens: number;
  /** graphql-armor's cost estimate: objects 2, scalars 1, ×1.5 per level (SWITCHBOARD_MAX_QUERY_COST). */
  maxCost: number;
  /** Directives per operation (SWITCHBOARD_MAX_DIRECTIVES). */
  maxDirectives: number;
  /** Selections after fragment expansion; Apollo Server's own check (SWITCHBOARD_MAX_SELECTIONS). */
  maxSelections: number;
}

export const defaultQueryLimits: QueryLimits = {
  maxDepth: 10,
  maxAliases: 100,
  maxTokens: 10_000,
  maxCost: 5_000,
  maxDirectives: 20,
  maxSelections: 2_000,
};

export interface QueryProtection<C extends BaseContext> {
  plugins: ApolloServerPlugin<C>[];
  validationRules: ValidationRule[];
  /** For ApolloServer's `parseOptions`. */
  parseOptions: { maxTokens: number };
}

/**
 * Plugins and validation rules for ApolloServer. Field suggestions are blocked in production only
 * (Apollo's own plugin hides them too); outside it "Did you mean" helps developers.
 */
export function queryProtection<C extends BaseContext>(limits: QueryLimits, production: boolean): QueryProtection<C> {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    // Not armor's: it throws from a plugin hook, which Apollo answers with a 500. graphql-js counts
    // tokens itself (parseOptions below) and fails the parse with a 400.
    maxTokens: { enabled: false },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    maxDirectives: { n: limits.maxDirectives },
    blockFieldSuggestion: { enabled: production },
  });
  const { plugins, validationRules } = armor.protect();
  // graphql-armor's plugins are written for BaseContext and read nothing of ours.
  return {
    plugins: plugins as unknown as ApolloServerPlugin<C>[],
    validationRules,
    parseOptions: { maxTokens: limits.maxTokens },
  };
}
