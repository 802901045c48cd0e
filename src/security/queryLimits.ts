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
import { type DocumentNode, GraphQLError, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode, Kind, type ValidationRule } from 'graphql';
import { costChecker, costLimitPlugin } from './cost.js';

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
  /**
   * The selection count (Apollo's `maxRecursiveSelections`, as `maxSelectionsRule`): run beside the
   * spec's rules, before `validationRules`, as Apollo Server runs its own (the subscription
   * transports run this one; the HTTP path gives Apollo the same limit).
   */
  selectionRule: ValidationRule;
  /**
   * Depth, aliases, directives (and field suggestions in production): for every transport, run only
   * on a document that passed the spec's rules and the selection count, so an invalid document is
   * refused for what is wrong in it, not once more per limit.
   */
  validationRules: ValidationRule[];
  /**
   * The checks of a resolved operation with its variables (the cost estimate), which the HTTP path
   * runs from `plugins`; the subscription transports call it themselves.
   * @throws CostLimitError (COST_ESTIMATED_TOO_EXPENSIVE).
   */
  checkOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): void;
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
    // In the first pass: it is cheap and stops a fragment bomb before the other rules walk it.
    selectionRule: maxSelectionsRule(limits.maxSelections),
    validationRules,
    checkOperation: costChecker(limits.maxCost),
    parseOptions: { maxTokens: limits.maxTokens },
  };
}

/**
 * Refuses an operation that selects more than `max` fields, inline fragments and fragment spreads
 * once its fragments are expanded (a fragment bomb: `fragment F1 { ...F0 ...F0 }` doubles per
 * line). Apollo Server's `maxRecursiveSelections` counts the same, with the same message, but its
 * rule is not exported, and the subscription transports need it too (src/live/transports.ts).
 */
export function maxSelectionsRule(max: number): ValidationRule {
  return (context) => ({
    Document: {
      leave(document) {
        const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
        // A fragment's expanded count, once each; a cycle counts 0 (NoFragmentCyclesRule reports it).
        const expanded = new Map<string, number>();
        const count = (set: SelectionSetNode | undefined): number =>
          (set?.selections ?? []).reduce((sum, selection) => {
            if (selection.kind === Kind.FRAGMENT_SPREAD) {
              const name = selection.name.value;
              if (!expanded.has(name)) {
                expanded.set(name, 0);
                expanded.set(name, count(fragments.get(name)?.selectionSet));
              }
              return sum + 1 + expanded.get(name)!;
            }
            return sum + 1 + count(selection.selectionSet);
          }, 0);
        for (const definition of document.definitions) {
          if (definition.kind !== Kind.OPERATION_DEFINITION || count(definition.selectionSet) <= max) continue;
          const name = definition.name ? `Operation "${definition.name.value}"` : 'Anonymous operation';
          context.reportError(new GraphQLError(`${name} recursively requests too many selections.`, { nodes: [] }));
        }
      },
    },
  });
}
