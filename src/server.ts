/**
 * The HTTP server: Apollo Server over the subgraph schema on plain node:http (src/graphqlOverHttp.ts),
 * API-key authentication, the persisted-query safelist, /health (liveness), /ready (readiness),
 * provider pushes (src/live/pushes.ts),
 * /metrics, GraphiQL outside production, graceful shutdown (src/lifecycle.ts), and the one error
 * formatter. It knows no provider.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginDisableSuggestions } from '@apollo/server/plugin/disableSuggestions';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { BatchObserver } from './calls/loaders.js';
import { createCallCache, namespaceOf } from './calls/cache.js';
import { connectionLabel } from './calls/model.js';
import { type LiveEvents, createEventSource, maxDataAges, watchIntervals, watchPolicies } from './live/source.js';
import type { WatcherStatus } from './live/watcher.js';
import { CursorCodec } from './calls/cursor.js';
import type { ApiKey, Config } from './config.js';
import { type RequestContext, type Services, type UpstreamFailureReport, createRequestContext } from './context.js';
import { BadInputError, CostLimitError, ErrorCode, type ErrorExtensions, InvalidRowError, UpstreamError } from './errors.js';
import { graphiqlHandler } from './graphiql.js';
import { HttpError, executeGraphQL, ignoreUpgrade, readJsonBody, requestErrorStatusPlugin, sendHttpError, sendJson, splitUrl, wantsWebSocket } from './graphqlOverHttp.js';
import { type DrainResult, Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { HealthTracker } from './observability/health.js';
import { Metrics } from './observability/metrics.js';
import type { UpstreamObserver } from './providers/http.js';
import { APQ_TTL_SECONDS, RedisApqCache, Safelist } from './persistedQueries.js';
import { ConnectionRegistry, cacheIdentity } from './providers/index.js';
import { createUpstreamRates } from './providers/rate.js';
import { createSchema } from './schema.js';
import { logInvalidRows, logUpstream, requestLogPlugin } from './observability/requestLog.js';
import { type RequestTrace, type Tracing, tracingPlugin } from './observability/tracing.js';
import { guardEntities } from './security/entities.js';
import { noIntrospection } from './security/introspection.js';
import { knownOperationTypes } from './security/operationTypes.js';
import { queryProtection } from './security/queryLimits.js';
import { LoadMonitor, type Shed, holdConnection } from './overload.js';
import type { CallEventSource } from './live/events.js';
import { createLiveTransports, noSubscriptionOverJson, noSubscriptionOverJsonPlugin } from './live/transports.js';
import { callbackExtension } from './live/callbacks.js';
import { startWebhooks } from './live/webhooks.js';
import { pushEndpoint } from './live/pushes.js';

export interface SwitchboardOptions {
  config: Config;
  logger: Logger;
  /** Test hooks: see each DataLoader batch and each upstream request. */
  observeBatch?: BatchObserver;
  observeUpstream?: UpstreamObserver;
  /** OpenTelemetry tracing (src/observability/tracing.ts); none when absent. Its owner shuts it down. */
  tracing?: Tracing | null;
  /** Where subscriptions and webhooks take call events from instead of this server's watchers (tests inject one). */
  events?: CallEventSource;
}

