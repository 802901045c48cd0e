/**
 * Errors made in the layer that knows what failed. `src/server.ts#formatError` is the one place
 * that shapes them for clients: only `message`, `code` and the fields listed in `publicExtensions`
 * ever leave the server.
 */
import { GraphQLError } from 'graphql';
import type { ConnectionRef, Provider } from './calls/model.js';
// A cycle (modules → adapters → errors → modules) that is safe: read only when an error is made.
import { providerModule } from './providers/index.js';

/**
 * Every `extensions.code` a client can receive (docs/operations.md lists each with its HTTP status;
 * test/unit/docs.test.ts keeps the two equal). Some are made here, the rest by Apollo Server and
 * graphql-js, and src/server.ts#formatError lets only these through.
 */
export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  ProviderUnavailable: 'PROVIDER_UNAVAILABLE',
  ProviderDataInvalid: 'PROVIDER_DATA_INVALID',
  Unauthenticated: 'UNAUTHENTICATED',
  Internal: 'INTERNAL_SERVER_ERROR',
  /** Apollo Router's and Hive Gateway's code for the same refusal. */
  CostTooExpensive: 'COST_ESTIMATED_TOO_EXPENSIVE',
  /** 503 while starting or shutting down (src/lifecycle.ts). */
  NotReady: 'NOT_READY',
  /** Safelisting (src/persistedQueries.ts), with Apollo Router's codes: an id the manifest lacks. */
  PersistedQueryNotInList: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** Safelisting: a body the manifest lacks. */
  QueryNotInSafelist: 'QUERY_NOT_IN_SAFELIST',
  /** Safelisting: a persisted-query id and a body in one request. */
  CannotSendIdAndBody: 'CANNOT_SEND_PQ_ID_AND_BODY',
  /** Not a GraphQL request, or refused before GraphQL (body, method, Accept, CSRF). */
  BadRequest: 'BAD_REQUEST',
  /** A path Switchboard does not serve. */
  NotFound: 'NOT_FOUND',
  /** Load shed: too many requests in flight or the event loop too far behind (src/overload.ts). */
  Overloaded: 'OVERLOADED',
  /** A provider push (src/live/pushes.ts) whose signature or credential is missing or does not verify. */
  PushUnverified: 'PUSH_UNVERIFIED',
  /** A provider push whose signed timestamp is outside the provider's tolerance (a replay, or a clock far off). */
  PushExpired: 'PUSH_EXPIRED',
  /** A subscription over Apollo's HTTP callback protocol whose callbackUrl the operator does not allow, or callbacks are off (src/live/callbacks.ts). */
  CallbackUrlNotAllowed: 'CALLBACK_URL_NOT_ALLOWED',
  /** The initial `check` of a callback subscription failed at the router: the subscription was not started. */
  CallbackCheckFailed: 'CALLBACK_CHECK_FAILED',
  // Made by Apollo Server and graphql-js; their messages are safe to show.
  ParseFailed: 'GRAPHQL_PARSE_FAILED',
  ValidationFailed: 'GRAPHQL_VALIDATION_FAILED',
  OperationResolutionFailure: 'OPERATION_RESOLUTION_FAILURE',
  PersistedQueryNotFound: 'PERSISTED_QUERY_NOT_FOUND',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Every extension a client may see on an error, typed once: src/server.ts#formatError builds only
 * these (docs/operations.md lists them).
 */
export interface ErrorExtensions {
  code: ErrorCode | 'BAD_REQUEST' | 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED' | (string & {});
  /** The provider and connection that failed (PROVIDER_UNAVAILABLE, PROVIDER_DATA_INVALID). */
  provider?: Provider;
  connection?: string;
  /** Seconds the provider asked to wait (its Retry-After), on PROVIDER_UNAVAILABLE. */
  retryAfter?: number;
  /** The provider's id of a call whose row did not read, when that field reads. */
  providerCallId?: string;
  /** The argument a BAD_USER_INPUT names, e.g. `filter.phoneNumber`. */
  argument?: string;
  'cost.estimated'?: number;
  'cost.max'?: number;
}

/**
 * Codes of the warnings a response may carry in `extensions.warnings` beside complete data
 * (docs/operations.md): not errors, so clients that drop data on any error keep the page.
 */
