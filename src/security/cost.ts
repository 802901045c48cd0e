/**
 * Demand control the way a supergraph router does it: the static cost estimate of the IBM GraphQL
 * Cost Directive specification as Apollo Router computes it ("Demand control", static_estimated),
 * read from the schema's own `@cost` and `@listSize` directives (schema/*.graphql), so Switchboard
 * alone and a router in front of it estimate an operation from the same numbers.
 *
 * - An operation costs its root fields (a mutation 10 more; Switchboard has none).
 * - A field costs `count × (weight + its selections) + its arguments`, where weight is its `@cost`
 *   (or its type's), else 1 for an object, interface or union and 0 for a scalar or enum; count is
 *   1, or for a list the size its parent's `@listSize` passes down through `sizedFields` (`calls`
 *   to `edges` and `nodes`), else the size its own `@listSize` gives: the largest slicing argument
 *   present (`first`, `last`, literal or variable), else `assumedSize`; else DEFAULT_LIST_SIZE.
 * - An argument costs 1 per input object in its value (plus its fields), 0 per scalar or enum,
 *   unless `@cost` says otherwise; a variable is costed by the value sent.
 * - `__typename` and introspection cost 0; a field under `@skip(if: true)` / `@include(if: false)`
 *   written as a literal costs 0 (with a variable it counts, as in the router).
 *
 * Where Switchboard differs: a variable the request leaves out counts with its default value (the
 * router reads only the variables sent), so Switchboard's estimate is never below the router's.
 * `requireOneSlicingArgument` is not enforced: the SDL sets it false (`calls` without `first` or
 * `last` is a page of 20, and both together are BAD_USER_INPUT from the resolver).
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type ArgumentNode,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInputObjectType,
  isListType,
  valueFromASTUntyped,
} from 'graphql';
import { CostLimitError } from '../errors.js';

/**
 * The size of a list without `@listSize` (only federation's `_entities` here): the router's
 * `static_estimated.list_size`; configure the router with the same value for the same numbers.
 */
export const DEFAULT_LIST_SIZE = 100;

type Variables = Readonly<Record<string, unknown>>;

interface ListSize {
  assumedSize: number | null;
  slicingArguments: readonly string[];
  sizedFields: readonly string[];
}

/** The list size a `@listSize` gives one field of an operation, and what it passes to its sized fields. */
interface FieldListSize {
  expected: number | null;
  sizedFields: readonly string[];
}

const directive = (nodes: readonly (ConstDirectiveNode | undefined)[] | undefined, name: string) =>
  nodes?.find((node) => node?.name.value === name);

function directiveArgs(node: ConstDirectiveNode | undefined): Record<string, unknown> | null {
  if (!node) return null;
  return Object.fromEntries((node.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]));
}

/** `@cost(weight:)` on a definition (a field, argument, input field or named type), or null. */
function costOf(definition: { astNode?: { directives?: readonly ConstDirectiveNode[] } | null | undefined; extensionASTNodes?: readonly { directives?: readonly ConstDirectiveNode[] }[] }): number | null {
  const nodes = [definition.astNode, ...(definition.extensionASTNodes ?? [])].flatMap((node) => node?.directives ?? []);
  const weight = directiveArgs(directive(nodes, 'cost'))?.weight;
  return typeof weight === 'number' ? weight : null;
}

function listSizeOf(field: GraphQLField<unknown, unknown>): ListSize | null {
  const args = directiveArgs(directive(field.astNode?.directives, 'listSize'));
  if (!args) return null;
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  return {
    assumedSize: typeof args.assumedSize === 'number' ? args.assumedSize : null,
    slicingArguments: strings(args.slicingArguments),
    sizedFields: strings(args.sizedFields),
  };
}

