/**
 * Bounds on what one GraphQL document may ask, checked before anything runs: graphql-js's own
 * token limit while parsing, graphql-armor's validation rules, Apollo's selection count, and the
 * cost estimate of the schema's @cost/@listSize (src/security/cost.ts). A document over a limit is
 * refused with 400, GRAPHQL_VALIDATION_FAILED (GRAPHQL_PARSE_FAILED for tokens,
 * COST_ESTIMATED_TOO_EXPENSIVE for cost), and a message naming the limit; no provider is contacted. Defaults are well above what the contract's queries need: the deepest
 * real query (`calls { edges { node { from { phoneNumber } } } }`) has depth 5.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ValidationRule } from 'graphql';
import { costLimitPlugin } from './cost.js';

export interface QueryLimits {
  /** Deepest field nesting (SWITCHBOARD_MAX_QUERY_DEPTH). */
  maxDepth: number;
  /** Aliased fields per operation (SWITCHBOARD_MAX_ALIASES). */
  maxAliases: number;
  /** Lexical tokens per document (SWITCHBOARD_MAX_TOKENS). */
  maxTokens: number;
  /** Highest estimated cost, as Apollo Router's demand control counts it (SWITCHBOARD_MAX_QUERY_COST). */
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
    // Not armor's: its estimate is its own formula and cannot see variables (`first: $n` counted
    // nothing). src/security/cost.ts reads the schema's @cost/@listSize, as the routers do.
    costLimit: { enabled: false },
    maxDirectives: { n: limits.maxDirectives },
    blockFieldSuggestion: { enabled: production },
  });
  const { plugins, validationRules } = armor.protect();
  // graphql-armor's plugins are written for BaseContext and read nothing of ours.
  return {
    plugins: [...(plugins as unknown as ApolloServerPlugin<C>[]), costLimitPlugin<C>(limits.maxCost)],
    validationRules,
    parseOptions: { maxTokens: limits.maxTokens },
  };
}
