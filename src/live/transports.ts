/**
 * Subscriptions' transports on /graphql: GraphQL over WebSocket (`graphql-ws`, protocol
 * graphql-transport-ws, on the `ws` server), GraphQL over SSE (`graphql-sse`, distinct
 * connections mode: a GET or POST with `Accept: text/event-stream`) and, for routers, Apollo's HTTP
 * callback protocol (a POST with `extensions.subscription`; src/live/callbacks.ts). All carry
 * subscription operations only (queries and mutations are answered as JSON by the ordinary
 * endpoint), check the same API keys as queries, hold documents to exactly the limits of queries
 * (tokens, validation rules, cost: src/security/queryLimits.ts; with a manifest, the safelist),
 * share one bound on open subscriptions (SWITCHBOARD_MAX_SUBSCRIPTIONS), and shape errors with the
 * one formatter (src/server.ts).
 *
 * Each event executes with a fresh request context (its own loaders, failures and scan budget) of
 * the subscriber's key: graphql-js's `subscribe` would run every event with the one context of the
 * subscription, whose loaders would then cache details (and failures) for its whole life.
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
  Kind,
  type OperationDefinitionNode,
  type GraphQLSchema,
  type ValidationRule,
  createSourceEventStream,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
} from 'graphql';
import { createHandler as createSseHandler, type Response as SseResponse } from 'graphql-sse';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import Negotiator from 'negotiator';
import { type WebSocket, WebSocketServer } from 'ws';
import { type RequestContext, type Services, createRequestContext } from '../context.js';
import { CostLimitError, ErrorCode } from '../errors.js';
import { HttpError, sendJson } from '../graphqlOverHttp.js';
import type { Logger } from '../logger.js';
import { type CallbackSettings, CallbackSubscription, checkFailed, postCallback, readCallbackRequest } from './callbacks.js';
import type { Safelist } from '../persistedQueries.js';

/** Who subscribes: what `createRequestContext` takes (the API key's id and scope). */
export interface Caller {
  scopeId: string;
  scope: readonly string[] | null;
}

/** What the transports take from the server. */
export interface LiveHost {
  schema: GraphQLSchema;
  services: Services;
  /** The selection count (src/security/queryLimits.ts), run beside graphql-js's own rules. */
  selectionRule: ValidationRule;
  /** The server's validation rules beyond those (limits, known operation types, …), run on a document that passed them. */
  validationRules: readonly ValidationRule[];
  /**
   * The checks of a resolved operation with its variables that the HTTP path runs after validation
   * (src/security/queryLimits.ts: the cost estimate); throws the coded error of a refusal.
   */
  checkOperation(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Readonly<Record<string, unknown>>): void;
  /** Subscriptions open at once over every transport, at most (SWITCHBOARD_MAX_SUBSCRIPTIONS). */
  maxSubscriptions: number;
  /** Counts a subscription refused for that bound (metrics). */
  onRefused(): void;
  /** graphql-js `parse` token limit (SWITCHBOARD_MAX_TOKENS). */
  maxTokens: number;
  /** The largest WebSocket message read, in bytes (SWITCHBOARD_MAX_BODY_BYTES, as for a request body); a larger one closes the socket with 1009. */
  maxMessageBytes: number;
  /** Production: validation messages lose graphql-js's "Did you mean …?" (as Apollo's plugin strips them over HTTP). */
  production: boolean;
  /** The persisted-query safelist, when a manifest is configured: WebSocket documents are held to it too. */
  safelist: Safelist | null;
  /** The caller an `Authorization` header value names; throws HttpError 401 when it names none. */
  access(authorization: string | undefined): Caller;
  /**
   * Why a WebSocket upgrade must be refused now (starting, draining, overloaded), or null. A
   * refused upgrade is answered with this status and JSON error, as a refused request would be.
   */
  refuseUpgrade(): HttpError | null;
  /** The upgraded socket leaves the HTTP server's lifecycle bookkeeping: the WebSocket side owns it. */
  detach(socket: Duplex): void;
  /** Where an unexpected failure of the WebSocket protocol handling (a bug, never a client's doing) and a callback router's failures (its host only) are logged. */
  logger: Logger;
  /** Shapes one result for clients: each error through the one formatter, plus the upstream failures `ctx` met. */
  formatResult(result: ExecutionResult, ctx: RequestContext): FormattedExecutionResult;
  /** Apollo's callback protocol: the allowed callback URLs (none: off). */
  callbacks: CallbackSettings;
  /** Retry-After seconds of a refusal for load (SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS). */
  retryAfterSeconds: number;
}