/** A literal `@skip(if: true)` or `@include(if: false)`; a variable condition does not skip. */
function skipped(field: FieldNode): boolean {
  const literal = (name: string) => {
    const value = field.directives?.find((d) => d.name.value === name)?.arguments?.find((a) => a.name.value === 'if')?.value;
    return value?.kind === Kind.BOOLEAN ? value.value : null;
  };
  return literal('skip') === true || literal('include') === false;
}

/** What the directives say of one output field, read once. */
interface FieldCost {
  /** `@cost` of the field, else of its type, else 1 for a composite type and 0 for a leaf. */
  weight: number;
  listSize: ListSize | null;
  isList: boolean;
}

/**
 * The static cost of operations over one schema. Reads the schema's directives as it meets them
 * and keeps what they say; holds no per-request state.
 */
export class CostEstimator {
  private readonly fieldCosts = new Map<GraphQLField<unknown, unknown>, FieldCost>();
  private readonly inputWeights = new Map<GraphQLArgument | GraphQLInputField, number | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly defaultListSize = DEFAULT_LIST_SIZE,
  ) {}

  private fieldCost(definition: GraphQLField<unknown, unknown>): FieldCost {
    let known = this.fieldCosts.get(definition);
    if (!known) {
      const type = getNamedType(definition.type);
      known = {
        weight: costOf(definition) ?? costOf(type) ?? (isCompositeType(type) ? 1 : 0),
        listSize: listSizeOf(definition),
        isList: isListType(getNullableType(definition.type)),
      };
      this.fieldCosts.set(definition, known);
    }
    return known;
  }

  private inputWeight(definition: GraphQLArgument | GraphQLInputField): number | null {
    if (!this.inputWeights.has(definition)) this.inputWeights.set(definition, costOf(definition));
    return this.inputWeights.get(definition)!;
  }

  /**
   * The estimated cost of `operation` (a definition of `document`) with the request's `variables`
   * (raw JSON, before coercion): a non-negative integer for Switchboard's SDL.
   */
  estimate(document: DocumentNode, operation: OperationDefinitionNode, variables: Variables = {}): number {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const values: Record<string, unknown> = {};
    for (const definition of operation.variableDefinitions ?? []) {
      if (definition.defaultValue) values[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
    }
    Object.assign(values, variables);
    const root = this.schema.getRootType(operation.operation);
    if (!root) return 0;
    const base = operation.operation === 'mutation' ? 10 : 0;
    return base + this.selections(operation.selectionSet, root, null, { fragments, variables: values });
  }

  private selections(set: SelectionSetNode, parent: GraphQLNamedType, listSize: FieldListSize | null, scope: Scope): number {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const sized = listSize && listSize.sizedFields.includes(selection.name.value) ? listSize.expected : null;
        cost += this.field(selection, parent, sized, scope);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        if (type) cost += this.selections(selection.selectionSet, type, listSize, scope);
      } else {
        const fragment = scope.fragments.get(selection.name.value);
        const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
        if (fragment && type) cost += this.selections(fragment.selectionSet, type, listSize, scope);
      }
    }
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLNamedType, sizeFromParent: number | null, scope: Scope): number {
    const name = node.name.value;
    if (name.startsWith('__') || skipped(node) || !('getFields' in parent)) return 0;
    const definition = parent.getFields()[name] as GraphQLField<unknown, unknown> | undefined;
    if (!definition) return 0;
    const { weight, listSize, isList } = this.fieldCost(definition);
    const expected = listSize ? this.expectedSize(listSize, node, definition, scope.variables) : null;
    const count = isList ? (sizeFromParent ?? expected ?? this.defaultListSize) : 1;

    let own = weight;
    if (node.selectionSet) {
      const sized = listSize && { expected, sizedFields: listSize.sizedFields };
      own += this.selections(node.selectionSet, getNamedType(definition.type), sized, scope);
    }
    let args = 0;
    for (const argument of node.arguments ?? []) args += this.argument(argument, definition, scope.variables);
    return count * own + args;
  }

  /** The largest slicing argument given (literal, variable, or the argument's default), else assumedSize. */
  private expectedSize(listSize: ListSize, node: FieldNode, definition: GraphQLField<unknown, unknown>, variables: Variables): number | null {
    const sizes: number[] = [];
    for (const name of listSize.slicingArguments) {
      const given = node.arguments?.find((arg) => arg.name.value === name)?.value;
      const value = given ? (given.kind === Kind.VARIABLE ? variables[given.name.value] : valueFromASTUntyped(given)) : definition.args.find((a) => a.name === name)?.defaultValue;
      if (typeof value === 'number' && Number.isInteger(value)) sizes.push(value);
    }
    return sizes.length > 0 ? Math.max(...sizes) : listSize.assumedSize;
  }

  private argument(node: ArgumentNode, field: GraphQLField<unknown, unknown>, variables: Variables): number {
    const definition = field.args.find((arg) => arg.name === node.name.value);
    return definition ? this.literal(node.value, definition, variables) : 0;
  }

  /** An argument or input field value as written in the document. */
  private literal(value: ValueNode, definition: GraphQLArgument | GraphQLInputField, variables: Variables): number {
    const type = getNamedType(definition.type);
    const weight = this.inputWeight(definition);
    switch (value.kind) {
      case Kind.VARIABLE:
        return value.name.value in variables ? this.sent(variables[value.name.value], definition) : 0;
      case Kind.NULL:
        return 0;
      case Kind.LIST:
        return value.values.reduce((sum, item) => sum + this.literal(item, definition, variables), weight ?? 0);
      case Kind.OBJECT: {
        if (!isInputObjectType(type)) return weight ?? 0;
        const fields = type.getFields();
        return value.fields.reduce((sum, f) => sum + (fields[f.name.value] ? this.literal(f.value, fields[f.name.value]!, variables) : 0), weight ?? 1);
      }
      default:
        return weight ?? 0;
    }
  }

  /** An argument or input field value as sent in the variables (JSON). */
  private sent(value: unknown, definition: GraphQLArgument | GraphQLInputField): number {
    const type = getNamedType(definition.type);
    const weight = this.inputWeight(definition);
    if (value === null || value === undefined) return 0;
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + this.sent(item, definition), weight ?? 0);
    if (typeof value === 'object' && isInputObjectType(type)) {
      const fields = type.getFields();
      return Object.entries(value).reduce((sum, [key, item]) => sum + (fields[key] ? this.sent(item, fields[key]!) : 0), weight ?? 1);
    }
    return weight ?? 0;
  }
}

