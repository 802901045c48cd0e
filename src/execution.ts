/**
 * Compiled execution: an operation seen a second time is compiled by graphql-jit into a function
 * over the schema's own resolvers, and from then on requests with the same document run that
 * function instead of graphql-js's interpreter. Compiling only what recurs keeps a stream of
 * one-off documents from costing a compilation each (they run on graphql-js). graphql-js 16
 * allocates two dictionary objects per field it resolves (argument coercion), about 280 kB per
 * page of 20 calls; the compiled form allocates only the result. Measured: see docs/benchmark.md.
 *
 * It sits in Apollo Server's executor slot (the `gateway` option's `load` answer), so parsing,
 * validation, the document cache, plugins and error formatting stay Apollo's. Requests that ask
 * for a federated trace (`apollo-federation-include-trace: ftv1`) run through graphql-js, where
 * Apollo's per-field instrumentation lives, as do documents in which Apollo found no operation.
 */
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { type DocumentNode, GraphQLError, type GraphQLSchema, execute, printSchema } from 'graphql';
import { type CompiledQuery, compileQuery, isCompiledQuery } from 'graphql-jit';
import { LRUCache } from 'lru-cache';

/** Distinct operations remembered (seen once, or compiled: a few kB of closures each). */
const COMPILED_OPERATIONS = 1000;
/** An operation met once so far: graphql-js runs it; the next time it is compiled. */
const SEEN_ONCE = 'seen once';

/** Which engine ran an operation: for metrics. */
export type ExecutionObserver = (engine: 'compiled' | 'graphql-js') => void;

export function compiledExecutor(schema: GraphQLSchema, observe: ExecutionObserver = () => {}): GatewayExecutor {
  const compiled = new LRUCache<string, CompiledQuery | false | typeof SEEN_ONCE>({ max: COMPILED_OPERATIONS });
  return async (request) => {
    const { document, context } = request;
    // As the client named it: Apollo's resolved name is null when no operation matched.
    const { operationName, variables: variableValues } = request.request;
    const run = () => {
      observe('graphql-js');
      return execute({ schema, document, operationName, contextValue: context, variableValues });
    };
    // graphql-js when Apollo found no operation to run (it reports execute's error as the answer)
    // or a trace is asked for.
    if (!request.operation || request.request.http?.headers.get('apollo-federation-include-trace') === 'ftv1') return run();
    // The query hash names the document; one document may hold several operations.
    const key = `${request.queryHash}:${operationName ?? ''}`;
    let query = compiled.get(key);
    if (query === undefined) {
      compiled.set(key, SEEN_ONCE);
      return run();
    }
    if (query === SEEN_ONCE) {
      query = compile(schema, document, operationName);
      compiled.set(key, query);
    }
    // Not compilable: graphql-js runs it (and, for an operation that cannot run, says why).
    if (query === false) return run();
    const result = await query.query(undefined, context, variableValues);
    // No data at all: refused before any resolver ran (bad variables). graphql-js gives those errors
    // the shape Apollo Server recognises as BAD_USER_INPUT, at no cost: it refuses them as early.
    if (result.data === undefined) return run();
    observe('compiled');
    return result.errors ? { ...result, errors: result.errors.map(asGraphQLError) } : result;
  };
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): CompiledQuery | false {
  try {
    const query = compileQuery(schema, document, operationName ?? undefined);
    return isCompiledQuery(query) ? query : false;
  } catch {
    return false;
  }
}

/**
 * graphql-jit's errors inherit GraphQLError's prototype without running its constructor (no
 * `extensions` object, no toJSON state), and Apollo Server reads both: rebuild each as a real one.
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  const rebuilt = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: error.extensions ?? undefined,
  });
  if (error.locations) Object.defineProperty(rebuilt, 'locations', { value: error.locations, enumerable: true });
  return rebuilt;
}

/**
 * What Apollo Server's `gateway` option expects, serving one fixed schema with the compiled
 * executor. It loads nothing and never updates.
 */
export function compiledExecution(schema: GraphQLSchema, observe?: ExecutionObserver): GatewayInterface {
  return {
    async load() {
      return { schema, executor: compiledExecutor(schema, observe) };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    async stop() {},
  };
}
