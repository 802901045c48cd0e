/**
 * Errors made in the layer that knows what failed. `src/server.ts#formatError` is the one place
 * that shapes them for clients: only `message`, `code` and the fields listed in `publicExtensions`
 * ever leave the server.
 */
import type { ConnectionRef, Provider } from './calls/model.js';

/**
 * Every `extensions.code` a client can receive (docs/operations.md lists each with its HTTP status;
 * test/unit/docs.test.ts keeps the two equal). Some are made here, the rest by Apollo Server and
 * graphql-js, and src/server.ts#formatError lets only these through.
 */
export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  ProviderUnavailable: 'PROVIDER_UNAVAILABLE',
  Unauthenticated: 'UNAUTHENTICATED',
  Internal: 'INTERNAL_SERVER_ERROR',
  /** Not a GraphQL request, or refused before GraphQL (body, method, Accept, CSRF). */
  BadRequest: 'BAD_REQUEST',
  /** A path Switchboard does not serve. */
  NotFound: 'NOT_FOUND',
  /** Load shed: too many requests in flight or the event loop too far behind (src/overload.ts). */
  Overloaded: 'OVERLOADED',
  // Made by Apollo Server and graphql-js; their messages are safe to show.
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  OperationResolutionFailure: 'OPERATION_RESOLUTION_FAILURE',
  PersistedQueryNotFound: 'PERSISTED_QUERY_NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Bad arguments: a message naming the argument, what was expected and what arrived. */
export class BadInputError extends Error {
  readonly code = ErrorCode.BadUserInput;
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(`Argument "${argument}": ${message}`);
    this.name = 'BadInputError';
  }
}

/** Why an upstream request failed; the client sees it in the message, never the upstream body. */
export type UpstreamFailure =
  | 'TIMEOUT'
  | 'NETWORK'
  | 'HTTP_STATUS'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'BAD_BODY'
  | 'TOO_LARGE'
  | 'CIRCUIT_OPEN'
  | 'OVERLOADED'
  | 'EARLIER_PAGE_FAILED';

const failureText: Record<UpstreamFailure, string> = {
  TIMEOUT: 'did not answer in time',
  NETWORK: 'could not be reached',
  HTTP_STATUS: 'answered with an error status',
  RATE_LIMITED: 'is rate limiting requests',
  UNAUTHORIZED: 'refused the configured credentials',
  BAD_BODY: 'sent a response Switchboard could not read',
  TOO_LARGE: 'sent a response larger than the configured limit',
  CIRCUIT_OPEN: 'is failing; requests are paused for a short while',
  OVERLOADED: 'has too many requests waiting',
  EARLIER_PAGE_FAILED:
    'failed on an earlier page of this walk: its calls before this cursor were not returned; start again from the first page to get them',
};

/** Every kind of upstream failure (the `failure` of logs, /health and metrics). */
export const UPSTREAM_FAILURES = Object.keys(failureText) as UpstreamFailure[];

export const providerNames: Record<Provider, string> = {
  TWENTY2: 'Twenty2',
  UNPOD: 'Unpod',
  CINNOX: 'CINNOX',
  TALKSTACK: 'TalkStack',
};

/** One connection's upstream failed. Carries no upstream body, URL with credentials or header. */
export class UpstreamError extends Error {
  readonly code = ErrorCode.ProviderUnavailable;
  readonly provider: Provider;
  readonly connection: string;
  constructor(
    ref: ConnectionRef,
    readonly failure: UpstreamFailure,
    readonly details: { status?: number; retryAfter?: number; detail?: string } = {},
  ) {
    const status = details.status ? ` (HTTP ${details.status})` : '';
    const detail = details.detail ? `: ${details.detail}` : '';
    super(
      `${providerNames[ref.provider]} connection "${ref.connection}" ${failureText[failure]}${status}${detail}`,
    );
    this.name = 'UpstreamError';
    this.provider = ref.provider;
    this.connection = ref.connection;
  }

  /**
   * Fails every request to this connection alike (refused credentials): a batch of look-ups stops
   * at the first such error rather than sending the rest only to be refused the same way.
   */
  get connectionWide(): boolean {
    return this.failure === 'UNAUTHORIZED';
  }

  /**
   * Worth another try: rate limits, 5xx and connection resets. Not time-outs (a hung upstream would
   * triple the wait), 4xx, bad bodies or an open breaker.
   */
  get retryable(): boolean {
    if (this.failure === 'RATE_LIMITED' || this.failure === 'NETWORK') return true;
    return this.failure === 'HTTP_STATUS' && (this.details.status ?? 0) >= 500;
  }
}