interface Scope {
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  variables: Variables;
}

/**
 * The cost check of one resolved operation, shared by the HTTP path (`costLimitPlugin`) and the
 * subscription transports (src/live/transports.ts), so both refuse the same documents alike.
 * @throws CostLimitError (COST_ESTIMATED_TOO_EXPENSIVE) when the estimate is over `maxCost`.
 */
export function costChecker(maxCost: number): (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Variables) => void {
  const estimators = new WeakMap<GraphQLSchema, CostEstimator>();
  return (schema, document, operation, variables) => {
    let estimator = estimators.get(schema);
    if (!estimator) estimators.set(schema, (estimator = new CostEstimator(schema)));
    const estimated = estimator.estimate(document, operation, variables);
    if (estimated > maxCost) throw new CostLimitError(estimated, maxCost);
  };
}

/**
 * Refuses an operation whose estimate is over `maxCost` once Apollo has resolved it (after
 * validation, when the variables are known), before anything runs: CostLimitError, 400
 * (200 as application/json: src/graphqlOverHttp.ts).
 */
export function costLimitPlugin<C extends BaseContext>(maxCost: number): ApolloServerPlugin<C> {
  const check = costChecker(maxCost);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // not resolved: Apollo refuses the request itself
          check(schema, document, operation, request.variables ?? {});
        },
      };
    },
  };
}