export interface Switchboard {
  url: string;
  registry: ConnectionRegistry;
  /** This instance's Prometheus metrics (e.g. for caches to count hits). */
  metrics: Metrics;
  /** Its live call events (src/live/source.ts): what subscriptions and webhooks listen to. */
  events: LiveEvents;
  /**
   * Graceful shutdown: readiness turns 503 and new requests are refused, requests in flight get
   * `graceMs` (default: the configured SWITCHBOARD_SHUTDOWN_GRACE_MS) to finish, then the server,
   * Apollo and the Redis connection are closed. `graceful` is false when the grace period ran out.
   */
  stop(options?: { graceMs?: number }): Promise<DrainResult>;
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

/**
 * A provider's error as clients see it: message, code, provider, connection, and retryAfter (a
 * failed connection) or providerCallId (a row that did not read, when its id is known). Nothing more.
 */
export function formatUpstream(error: UpstreamError | InvalidRowError, path?: readonly (string | number)[]): GraphQLFormattedError {
  const extra =
    error instanceof UpstreamError
      ? error.details.retryAfter !== undefined ? { retryAfter: error.details.retryAfter } : {}
      : error.providerCallId !== null ? { providerCallId: error.providerCallId } : {};
  return {
    message: error.message,
    ...(path ? { path } : {}),
    extensions: { code: error.code, provider: error.provider, connection: error.connection, ...extra } satisfies ErrorExtensions,
  };
}

/**
 * The one place errors are shaped for clients, by allow-list: known errors keep their message and
 * code (and, for provider errors, provider and connection); anything else is an internal error
 * whose details go to the log only. `noteInvalidRow` sees each unreadable row sent (for the log).
 */
export function formatError(logger: Logger, noteInvalidRow: (error: InvalidRowError) => void = () => {}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const where = {
      ...(formatted.path ? { path: formatted.path } : {}),
      ...(formatted.locations ? { locations: formatted.locations } : {}),
    };
    if (original instanceof InvalidRowError) noteInvalidRow(original);
    if (original instanceof UpstreamError || original instanceof InvalidRowError) {
      return { ...formatUpstream(original, formatted.path), ...where };
    }
    if (original instanceof BadInputError) {
      return { message: original.message, ...where, extensions: { code: original.code, argument: original.argument } satisfies ErrorExtensions };
    }
    if (original instanceof CostLimitError) {
      return { message: original.message, extensions: { code: original.code, 'cost.estimated': original.estimated, 'cost.max': original.max } satisfies ErrorExtensions };
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

/**
 * Adds the upstream failures and unreadable rows met while resolving `calls` beside the data that
 * did arrive (once per path, connection and failure kind, or row), the warnings
 * (`extensions.warnings`, e.g. a page the scan budget cut short) and the age of the windows pages
 * were served from (`extensions.dataAge`).
 */
function upstreamFailuresPlugin(noteInvalidRow: (error: InvalidRowError) => void): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const { warnings, dataAge } = contextValue;
          if (warnings.length > 0) {
            const result = response.body.singleResult;
            result.extensions = { ...result.extensions, warnings: warnings.map((w) => ({ ...w })) };
          }
          // Absent: every row was read upstream for this request (docs/live.md, "Freshness").
          if (Object.keys(dataAge).length > 0) {
            const result = response.body.singleResult;
            result.extensions = { ...result.extensions, dataAge: { ...dataAge } };
          }
          if (contextValue.upstreamFailures.length === 0) return;
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...upstreamFailureErrors(contextValue.upstreamFailures, noteInvalidRow)];
        },
      };
    },
  };
}