/** A subscription document ready to run, or why not (errors already in client form, and an HTTP status and headers for SSE and callbacks). */
type Prepared =
  | { ok: true; args: ExecutionArgs & { contextValue: RequestContext } }
  | { ok: false; status: number; errors: GraphQLError[]; headers?: Record<string, string> };

/** The transport a subscription came by: the label of `switchboard_subscriptions_open`. */
export type Transport = 'websocket' | 'sse' | 'callback';

/** The body of a GraphQL request as the transports receive it (graphql-ws `SubscribePayload`, graphql-sse params). */
interface GraphQLParams {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

const coded = (message: string, code: ErrorCode) => new GraphQLError(message, { extensions: { code } });

/** Errors `prepare` made (all coded, none a resolver's, their extensions all ours), as the body of an HTTP refusal. */
const refusalBody = (errors: readonly GraphQLError[]) => ({ errors: errors.map((e) => ({ message: e.message, extensions: e.extensions })) });

/** Why subscriptions do not come as a single JSON answer: for the refusal of one sent that way. */
export const SUBSCRIPTION_TRANSPORTS_MESSAGE =
  'Subscriptions are served at /graphql over WebSocket (the graphql-transport-ws protocol of graphql-ws) or Server-Sent Events ' +
  '(GraphQL over SSE: a GET or POST with "Accept: text/event-stream"), or to a router over Apollo\'s HTTP callback protocol ' +
  '(a POST with "extensions.subscription"), not as a single JSON response; see docs/live.md';

const subscriptionOverJson = (node: OperationDefinitionNode) =>
  new GraphQLError(SUBSCRIPTION_TRANSPORTS_MESSAGE, { nodes: node, extensions: { code: ErrorCode.ValidationFailed, http: { status: 400 } } });

/**
 * A subscription sent as an ordinary GraphQL-over-HTTP request (a POST or GET answered with JSON)
 * is refused, naming the transports, like an operation type the schema lacks
 * (src/security/operationTypes.ts): graphql-js would otherwise run it as a query and fail on its
 * null root value (an internal error). What is refused is the operation that would run, not a
 * document that merely holds one beside others (GraphiQL sends its whole editor, a query and a
 * subscription, with the name of the one to run), in two steps:
 *
 * - this validation rule, of the JSON endpoint only (the transports run subscriptions), refuses a
 *   document whose operations are all subscriptions: whichever is selected is one, and refusing it
 *   at validation comes before Apollo Server's bare 405 for a GET of a non-query;
 * - `noSubscriptionOverJsonPlugin` refuses the selected operation of a mixed document when it is
 *   the subscription (a POST; Apollo Server answers a GET of it 405 first).
 */
export const noSubscriptionOverJson: ValidationRule = (context) => {
  const operations = context.getDocument().definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const onlySubscriptions = operations.every((operation) => operation.operation === 'subscription');
  return {
    OperationDefinition(node) {
      if (onlySubscriptions) context.reportError(subscriptionOverJson(node));
    },
  };
};

/** The second step of `noSubscriptionOverJson`: the resolved operation of a mixed document. 400 GRAPHQL_VALIDATION_FAILED. */
export const noSubscriptionOverJsonPlugin: ApolloServerPlugin<BaseContext> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation === 'subscription') throw subscriptionOverJson(operation);
      },
    };
  },
};