export const WarningCode = {
  /** The scan budget ended a `calls` page short; its cursor continues the scan. */
  ScanLimited: 'SCAN_LIMITED',
} as const;
export type WarningCode = (typeof WarningCode)[keyof typeof WarningCode];

/** One entry of `extensions.warnings`: what happened, where, and the connections concerned. */
export interface Warning {
  code: WarningCode;
  message: string;
  path: readonly (string | number)[];
  connections: string[];
}

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

/**
 * An operation whose estimated cost (src/security/cost.ts) is over SWITCHBOARD_MAX_QUERY_COST,
 * refused before it runs with HTTP 400. Clients see the code and, as Apollo Router shows them,
 * `cost.estimated` and `cost.max` in `extensions`.
 */
export class CostLimitError extends GraphQLError {
  readonly code = ErrorCode.CostTooExpensive;
  constructor(
    readonly estimated: number,
    readonly max: number,
  ) {
    super(`Estimated query cost ${estimated} is over the limit of ${max}: ask for fewer calls (first/last) or fewer fields`, {
      extensions: { code: ErrorCode.CostTooExpensive, http: { status: 400 } },
    });
    this.name = 'CostLimitError';
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

/** How messages name a provider: its module's display name ("TalkStack"). */
const displayName = (provider: Provider): string => providerModule(provider).displayName;

/** One connection's upstream failed. Carries no upstream body, URL with credentials or header. */
export class UpstreamError extends Error {
  readonly code = ErrorCode.ProviderUnavailable;
  readonly provider: Provider;
  readonly connection: string;
  readonly details: { status?: number; retryAfter?: number; detail?: string };
  constructor(
    ref: ConnectionRef,
    readonly failure: UpstreamFailure,
    /** `cause`: the lower-level error, kept non-enumerable so that no serialiser sends it on. */
    details: { status?: number; retryAfter?: number; detail?: string; cause?: unknown } = {},
  ) {
    const status = details.status ? ` (HTTP ${details.status})` : '';
    const detail = details.detail ? `: ${details.detail}` : '';
    super(
      `${displayName(ref.provider)} connection "${ref.connection}" ${failureText[failure]}${status}${detail}`,
    );
    const { cause, ...rest } = details;
    this.details = rest;
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
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

/**
 * One row of a provider's answer could not be read (docs/pagination.md, "Unreadable rows"): the
 * rest of the answer stands, and this error names the row without any of its content — provider,
 * connection, the provider's call id when that field reads, and the first offending path with what
 * was expected there (`calls[3].date: expected an RFC 2822 date`). Not an upstream failure: the
 * connection answered, so it counts against no breaker and no health state.
 */
export class InvalidRowError extends Error {
  readonly code = ErrorCode.ProviderDataInvalid;
  readonly provider: Provider;
  readonly connection: string;
  constructor(
    ref: ConnectionRef,
    /** The provider's call id of the row, when it reads (or the id that was asked for); else null. */
    readonly providerCallId: string | null,
    /** The first offending path and what was expected there. */
    readonly problem: string,
    /** A digest of the row (never the row): tells one bad row from another for de-duplication and logs. */
    readonly fingerprint: string,
  ) {
    const id = providerCallId === null ? '' : ` (call id ${providerCallId})`;
    super(
      `${displayName(ref.provider)} connection "${ref.connection}" sent a call Switchboard could not read${id}, left out of the answer: ${problem}`,
    );
    this.name = 'InvalidRowError';
    this.provider = ref.provider;
    this.connection = ref.connection;
  }
}

/**
 * A provider push refused before it has any effect (src/live/pushes.ts): 401 PUSH_UNVERIFIED or
 * PUSH_EXPIRED, or 400 BAD_REQUEST for a verified body that does not read. `message` names what was
 * wrong and never carries the body, a header value or a credential.
 */
export class PushRefusedError extends Error {
  override name = 'PushRefusedError';
  constructor(
    readonly status: 400 | 401,
    readonly code: typeof ErrorCode.PushUnverified | typeof ErrorCode.PushExpired | typeof ErrorCode.BadRequest,
    message: string,
  ) {
    super(message);
  }
}