/** The upstream failures a request met, as client errors: once per path, connection and failure kind, or row. */
function upstreamFailureErrors(failures: readonly UpstreamFailureReport[], noteInvalidRow: (error: InvalidRowError) => void): GraphQLFormattedError[] {
  const seen = new Set<string>();
  return failures
    .filter(({ error, path }) => {
      const what = error instanceof InvalidRowError ? `row:${error.fingerprint}` : error.failure;
      const key = `${path.join('.')}|${error.provider}|${error.connection}|${what}`;
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .map(({ error, path }) => {
      if (error instanceof InvalidRowError) noteInvalidRow(error);
      return formatUpstream(error, path);
    });
}

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
  const invalidRowLog = logInvalidRows(logger);
  const protection = queryProtection<RequestContext>(config.limits, config.production);
  // Each connection's upstream request budget, in Redis when there is one (shared by replicas).
  const rates = createUpstreamRates(config.cache.redisUrl, logger);
  const registry = new ConnectionRegistry(
    config.connections,
    config.http,
    (event) => {
      metrics.observeUpstream(event);
      health.observeUpstream(event);
      upstreamLog(event);
      options.observeUpstream?.(event);
    },
    rates,
  );
  const cursors = new CursorCodec(config.cursorSecret ? Buffer.from(config.cursorSecret) : randomBytes(32), {
    ephemeralSecret: config.cursorSecret === null,
  });
  let watchers: () => WatcherStatus[] = () => [];
  const healthReport = () => health.report(registry.connections, config.demo ? 'demo' : 'configured', watchers());

  // Listening comes first: while Redis connects and Apollo starts, /health says the process is
  // alive, /ready answers 503 and everything else 503 too. The routes take over once Apollo has
  // started (below). The lifecycle's own request listener comes first, to count every request.
  const httpServer = http.createServer();
  const lifecycle = new Lifecycle(httpServer);
  const whileStarting = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const { pathname } = splitUrl(req.url);
    if (req.method === 'GET' && pathname === '/health') return sendJson(res, 200, healthReport());
    if (req.method === 'GET' && pathname === '/ready') return sendJson(res, 503, { status: lifecycle.state });
    sendHttpError(res, lifecycle.refusal()!);
  };
  httpServer.on('request', whileStarting);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });

  const cache = await createCallCache(config.cache, config.connections.map(cacheIdentity), logger, ({ hits, misses }) => {
    metrics.cacheHits.inc({ cache: 'calls' }, hits);
    metrics.cacheMisses.inc({ cache: 'calls' }, misses);
  });
  const events = await createEventSource({
    registry,
    settings: { ...config.watch, intervalMs: watchIntervals(config), policy: watchPolicies(config) },
    logger,
    observer: metrics.observeWatch,
    redis: config.cache.redisUrl ? { url: config.cache.redisUrl, namespaces: new Map(config.connections.map((c) => [connectionLabel(c), namespaceOf(cacheIdentity(c))])) } : null,
  });
  metrics.observeWatchers(() => events.watchers());
  watchers = () => events.watchers();
  const services: Services = {
    registry,
    cursors,
    observeBatch: options.observeBatch,
    cache,
    scanBudget: config.scanBudget,
    events: options.events ?? events,
    watchDemand: events,
    windows: { window: (label) => events.window(label), maxAgeMs: maxDataAges(config) },
  };
  const safelist = config.persistedQueries
    ? new Safelist(config.persistedQueries, { introspection: !config.production, maxTokens: config.limits.maxTokens })
    : null;

  const schema = guardEntities(createSchema());
  const validationRules = [...protection.validationRules, knownOperationTypes, ...(config.production ? [noIntrospection] : [])];
  const apollo = new ApolloServer<RequestContext>({
    // Executed by graphql-js, every request. graphql-jit once ran recurring documents (+17 % req/s
    // on a page) but answered differently where fields fail: see docs/benchmark.md.
    schema,
    // Refused in production by our own rule (noIntrospection), whose message is in Switchboard's terms.
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // src/index.ts owns SIGINT/SIGTERM: it drains the server (src/lifecycle.ts), then exits.
    stopOnTerminationSignals: false,
    // With a manifest only its operations run, so nothing may register one at run time. Without,
    // automatic persisted queries, kept in Redis (shared by every replica) when REDIS_URL is set.
    persistedQueries: safelist
      ? false
      : config.cache.redisUrl && cache
        ? { cache: new RedisApqCache(cache.store), ttl: APQ_TTL_SECONDS }
        : undefined,
    csrfPrevention: true,
    validationRules: [...validationRules, noSubscriptionOverJson],
    parseOptions: protection.parseOptions,
    // Apollo's own count (the transports run the same count, protection.selectionRule). Set, it also
    // makes Apollo run `validationRules` only on a document that passed the spec's rules: one error
    // for what is wrong in an invalid document, not one more per rule of ours.
    maxRecursiveSelections: config.limits.maxSelections,
    formatError: formatError(logger, invalidRowLog),
    // Compact JSON rather than Apollo's pretty-printed default: smaller responses (no req/s gain measured).
    stringifyResult: (result) => JSON.stringify(result),
    plugins: [
      upstreamFailuresPlugin(invalidRowLog),
      requestErrorStatusPlugin,
      noSubscriptionOverJsonPlugin,
      metrics.plugin<RequestContext>(),
      requestLogPlugin<RequestContext>(logger),
      ...(options.tracing ? [tracingPlugin<RequestContext>()] : []),
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
  try {
    await apollo.start();
  } catch (error) {
    await new Promise((resolve) => httpServer.close(resolve));
    await events.close();
    await cache?.close();
    await rates.close();
    throw error;
  }

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

  /** The 503 OVERLOADED refusal of a request or upgrade load shedding turned away. */
  const overloaded = (shed: Shed) => {
    const seconds = config.overload.retryAfterSeconds;
    return new HttpError(503, `Switchboard is overloaded (${shed.message}): retry after ${seconds} s`, ErrorCode.Overloaded, { 'retry-after': String(seconds) });
  };
  const shapeError = formatError(logger, invalidRowLog);
  const live = createLiveTransports({
    schema,
    services,
    selectionRule: protection.selectionRule,
    validationRules,
    checkOperation: protection.checkOperation,
    maxSubscriptions: config.maxSubscriptions,
    onRefused: () => metrics.shed.inc({ reason: 'subscriptions' }),
    maxTokens: config.limits.maxTokens,
    maxMessageBytes: config.maxBodyBytes,
    production: config.production,
    logger,
    safelist,
    access,
    refuseUpgrade: () => {
      const shed = lifecycle.refusal() ?? load.admitStream();
      return shed instanceof HttpError || shed === null ? shed : overloaded(shed);
    },
    detach: (socket) => lifecycle.detach(socket as import('node:net').Socket),
    formatResult: (result, ctx) => {
      const errors = [
        ...(result.errors ?? []).map((error) => shapeError(error.toJSON(), error)),
        ...upstreamFailureErrors(ctx.upstreamFailures, invalidRowLog),
      ];
      return errors.length > 0 ? { data: result.data, errors } : { data: result.data };
    },
    callbacks: config.subscriptionCallbacks,
    retryAfterSeconds: config.overload.retryAfterSeconds,
  });
  metrics.observeSubscriptions(() => live.openByTransport());
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
    wantsWebSocket(req) ? live.upgrade(req, socket, head) : ignoreUpgrade(httpServer, req, socket, head),
  );

  /** POST or GET /graphql: shed load, authenticate, read the body, hold it to the safelist, run it through Apollo. */
  const graphqlEndpoint = async (req: http.IncomingMessage, res: http.ServerResponse, search: string, trace: RequestTrace | null) => {
    // A subscription over SSE stays open as long as its subscriber: checked against the bounds, not counted in flight.
    const eventStream = live.wantsEventStream(req);
    const shed = eventStream ? load.admitStream() : load.admit(res);
    if (shed) {
      holdConnection(req, res);
      throw overloaded(shed);
    }
    const caller = access(req.headers.authorization);
    // Queries over GET are side-effect free and Switchboard uses no cookies (keys are bearer tokens a
    // browser never attaches by itself), so plain GETs — the GraphQL-over-HTTP convention — are let
    // through Apollo's CSRF check, which stays on for POST.
    if (req.method === 'GET' && !req.headers['content-type']) req.headers['x-apollo-operation-name'] ??= 'get';
    let params = { body: await readJsonBody(req, config.maxBodyBytes), search };
    if (safelist) params = safelist.admit(req.method ?? 'GET', params);
    if (eventStream) return live.serveEventStream(req, res, params.body, params.search, caller);
    // A router subscribing over Apollo's HTTP callback protocol: answered by the transports, not Apollo.
    const callback = req.method === 'POST' ? callbackExtension(params.body) : undefined;
    if (callback !== undefined) return live.serveCallback(res, params.body, callback, caller);
    await executeGraphQL(apollo, req, res, params.body, params.search, async () => createRequestContext(services, caller, trace));
  };

  /** The endpoint inside its server span (tracing on): ended with the status sent or the refusal. */
  const tracedGraphqlEndpoint = async (req: http.IncomingMessage, res: http.ServerResponse, search: string, tracing: Tracing) => {
    const trace = tracing.startRequest(req.method ?? 'GET', req.headers);
    try {
      await graphqlEndpoint(req, res, search, trace);
      trace.end(res.statusCode);
    } catch (error) {
      const refusal = error instanceof HttpError ? error : null;
      trace.end(refusal?.status ?? 500, [refusal?.code ?? ErrorCode.Internal]);
      throw error;
    }
  };

  // Provider pushes: authenticated by their signatures, not API keys; not shed (a refusal only delays them).
  const pushes = pushEndpoint({
    connections: config.connections,
    events,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    count: (connection, outcome) => metrics.pushes.inc({ connection, outcome }),
  });

  const routes = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const { pathname, search } = splitUrl(req.url);
    if (graphiql?.(req, res, pathname, search)) return;
    if (pathname === '/graphql') {
      const draining = lifecycle.refusal();
      if (draining) throw draining;
      return options.tracing ? tracedGraphqlEndpoint(req, res, search, options.tracing) : graphqlEndpoint(req, res, search, null);
    }
    if (req.method === 'GET' && pathname === '/health') return sendJson(res, 200, healthReport());
    if (pathname.startsWith('/providers/')) {
      const draining = lifecycle.refusal();
      if (draining) throw draining;
      if (await pushes(req, res, pathname)) return;
    }
    if (req.method === 'GET' && pathname === '/ready') {
      return sendJson(res, lifecycle.state === 'ready' ? 200 : 503, { status: lifecycle.state });
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

  // Refusals (401, 413, 503, malformed JSON, unknown route) and anything unexpected: a JSON answer, never a stack.
  httpServer.off('request', whileStarting);
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    routes(req, res).catch((error: unknown) => {
      if (!(error instanceof HttpError)) logger.error({ err: error }, 'unhandled HTTP error');
      if (res.headersSent) return void res.destroy();
      sendHttpError(res, error instanceof HttpError ? error : new HttpError(500, 'Internal server error', ErrorCode.Internal));
    });
  });

  // Webhooks render each call with the schema subscribers are served from (src/live/webhooks.ts).
  const webhooks = config.webhooks.endpoints.length > 0
    ? startWebhooks(config.webhooks, { events: services.events, services, schema, logger, metrics })
    : null;

  lifecycle.markReady();
  const port = (httpServer.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}/graphql`,
    registry,
    metrics,
    events,
    stop: async ({ graceMs = config.shutdownGraceMs } = {}) => {
      // Refuses new requests and upgrades first, then completes open subscriptions (whose SSE
      // streams are requests in flight the drain waits for).
      const drained = lifecycle.drain(graceMs);
      await live.drain();
      const result = await drained;
      await webhooks?.stop();
      await events.close();
      await apollo.stop();
      await cache?.close();
      await rates.close();
      return result;
    },
  };
}
