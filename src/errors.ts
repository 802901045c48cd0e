/**
 * Errors made in the layer that knows what failed. `src/server.ts#formatError` is the one place
 * that shapes them for clients: only `message`, `code` and the fields listed in `publicExtensions`
 * ever leave the server.
 */
import type { ConnectionRef, Provider } from './calls/model.js';

export const ErrorCode = {
  BadUserInput: 'BAD_USER_INPUT',
  ProviderUnavailable: 'PROVIDER_UNAVAILABLE',
  Unauthenticated: 'UNAUTHENTICATED',
  Internal: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

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
   * Worth another try: rate limits, 5xx and connection resets. Not time-outs (a hung upstream would
   * triple the wait), 4xx, bad bodies or an open breaker.
   */
  get retryable(): boolean {
    if (this.failure === 'RATE_LIMITED' || this.failure === 'NETWORK') return true;
    return this.failure === 'HTTP_STATUS' && (this.details.status ?? 0) >= 500;
  }
}