export interface LiveTransports {
  /** Whether a /graphql request asks for an event stream (GraphQL over SSE) rather than JSON. */
  wantsEventStream(req: http.IncomingMessage): boolean;
  /**
   * Serves a GraphQL over SSE request whose body (or query string) the server has already read,
   * authenticated and admitted. Resolves when the stream ends.
   */
  serveEventStream(req: http.IncomingMessage, res: http.ServerResponse, body: unknown, search: string, caller: Caller): Promise<void>;
  /** The HTTP server's 'upgrade' listener: WebSocket on /graphql, anything else refused. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Serves a POST whose body carries `extensions.subscription` (Apollo's HTTP callback protocol),
   * already read, authenticated, admitted and held to the safelist: checks the callback URL against
   * the allowlist, the document, then the router (the initial `check`), and answers `{"data":null}`
   * once the subscription runs; its events then go to the callback URL.
   * @throws HttpError 403 CALLBACK_URL_NOT_ALLOWED (callbacks off, or a URL not allowed: nothing is
   *   sent to it), 400 BAD_REQUEST (a malformed extension), 502 CALLBACK_CHECK_FAILED. A refused
   *   document, and 503 OVERLOADED (SWITCHBOARD_MAX_SUBSCRIPTIONS open), are answered, not thrown.
   */
  serveCallback(res: http.ServerResponse, body: unknown, extension: unknown, caller: Caller): Promise<void>;
  /** Subscriptions open now, over every transport. */
  readonly open: number;
  /** Subscriptions open now, by transport (the gauge `switchboard_subscriptions_open`). */
  openByTransport(): Record<Transport, number>;
  /**
   * Graceful drain: completes every open subscription (WebSocket clients receive `complete`, SSE
   * streams their `complete` event and end, callback URLs a `complete` message), then closes the
   * WebSockets (1001 Going Away).
   */
  drain(): Promise<void>;
}

/** A WebSocket whose client leaves more than this unread (bytes not yet taken by the network) is cut off when it sends again. */
export const MAX_UNSENT_BYTES = 1 << 20;

/** How often a WebSocket client is pinged, and how long it has to answer (graphql-ws's default). */
const KEEP_ALIVE_MS = 12_000;

/**
 * Why a WebSocket opening handshake cannot be answered (RFC 6455 §4.2.1: a GET with a 16-byte
 * base64 `Sec-WebSocket-Key` and `Sec-WebSocket-Version` 13, or 8 which ws takes too), as the coded
 * refusal the server answers with; null when it can. ws would answer these with a bare text/html.
 */
function malformedHandshake(req: http.IncomingMessage): HttpError | null {
  if (req.method !== 'GET') return new HttpError(405, 'A WebSocket opening handshake is a GET request', ErrorCode.BadRequest, { allow: 'GET' });
  if (!/^[+/0-9A-Za-z]{22}==$/.test(req.headers['sec-websocket-key'] ?? '')) {
    return new HttpError(400, 'Not a WebSocket opening handshake: the Sec-WebSocket-Key header is missing or malformed', ErrorCode.BadRequest);
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return new HttpError(400, 'Unsupported Sec-WebSocket-Version: send 13', ErrorCode.BadRequest, { 'sec-websocket-version': '13, 8' });
  }
  return null;
}

/** Resolves once `res` can take more (or has closed). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/**
 * graphql-sse's own refusals of a request it cannot read (no query, `variables` in a GET that are
 * not JSON) come without a code, unlike those of `prepare`: as a coded HttpError (400 BAD_REQUEST),
 * or null when `status` is no refusal or already coded.
 */
function uncodedRefusal(status: number, body: string | null | AsyncIterable<string>): HttpError | null {
  if (status < 400) return null;
  let errors: Array<{ message?: unknown; extensions?: { code?: unknown } }> = [];
  try {
    errors = (JSON.parse(typeof body === 'string' ? body : '') as { errors?: typeof errors }).errors ?? [];
  } catch {
    // No JSON body: the status alone.
  }
  if (errors.length > 0 && errors.every((e) => typeof e.extensions?.code === 'string')) return null;
  const said = typeof errors[0]?.message === 'string' ? errors[0].message : STATUS_CODES[status];
  // graphql-sse says "Unparsable URL" when a GET's variables or extensions are not JSON.
  const message = said === 'Unparsable URL' ? 'The query string\'s "variables" and "extensions" must be JSON' : said;
  return new HttpError(status, `GraphQL over SSE: ${message}`, ErrorCode.BadRequest);
}

