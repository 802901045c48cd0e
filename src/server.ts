/**
 * The HTTP server: Apollo Server over the subgraph schema on plain node:http (src/graphqlOverHttp.ts),
 * API-key authentication, /health, /metrics, GraphiQL outside production, and the one error
 * formatter. It knows no provider.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginDisableSuggestions } from '@apollo/server/plugin/disableSuggestions';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { BatchObserver } from './calls/loaders.js';
import { createCallCache } from './calls/cache.js';
import { CursorCodec } from './calls/cursor.js';
import type { ApiKey, Config } from './config.js';
import { type RequestContext, type UpstreamFailureReport, createRequestContext } from './context.js';
import { BadInputError, ErrorCode, UpstreamError } from './errors.js';
import { graphiqlHandler } from './graphiql.js';
import { HttpError, executeGraphQL, readJsonBody, sendHttpError, sendJson, splitUrl } from './graphqlOverHttp.js';
import type { Logger } from './logger.js';
import { HealthTracker } from './observability/health.js';
import { Metrics } from './observability/metrics.js';
import type { UpstreamObserver } from './providers/http.js';
import { ConnectionRegistry } from './providers/index.js';
import { createSchema } from './schema.js';
import { logUpstream, requestLogPlugin } from './observability/requestLog.js';
import { guardEntities } from './security/entities.js';
import { noIntrospection } from './security/introspection.js';
import { knownOperationTypes } from './security/operationTypes.js';
import { queryProtection } from './security/queryLimits.js';
import { LoadMonitor, holdConnection } from './overload.js';

export interface SwitchboardOptions {
  config: Config;
  logger: Logger;
  /** Test hooks: see each DataLoader batch and each upstream request. */
  observeBatch?: BatchObserver;
  observeUpstream?: UpstreamObserver;
}

export interface Switchboard {
  url: string;
  registry: ConnectionRegistry;
  /** This instance's Prometheus metrics (e.g. for caches to count hits). */
  metrics: Metrics;
  stop(): Promise<void>;
}

// Error codes graphql-js and Apollo Server use for bad requests; their messages are safe to show.
// (PERSISTED_QUERY_NOT_SUPPORTED is not among them: automatic persisted queries are always on.)
const CLIENT_ERROR_CODES = new Set<string>([
  ErrorCode.ParseFailed,
  ErrorCode.ValidationFailed,
  ErrorCode.BadUserInput,
  ErrorCode.BadRequest,
  ErrorCode.OperationResolutionFailure,
  ErrorCode.PersistedQueryNotFound,
  ErrorCode.Unauthenticated,
]);

/**
 * A request Apollo Server refused on its own before running it, with an HTTP 4xx but no code: a
 * persisted-query hash that does not match its query, or an unsupported persisted-query version
 * (@apollo/server requestPipeline). It is the client's mistake; without a code the formatter would
 * take it for a bug. Resolver errors never carry an HTTP status.
 */
function isCodelessRequestRefusal(error: unknown): error is GraphQLError {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined || error.originalError) return false;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** An upstream failure as clients see it: message, code, provider, connection, retryAfter. */
export function formatUpstream(error: UpstreamError, path?: readonly (string | number)[]): GraphQLFormattedError {
  return {
    message: error.message,
    ...(path ? { path } : {}),
    extensions: {
      code: error.code,
      provider: error.provider,
      connection: error.connection,
      ...(error.details.retryAfter !== undefined ? { retryAfter: error.details.retryAfter } : {}),
    },
  };
}

/**
 * The one place errors are shaped for clients, by allow-list: known errors keep their message and
 * code (and, for upstream failures, provider and connection); anything else is an internal error
 * whose details go to the log only.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const where = {
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
    };
    if (original instanceof UpstreamError) return { ...formatUpstream(original, formatted.path), ...where };
    if (original instanceof BadInputError) {
      return { message: original.message, ...where, extensions: { code: original.code, argument: original.argument } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) {
      return { message: formatted.message, ...where, extensions: { code } };
    }
    if (isCodelessRequestRefusal(original)) return { message: formatted.message, ...where, extensions: { code: ErrorCode.BadRequest } };
    logger.error({ err: original, path: formatted.path }, 'unexpected error while resolving');
    return { message: 'Internal server error', ...where, extensions: { code: ErrorCode.Internal } };
  };
}

/** Adds the upstream failures met while resolving `calls` beside the data that did arrive. */
const upstreamFailuresPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind !== 'single' || contextValue.upstreamFailures.length === 0) return;
        const seen = new Set<string>();
        const extra = contextValue.upstreamFailures
          .filter(({ error, path }: UpstreamFailureReport) => {
            const key = `${path.join('.')}|${error.provider}|${error.connection}|${error.failure}`;
            return seen.has(key) ? false : (seen.add(key), true);
          })
          .map(({ error, path }) => formatUpstream(error, path));
        const result = response.body.singleResult;
        result.errors = [...(result.errors ?? []), ...extra];
      },
    };
  },
};

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Finds the API key a request presents, comparing digests in constant time. */
function keyFinder(keys: readonly ApiKey[]) {
  const digests = keys.map((key) => ({ key, digest: digest(key.secret) }));
  return (authorization: string | undefined): ApiKey | null => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return null;
    const presented = digest(match[1]!);
    let found: ApiKey | null = null;
    for (const candidate of digests) if (timingSafeEqual(candidate.digest, presented)) found = candidate.key;
    return found;
  };
}