export function createLiveTransports(host: LiveHost): LiveTransports {
  // Two passes, as Apollo Server validates: the spec's rules and the selection count, then ours.
  const firstRules = [...specifiedRules, host.selectionRule];
  const callers = new WeakMap<RequestContext, Caller>();
  // SSE: what a subscription waits for before it takes its next event, while its client does not read.
  const paces = new WeakMap<RequestContext, () => Promise<void> | undefined>();
  const open = new Map<AsyncIterableIterator<FormattedExecutionResult>, Transport>();
  // The bound on open subscriptions (SWITCHBOARD_MAX_SUBSCRIPTIONS) counts those prepared and not yet
  // started too (createSourceEventStream is awaited; a callback's check is in flight): a burst of
  // subscribe messages on one socket would otherwise all pass the check before any is open.
  const reserved = new Map<RequestContext, Transport>();
  const transportOf = new WeakMap<RequestContext, Transport>();
  /** A reservation is given up (idempotent): its subscription is open, was refused, or will not start. */
  const unreserve = (ctx: RequestContext) => void reserved.delete(ctx);

  /** In production, graphql-js's "Did you mean …?" goes (the same pattern as @apollo/server's ApolloServerPluginDisableSuggestions). */
  const withoutSuggestions = (message: string) => (host.production ? message.replace(/ ?Did you mean(.+?)\?$/, '') : message);

  /**
   * Parses, validates and resolves the operation, which must be a subscription, holds it to the
   * same limits as a query over HTTP (src/security/queryLimits.ts: tokens, validation rules, then
   * cost), and reserves it a place under SWITCHBOARD_MAX_SUBSCRIPTIONS (503 OVERLOADED when none is
   * left, checked first: refusing under load should cost nothing).
   */
  function prepare(params: GraphQLParams, caller: Caller, kind: Transport, transport = 'WebSocket and text/event-stream carry', status = 406): Prepared {
    const refuse = (status: number, error: GraphQLError): Prepared => ({ ok: false, status, errors: [error] });
    if (open.size + reserved.size >= host.maxSubscriptions) {
      host.onRefused();
      const seconds = host.retryAfterSeconds;
      const message = `Switchboard is overloaded (${open.size + reserved.size} subscriptions are open, SWITCHBOARD_MAX_SUBSCRIPTIONS): retry after ${seconds} s`;
      return { ok: false, status: 503, errors: [coded(message, ErrorCode.Overloaded)], headers: { 'retry-after': String(seconds) } };
    }
    if (typeof params.query !== 'string') return refuse(400, coded('A GraphQL document is required in "query"', ErrorCode.BadRequest));
    if (params.operationName != null && typeof params.operationName !== 'string') {
      return refuse(400, coded('"operationName" must be a string', ErrorCode.BadRequest));
    }
    if (params.variables != null && (typeof params.variables !== 'object' || Array.isArray(params.variables))) {
      return refuse(400, coded('"variables" must be an object', ErrorCode.BadRequest));
    }
    let document: DocumentNode;
    try {
      document = parse(params.query, { maxTokens: host.maxTokens });
    } catch (error) {
      return refuse(400, coded((error as GraphQLError).message, ErrorCode.ParseFailed));
    }
    let invalid = validate(host.schema, document, firstRules);
    if (invalid.length === 0) invalid = validate(host.schema, document, host.validationRules);
    if (invalid.length > 0) {
      return { ok: false, status: 400, errors: invalid.map((e) => coded(withoutSuggestions(e.message), ErrorCode.ValidationFailed)) };
    }
    const operationName = (params.operationName as string | null | undefined) ?? undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) {
      const message = operationName ? `Unknown operation named "${operationName.slice(0, 100)}".` : 'Must provide operation name if query contains multiple operations.';
      return refuse(400, coded(message, ErrorCode.OperationResolutionFailure));
    }
    if (operation.operation !== 'subscription') {
      return refuse(status, coded(`${transport} subscriptions only; send ${operation.operation} operations as POST or GET /graphql asking for JSON`, ErrorCode.BadRequest));
    }
    try {
      host.checkOperation(host.schema, document, operation, (params.variables as Record<string, unknown> | undefined) ?? {});
    } catch (error) {
      if (!(error instanceof CostLimitError)) throw error;
      // As src/server.ts formatError shapes it over HTTP.
      return refuse(400, new GraphQLError(error.message, { extensions: { code: error.code, 'cost.estimated': error.estimated, 'cost.max': error.max } }));
    }
    const contextValue = createRequestContext(host.services, caller);
    callers.set(contextValue, caller);
    transportOf.set(contextValue, kind);
    reserved.set(contextValue, kind);
    return {
      ok: true,
      args: { schema: host.schema, document, operationName, variableValues: params.variables as Record<string, unknown> | undefined, contextValue },
    };
  }

  /**
   * graphql-js `subscribe`, but each event executes with a fresh context of the same caller and
   * its result is shaped for clients. The stream is registered for drain until it ends.
   */
  async function subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<FormattedExecutionResult> | FormattedExecutionResult> {
    const first = args.contextValue as RequestContext;
    const caller = callers.get(first)!;
    const pace = paces.get(first);
    let stream: Awaited<ReturnType<typeof createSourceEventStream>>;
    try {
      stream = await createSourceEventStream(args);
    } finally {
      unreserve(first);
    }
    if (!(Symbol.asyncIterator in stream)) {
      // Refused before any event: a bad filter (BAD_USER_INPUT from the resolver, at its path) or
      // variables that do not coerce (graphql-js's errors of the whole operation, without a path,
      // some wrapping an enum's or scalar's own uncoded error; Apollo Server calls them BAD_USER_INPUT).
      const errors = (stream.errors ?? []).map((e) =>
        e.path ? e : new GraphQLError(withoutSuggestions(e.message), { nodes: e.nodes, extensions: { code: ErrorCode.BadUserInput } }),
      );
      return host.formatResult({ errors }, first);
    }
    const events = stream as AsyncIterableIterator<unknown>;
    const mapped: AsyncIterableIterator<FormattedExecutionResult> = {
      async next() {
        // graphql-sse queues every result it is given without bound: while the client does not
        // read, the events wait in the subscription's bounded buffer instead (src/resolvers/Subscription.ts).
        await pace?.();
        const event = await events.next();
        if (event.done) {
          open.delete(mapped);
          return { value: undefined, done: true };
        }
        const contextValue = createRequestContext(host.services, caller);
        const result = await execute({ ...args, rootValue: event.value, contextValue });
        return { value: host.formatResult(result, contextValue), done: false };
      },
      async return() {
        open.delete(mapped);
        await events.return?.();
        return { value: undefined, done: true };
      },
      async throw(error?: unknown) {
        open.delete(mapped);
        await events.return?.();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    open.set(mapped, transportOf.get(first) ?? 'websocket');
    return mapped;
  }

  // --- GraphQL over WebSocket ---------------------------------------------------------------
  // ws reads messages of up to 100 MiB by default, whole, before graphql-ws sees them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: host.maxMessageBytes, handleProtocols });
  type WsExtra = { socket: WebSocket; request: http.IncomingMessage; caller?: Caller };
  const wsServer = makeServer<Record<string, unknown> | undefined, WsExtra>(
    {
      // graphql-ws's own refusals: returning false closes with 4403 Forbidden.
      onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const fromParams = params.Authorization ?? params.authorization;
        const authorization = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        try {
          (ctx.extra as WsExtra).caller = host.access(authorization);
          return true;
        } catch (error) {
          if (error instanceof HttpError) return false;
          throw error;
        }
      },
      onSubscribe(ctx, _id, payload) {
        let params: GraphQLParams = payload;
        if (host.safelist) {
          // The protocol requires a string `query`: an empty one beside a persisted-query id is no body.
          const { query, ...rest } = payload;
          const body = query === '' && rest.extensions?.persistedQuery ? rest : payload;
          try {
            params = host.safelist.admit('POST', { body, search: '' }).body as GraphQLParams;
          } catch (error) {
            if (error instanceof HttpError) return [coded(error.message, error.code)];
            throw error;
          }
        }
        const prepared = prepare(params, (ctx.extra as WsExtra).caller!, 'websocket');
        return prepared.ok ? prepared.args : prepared.errors;
      },
      subscribe: subscribe as unknown as (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>,
      // Results are already in client form (formatted errors): sent as they are.
      onNext: (_ctx, _id, _payload, _args, result) => result,
      // Never reached: onSubscribe refuses every operation but subscriptions.
      execute: () => ({ errors: [coded(SUBSCRIPTION_TRANSPORTS_MESSAGE, ErrorCode.BadRequest)] }),
    },
  );

  /**
   * A socket served by graphql-ws, as its `graphql-ws/use/ws` does it but for what a client does
   * wrong or leaves undone, which that printed on stderr with a stack ("Internal error …") per
   * event: a failed send (the client left; its close ends its subscriptions) and a socket error (a
   * message over `maxPayload` or a bad frame, which ws answers itself by closing with 1009 or 1002)
   * are the client's, not errors. And a client that sends on while reading nothing is cut off:
   * every message may be answered (a pong echoing its payload, an error), and what it does not
   * read would be kept for it without bound. Events never pile up so: each send is waited for.
   */
  wss.on('connection', (socket: WebSocket, request: http.IncomingMessage) => {
    socket.on('error', () => {});
    // Keep-alive as graphql-ws's default (12 s): a client that does not answer a ping in time is gone.
    let pongWait: NodeJS.Timeout | null = null;
    const pinger = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once('pong', () => pongWait && clearTimeout(pongWait));
      socket.ping();
    }, KEEP_ALIVE_MS);
    const closed = wsServer.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, () => resolve());
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', (data) => {
            if (socket.bufferedAmount > MAX_UNSENT_BYTES) return void socket.terminate();
            handle(String(data)).catch((error: unknown) => {
              host.logger.error({ err: error }, 'unexpected error while handling a WebSocket message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            });
          }),
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(pinger);
      if (pongWait) clearTimeout(pongWait);
      void closed(code, String(reason));
    });
  });

  function refuseUpgrade(socket: Duplex, error: HttpError) {
    const body = JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });
    const headers = { ...error.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), connection: 'close' };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n${head}\r\n${body}`);
  }

  // --- GraphQL over SSE -------------------------------------------------------------------------
  // graphql-sse types its context as a plain record; ours is the RequestContext prepare() builds.
  const sse = createSseHandler<http.IncomingMessage, { caller: Caller; pace: () => Promise<void> | undefined }, Record<PropertyKey, unknown>>({
    // Distinct connections mode only: no reservation tokens (single connection mode's PUT).
    authenticate: () => undefined,
    // Validated in prepare(), with the server's rules.
    validate: () => [],
    onSubscribe(req, params): SseResponse | (ExecutionArgs & { contextValue: Record<PropertyKey, unknown> }) {
      const prepared = prepare(params, req.context.caller, 'sse');
      if (prepared.ok) {
        paces.set(prepared.args.contextValue, req.context.pace);
        return prepared.args as unknown as ExecutionArgs & { contextValue: Record<PropertyKey, unknown> };
      }
      const body = JSON.stringify(refusalBody(prepared.errors));
      const headers = { ...prepared.headers, 'content-type': 'application/json; charset=utf-8' };
      return [body, { status: prepared.status, statusText: STATUS_CODES[prepared.status]!, headers }];
    },
    // Results are already in client form (formatted errors), which the transports serialise as they are.
    subscribe: subscribe as unknown as (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>,
    execute: () => ({ errors: [coded(SUBSCRIPTION_TRANSPORTS_MESSAGE, ErrorCode.BadRequest)] }),
  });

  // --- Apollo's HTTP callback protocol ---------------------------------------------------------
  const callbackSubscriptions = new Set<CallbackSubscription>();
  let draining = false;

  async function serveCallback(res: http.ServerResponse, body: unknown, extension: unknown, caller: Caller): Promise<void> {
    const request = readCallbackRequest(extension, host.callbacks);
    const prepared = prepare(body as GraphQLParams, caller, 'callback', "Apollo's HTTP callback protocol carries", 400);
    if (!prepared.ok) return sendJson(res, prepared.status, refusalBody(prepared.errors), prepared.headers);
    let results: Awaited<ReturnType<typeof subscribe>>;
    try {
      // The router answers the subgraph's request only after this check (callback/1.0).
      const check = await postCallback(request, 'check');
      if (check.kind !== 'ok') throw checkFailed(check);
      // The router gave up on its request meanwhile: it has no subscription to send events to.
      if (res.destroyed) return;
      // Shutdown began during the check: drain() would not complete a subscription started now.
      if (draining) throw new HttpError(503, 'Switchboard is shutting down: subscribe again, another replica will answer', ErrorCode.NotReady, { 'retry-after': '1' });
      results = await subscribe(prepared.args);
    } finally {
      // Its place stays reserved through the check; a subscription that did not start gives it up.
      unreserve(prepared.args.contextValue);
    }
    if (Symbol.asyncIterator in results) {
      const subscription = new CallbackSubscription(request, results, host.logger);
      callbackSubscriptions.add(subscription);
      void subscription.done.finally(() => callbackSubscriptions.delete(subscription));
    } else {
      // Refused before any event (a bad filter): as Apollo Server's callback plugin does, the
      // errors end the subscription at the router with `complete`; the request itself succeeded.
      await postCallback(request, 'complete', { errors: results.errors ?? [] });
    }
    sendJson(res, 200, { data: null });
  }

  return {
    serveCallback,

    wantsEventStream(req) {
      const accept = req.headers.accept;
      if (!accept || !/text\/event-stream/i.test(accept)) return false;
      return new Negotiator({ headers: { accept } }).mediaType(['application/json', 'application/graphql-response+json', 'text/event-stream']) === 'text/event-stream';
    },

    async serveEventStream(req, res, body, search, caller) {
      if (req.method !== 'GET' && req.method !== 'POST') {
        throw new HttpError(405, `GraphQL over SSE is a GET or POST with "Accept: text/event-stream" (single connection mode's ${req.method} is not served)`, ErrorCode.BadRequest, { allow: 'GET, POST' });
      }
      const [stream, init] = await sse({
        method: req.method ?? 'GET',
        url: `/graphql${search}`,
        // graphql-sse takes distinct-connections requests by this exact Accept and a JSON POST by its content type.
        headers: {
          get: (key) => (key === 'accept' ? 'text/event-stream' : key === 'content-type' ? 'application/json' : (req.headers[key] as string | undefined)),
        },
        body: (body ?? null) as Record<string, unknown> | null,
        raw: req,
        context: { caller, pace: () => (res.writableNeedDrain ? drained(res) : undefined) },
      });
      const refusal = uncodedRefusal(init.status, stream);
      if (refusal) throw refusal;
      res.writeHead(init.status, init.statusText, init.headers);
      if (!stream || typeof stream === 'string') return void res.end(stream);
      res.flushHeaders();
      // The client leaving ends the stream, which unsubscribes (graphql-sse returns the operation).
      res.once('close', () => void stream.return(undefined));
      for await (const chunk of stream) {
        if (!res.writable) break;
        res.write(chunk);
      }
      res.end();
    },

    upgrade(req, socket, head) {
      const pathname = (req.url ?? '/').split('?')[0];
      if (pathname !== '/graphql') return refuseUpgrade(socket, new HttpError(404, 'WebSocket subscriptions are served at /graphql', ErrorCode.NotFound));
      const malformed = malformedHandshake(req);
      if (malformed) return refuseUpgrade(socket, malformed);
      const refusal = host.refuseUpgrade();
      if (refusal) return refuseUpgrade(socket, refusal);
      host.detach(socket);
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    },

    get open() {
      return open.size;
    },

    openByTransport() {
      const counts: Record<Transport, number> = { websocket: 0, sse: 0, callback: 0 };
      for (const transport of open.values()) counts[transport] += 1;
      return counts;
    },

    async drain() {
      draining = true;
      await Promise.all([...open.keys()].map((iterator) => iterator.return?.()));
      // Each callback subscription sends its `complete` (bounded by its time-out and retries).
      await Promise.all([...callbackSubscriptions].map((subscription) => subscription.done));
      // Let graphql-ws send the `complete` messages before the sockets close.
      await new Promise((resolve) => setImmediate(resolve));
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