export async function startSwitchboard(options: SwitchboardOptions): Promise<Switchboard> {
  const { config, logger } = options;
  // Metrics and health always watch upstream requests; a caller's observer is chained after them.
  const metrics = new Metrics({ processMetrics: true });
  const load = new LoadMonitor(config.overload, (reason) => metrics.shed.inc({ reason }), logger);
  metrics.observeLoad(load);
  const health = new HealthTracker();
  const upstreamLog = logUpstream(logger);
  const protection = queryProtection<RequestContext>(config.limits, config.production);
  const registry = new ConnectionRegistry(config.connections, config.http, (event) => {
    metrics.observeUpstream(event);
    health.observeUpstream(event);
    upstreamLog(event);
    options.observeUpstream?.(event);
  });
  const cursors = new CursorCodec(config.cursorSecret ? Buffer.from(config.cursorSecret) : randomBytes(32), {
    ephemeralSecret: config.cursorSecret === null,
  });
  const cache = await createCallCache(config.cache, config.connections, logger, ({ hits, misses }) => {
    metrics.cacheHits.inc({ cache: 'calls' }, hits);
    metrics.cacheMisses.inc({ cache: 'calls' }, misses);
  });
  const services = { registry, cursors, observeBatch: options.observeBatch, cache };

  // The request listener is attached once Apollo has started (below).
  const httpServer = http.createServer();

  const apollo = new ApolloServer<RequestContext>({
    // Executed by graphql-js, every request. graphql-jit once ran recurring documents (+17 % req/s
    // on a page) but answered differently where fields fail: see docs/benchmark.md.
    schema: guardEntities(createSchema()),
    // Refused in production by our own rule (noIntrospection), whose message is in Switchboard's terms.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // src/index.ts owns SIGINT/SIGTERM: it stops the server, then the demo simulators, then exits 0.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    validationRules: [...protection.validationRules, knownOperationTypes, ...(config.production ? [noIntrospection] : [])],
    parseOptions: protection.parseOptions,
    maxRecursiveSelections: config.limits.maxSelections,
    formatError: formatError(logger),
    // Compact JSON rather than Apollo's pretty-printed default: smaller responses (no req/s gain measured).
    stringifyResult: (result) => JSON.stringify(result),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      upstreamFailuresPlugin,
      metrics.plugin<RequestContext>(),
      requestLogPlugin<RequestContext>(logger),
      ...protection.plugins,
      // Outside production GraphiQL is served from src/graphiql.ts (no CDN), never Apollo's page.
      ApolloServerPluginLandingPageDisabled(),
      // No cache hints are used; Apollo's default cache-control plugin would wrap every field
      // resolver only to compute none (bench profile: ~4% of a page's CPU).
      ApolloServerPluginCacheControlDisabled(),
      ...(config.production ? [ApolloServerPluginDisableSuggestions()] : []),
    ],
    logger,
  });
  await apollo.start();

  const findKey = keyFinder(config.apiKeys);
  const access = (authorization: string | undefined) => {
    if (config.apiKeys.length === 0) return { scopeId: 'anonymous', scope: null };
    const key = findKey(authorization);
    if (!key) {
      throw new HttpError(401, 'A valid API key is required: send "Authorization: Bearer <key>".', ErrorCode.Unauthenticated, { 'www-authenticate': 'Bearer' });
    }
    return { scopeId: key.id, scope: key.scope };
  };

  const graphiql = config.production ? null : graphiqlHandler('/graphql');

  /** POST or GET /graphql: shed load, authenticate, read the body, run it through Apollo. */
  const graphqlEndpoint = async (req: http.IncomingMessage, res: http.ServerResponse, search: string) => {
    const shed = load.admit(res);
    if (shed) {
      const seconds = config.overload.retryAfterSeconds;
      holdConnection(req, res);
      throw new HttpError(503, `Switchboard is overloaded (${shed.message}): retry after ${seconds} s`, ErrorCode.Overloaded, { 'retry-after': String(seconds) });
    }
    const caller = access(req.headers.authorization);
    // Queries over GET are side-effect free and Switchboard uses no cookies (keys are bearer tokens a
    // browser never attaches by itself), so plain GETs — the GraphQL-over-HTTP convention — are let
    // through Apollo's CSRF check, which stays on for POST.
    if (req.method === 'GET' && !req.headers['content-type']) req.headers['x-apollo-operation-name'] ??= 'get';
    const body = await readJsonBody(req, config.maxBodyBytes);
    await executeGraphQL(apollo, req, res, body, search, async () => createRequestContext(services, caller));
  };

  const routes = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const { pathname, search } = splitUrl(req.url);
    if (graphiql?.(req, res, pathname, search)) return;
    if (pathname === '/graphql') return graphqlEndpoint(req, res, search);
    if (req.method === 'GET' && pathname === '/health') {
      return sendJson(res, 200, health.report(registry.connections, config.demo ? 'demo' : 'configured'));
    }
    if (req.method === 'GET' && pathname === '/metrics') {
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { 'content-type': contentType });
      return void res.end(body);
    }
    // Browsers ask for an icon for every page they show (GraphiQL, /health): none, and no 404 in their console.
    if (req.method === 'GET' && pathname === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'public, max-age=86400' });
      return void res.end();
    }
    throw new HttpError(404, `Nothing is served at ${req.method} ${pathname.slice(0, 100)}; GraphQL is at /graphql`, ErrorCode.NotFound);
  };

  // Refusals (401, 413, malformed JSON, unknown route) and anything unexpected: a JSON answer, never a stack.
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    routes(req, res).catch((error: unknown) => {
      if (!(error instanceof HttpError)) logger.error({ err: error }, 'unhandled HTTP error');
      if (res.headersSent) return void res.destroy();
      sendHttpError(res, error instanceof HttpError ? error : new HttpError(500, 'Internal server error', ErrorCode.Internal));
    });
  });

  await new Promise<void>((resolve) => httpServer.listen(config.port, resolve));
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}/graphql`,
    registry,
    metrics,
    stop: async () => {
      await apollo.stop();
      await cache?.close();
    },
  };
}
