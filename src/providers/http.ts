/**
 * The one HTTP layer every adapter calls its provider through. One got instance for the process
 * (keep-alive agents, no got retries, no cache), used through its stream interface with options
 * prepared once per connection (time-outs); per connection a concurrency cap with a short queue and
 * a circuit breaker (cockatiel's), retries of reads that are safe to repeat, and a time budget per
 * GraphQL request that bounds all of it. Every failure leaves here as an `UpstreamError` naming the
 * connection and carrying no upstream body.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import got, { type Method, Options, type OptionsInit, type Request, RequestError } from 'got';
import {
  BrokenCircuitError,
  type BulkheadPolicy,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  bulkhead,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import type { z } from 'zod';
import type { ConnectionRef } from '../calls/model.js';
import { UpstreamError } from '../errors.js';
import type { RequestTrace } from '../observability/tracing.js';
import { problemOf } from './rows.js';
import { readCapped, utf8Text } from '../readCapped.js';
import { parseHttpDate } from '../time.js';
import { parseUpstreamJson } from './json.js';
import type { UpstreamRate } from './rate.js';

export interface HttpPolicy {
  /** Time allowed to open the TCP connection. */
  connectTimeoutMs: number;
  /** Time allowed until the response headers arrive. */
  responseTimeoutMs: number;
  /** Time allowed for the whole request, body included. */
  totalTimeoutMs: number;
  /** Retries after the first attempt (never more than 2). */
  retries: number;
  /** A `Retry-After` longer than this fails at once instead of waiting. */
  maxRetryAfterMs: number;
  /** Requests in flight per connection; more wait in a queue of `queueSize`. */
  concurrency: number;
  queueSize: number;
  /** Consecutive failures that open the breaker, and how long it stays open. */
  breakerThreshold: number;
  breakerOpenMs: number;
  /** Largest upstream body accepted. */
  maxBodyBytes: number;
  /**
   * Longest one GraphQL request waits on this connection, from its first call to it: queueing for
   * the cap, every try, back-off and later calls (a scan's next pages, look-ups) all come out of it.
   */
  requestBudgetMs: number;
  /**
   * Upstream requests a second per connection (SWITCHBOARD_UPSTREAM_RATE_PER_SECOND; a file
   * connection's `upstreamRatePerSecond` overrides it); 0 is unlimited. Enforced by the
   * `UpstreamRate` a connection is built with (./rate.ts), shared across replicas with Redis.
   */
  ratePerSecond: number;
}

export const defaultHttpPolicy: HttpPolicy = {
  connectTimeoutMs: 2_000,
  responseTimeoutMs: 5_000,
  totalTimeoutMs: 8_000,
  retries: 2,
  maxRetryAfterMs: 2_000,
  concurrency: 16,
  queueSize: 256,
  breakerThreshold: 5,
  breakerOpenMs: 10_000,
  maxBodyBytes: 5 * 1024 * 1024,
  requestBudgetMs: 10_000,
  ratePerSecond: 0,
};

/** Why a 2xx body is still a failure (see `UpstreamRequest.bodyFailure`): no upstream text in `detail`. */
export interface BodyFailure {
  failure: 'HTTP_STATUS' | 'BAD_BODY';
  /** Safe to show: e.g. `error code CALL_NOT_FOUND`, `calls: missing`. */
  detail: string;
}

/** One upstream request. `B` is the parsed body type the optional `bodyFailure` check reads. */
export interface UpstreamRequest<B = unknown> {
  method: 'GET' | 'POST';
  url: string;
  /** Label for logs and metrics, e.g. "GET /call/logs"; never carries credentials. */
  operation: string;
  headers: Record<string, string>;
  searchParams?: Record<string, string | number | undefined>;
  json?: unknown;
  /** Statuses that are answers rather than failures (TalkStack's 404 for "no calls"). */
  answerStatuses?: readonly number[];
  /**
   * Whether a 2xx body that matched its schema still means failure (CINNOX's non-zero `code`,
   * Twenty2's `success: false`, a missing list): the failure it is, or null. Checked here, once,
   * so the failure is logged and counted like any other (the way got's `isUnexpectedStatus` and
   * datasource-rest's `throwIfResponseIsError` decide it in the client, not at each call site).
   */
  bodyFailure?: (body: B) => BodyFailure | null;
}

export interface UpstreamResponse<T> {
  status: number;
  /** The parsed body, or null when the status is one of `answerStatuses`. */
  body: T | null;
}

/** What one upstream request did; for logs and metrics. Never a body or a header. */
export interface UpstreamEvent extends ConnectionRef {
  operation: string;
  status: number | null;
  durationMs: number;
  failure: string | null;
  /** The lower-level error's code when the request never got an answer (`ENOTFOUND`, `ECONNREFUSED`, `CERT_HAS_EXPIRED`). */
  cause?: string;
}

export type UpstreamObserver = (event: UpstreamEvent) => void;

// Keep-alive agents shared by every connection: sockets to each provider are reused across requests.
// No socket cap here: each connection's bulkhead (SWITCHBOARD_UPSTREAM_CONCURRENCY) is the one cap
// on requests in flight; a second, lower one per host would queue requests the bulkhead let through
// (100 look-ups at 50 ms went out in two waves under the former 64). Up to 256 idle sockets per host
// (Node's default) stay open, so a burst of that size reuses its sockets instead of reconnecting.
const agent = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

const client = got.extend({
  agent,
  retry: { limit: 0 }, // cockatiel retries: one layer, not two
  throwHttpErrors: false,
  followRedirect: false,
  decompress: true,
  cache: false,
  http2: false,
});

/** got called with prepared defaults as its third argument (typed there only for got's own use). */
const gotStream = client as unknown as (url: string, options: OptionsInit, defaults: Options) => Request;

/**
 * What got hands Node's http.request, without the keys it leaves undefined (which http.request
 * treats as absent). got sets ~30 keys per request, most undefined, and http.request and the
 * Agent copy the object again with spreads; V8 11 (Node 20) adds every key after a spread on a
 * slow path, so the short object saves ~13% of got's CPU per request (measured, 2026-11-23).
 */
function requestWithSetOptions(
  url: URL,
  options: RequestOptions,
  callback?: (response: IncomingMessage) => void,
): ClientRequest {
  const set: Record<string, unknown> = {};
  for (const key in options) {
    const value = options[key as keyof RequestOptions];
    if (value !== undefined) set[key] = value;
  }
  return (url.protocol === 'https:' ? https : http).request(url, set, callback);
}

/**
 * got options for one connection, built once: got otherwise merges a request's options into a
 * copy of its defaults on every call. `cacheOptions` is emptied (no cache is used): got spreads it
 * at the head of the object literal it builds per request, which made that literal cost ~40 µs
 * on Node 20 (V8's slow path again) against ~3 µs without it.
 */
function preparedOptions(settings: HttpPolicy): Options {
  const options = new Options(
    undefined,
    {
      isStream: true,
      request: requestWithSetOptions,
      timeout: {
        connect: settings.connectTimeoutMs,
        response: settings.responseTimeoutMs,
        request: settings.totalTimeoutMs,
      },
    },
    client.defaults.options,
  );
  options.cacheOptions = {};
  return options;
}

/**
 * Whether `value` can be one segment of an upstream URL path once percent-encoded: not empty, `.`
 * or `..`. got and Node's http parse a URL the WHATWG way, which drops dot segments (URL Standard,
 * "single-dot / double-dot URL path segment", `%2e` spellings included) before sending, so
 * `/v2/get-call/..` would ask for `/v2/`. encodeURIComponent keeps dots but turns a value's own `%`
 * into `%25` (so `%2e%2e` stays a literal name) and `/` into `%2F` (which URL parsing never splits
 * on): after it, only these three values can leave the intended path.
 */
export function isPathSegment(value: string): boolean {
  return value !== '' && value !== '.' && value !== '..';
}

/**
 * `base` (no trailing slash) followed by each of `segments` as one percent-encoded path segment,
 * e.g. `upstreamUrl(base, 'call', id)`; null when a segment is not one (`isPathSegment`): no such
 * resource can exist, so the caller answers "not found" without a request. The one place where a
 * key, id or SID from a client, a config file or an upstream row goes into a URL path.
 */
export function upstreamUrl(base: string, ...segments: string[]): string | null {
  let url = base;
  for (const segment of segments) {
    if (!isPathSegment(segment)) return null;
    url += `/${encodeURIComponent(segment)}`;
  }
  return url;
}

/**
 * Whether an absolute path from an upstream (e.g. a Twilio `uri`, no query) is the path URL parsing
 * would send: false when it has a dot segment in any spelling (`..`, `%2e.`, a backslash taken as `/`)
 * or needs encoding, so that a link or request built on it stays where it says.
 */
export function isPlainPath(path: string): boolean {
  return path.startsWith('/') && URL.canParse(path, 'http://h') && new URL(path, 'http://h').pathname === path;
}

/** `url` with `searchParams` appended, leaving out empty values. */
export function withQuery(url: string, searchParams: UpstreamRequest['searchParams']): string {
  if (!searchParams) return url;
  const query = new URLSearchParams();
  for (const key in searchParams) {
    const value = searchParams[key];
    if (value !== undefined && value !== '') query.append(key, String(value));
  }
  const text = query.toString();
  return text ? `${url}${url.includes('?') ? '&' : '?'}${text}` : url;
}

/** The body was cut off at `maxBodyBytes`. */
class BodyTooLarge extends Error {}

/** Reads `Retry-After` (delay-seconds or an HTTP-date, RFC 9110 §10.2.3) in milliseconds. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    const seconds = Number(text);
    return seconds >= 0 ? seconds * 1000 : undefined;
  }
  // Not Date.parse: it reads an asctime date in the process's time zone, not GMT.
  const date = parseHttpDate(text, now);
  return date === null ? undefined : Math.max(0, date.getTime() - now);
}

/**
 * How long to wait before retry number `retry` (1-based) after `error`, or null when it is not
 * retried: jittered exponential back-off from 50 ms (25–75 ms, then 50–150 ms), or the upstream's
 * `Retry-After` when it sent one no longer than `maxRetryAfterMs`.
 */
export function retryDelay(error: UpstreamError, retry: number, settings: Pick<HttpPolicy, 'retries' | 'maxRetryAfterMs'>): number | null {
  if (retry > Math.min(settings.retries, 2) || !error.retryable) return null;
  const retryAfter = error.details.retryAfter;
  if (retryAfter !== undefined) return retryAfter * 1000 <= settings.maxRetryAfterMs ? retryAfter * 1000 : null;
  const base = 50 * 2 ** (retry - 1);
  return base / 2 + Math.random() * base;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One provider connection's HTTP: its own breaker, cap and retries over the shared client. */
export class ConnectionHttp {
  private readonly gotOptions: Options;
  private readonly breaker;
  private readonly bulkhead: BulkheadPolicy;
  /** Set on a request's view only (`forRequest`): that request's own observer. */
  private readonly requestObserver?: UpstreamObserver;
  /** Set on a request's view only: when that request's time with this connection ends (performance.now()). */
  private readonly requestDeadline?: { at: number | null };
  /** Set on a request's view only, when tracing is on: the parent of this request's upstream spans. */
  private readonly requestTrace?: RequestTrace;

  constructor(
    readonly ref: ConnectionRef,
    private readonly settings: HttpPolicy = defaultHttpPolicy,
    private readonly observe: UpstreamObserver = () => {},
    /** This connection's request budget (./rate.ts); none: unlimited. */
    private readonly rate?: UpstreamRate,
  ) {
    this.gotOptions = preparedOptions(settings);
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof UpstreamError && error.failure !== 'UNAUTHORIZED'),
      {
        halfOpenAfter: settings.breakerOpenMs,
        breaker: new ConsecutiveBreaker(settings.breakerThreshold),
      },
    );
    this.bulkhead = bulkhead(settings.concurrency, settings.queueSize);
  }

  /**
   * A view for one GraphQL request: the same policy (breaker, cap) and client, plus an observer
   * that sees only this request's upstream events and the request's own time budget. Replaces
   * AsyncLocalStorage, whose promise hooks cost about 15% of requests/s on a one-provider page
   * (measured, Node 20). With `trace`, each upstream request is a CLIENT span under its server span.
   */
  forRequest(observe: UpstreamObserver, trace?: RequestTrace): ConnectionHttp {
    return Object.create(this, {
      requestObserver: { value: observe },
      requestDeadline: { value: { at: null } },
      requestTrace: { value: trace },
    }) as ConnectionHttp;
  }

  /** Requests this connection lets be in flight at once. */
  get concurrency(): number {
    return this.settings.concurrency;
  }

  /** `closed`, `open` or `half-open`: for /health. */
  get breakerState(): 'closed' | 'open' | 'half-open' {
    const state = this.breaker.state;
    return state === 1 ? 'open' : state === 2 ? 'half-open' : state === 3 ? 'open' : 'closed';
  }

  /**
   * Sends a request and validates its JSON body with `schema`, retrying what is safe to retry while
   * the request's time budget lasts. Throws `UpstreamError` for every failure, `TIMEOUT` when the
   * budget ran out (queued, in flight or before a retry could be sent), `RATE_LIMITED` when the
   * connection's request rate (./rate.ts) gives it no turn before the budget ends.
   * The body is read without a leading byte order mark and without losing a digit of any number
   * (./json.ts). Without `answerStatuses` an answer always has its body (null never matches a
   * body schema), so callers need no check for a missing one.
   */
  async json<S extends z.ZodType>(
    request: UpstreamRequest<z.infer<S>> & { answerStatuses?: undefined },
    schema: S,
  ): Promise<UpstreamResponse<z.infer<S>> & { body: z.infer<S> }>;
  /** With `answerStatuses`: the body is null when the status is one of them. */
  async json<S extends z.ZodType>(request: UpstreamRequest<z.infer<S>>, schema: S): Promise<UpstreamResponse<z.infer<S>>>;
  async json<S extends z.ZodType>(
    request: UpstreamRequest<z.infer<S>>,
    schema: S,
  ): Promise<UpstreamResponse<z.infer<S>>> {
    const deadline = this.deadline();
    for (let retry = 1; ; retry++) {
      try {
        return await this.attempt(request, schema, deadline, retry - 1);
      } catch (error) {
        const failure = this.upstreamError(error);
        const wait = retryDelay(failure, retry, this.settings);
        // A retry that could not start before the deadline would only be cut off: fail now, with
        // what the provider said (a Retry-After reaches the client as `retryAfter`).
        if (wait === null || performance.now() + wait >= deadline) {
          this.requestTrace?.upstreamFailed(this.ref, request.operation, failure.failure);
          throw failure;
        }
        this.requestTrace?.retry(this.ref, request.operation, failure.failure, retry, wait);
        await sleep(wait);
      }
    }
  }

  /** The end of this request's time with the connection: set by its first call (per call without a view). */
  private deadline(): number {
    const now = performance.now();
    if (!this.requestDeadline) return now + this.settings.requestBudgetMs;
    return (this.requestDeadline.at ??= now + this.settings.requestBudgetMs);
  }

  /**
   * One try through the cap and the breaker, abandoned at `deadline` wherever it is: waiting for a
   * slot (it is then never sent) or in flight (the socket is closed).
   *
   * The cap comes first, so a call that waited for a slot meets the breaker as it is when the call
   * can go: behind a hung provider, the calls queued while the first ones timed out find the breaker
   * open and are not sent. And cockatiel lets calls that meet a half-open breaker wait for its one
   * probe and then run (CircuitBreakerPolicy.execute awaits `state.test`): behind a hung provider
   * every one of them would wait out the probe's time-out. They fail at once instead, as with an
   * open breaker, before and after the queue.
   *
   * Before all of it, each try takes a turn of the connection's request rate (when it has one):
   * over the budget it waits, and fails RATE_LIMITED when its turn would come after `deadline`.
   */
  private async attempt<S extends z.ZodType>(
    request: UpstreamRequest<z.infer<S>>,
    schema: S,
    deadline: number,
    resend: number,
  ): Promise<UpstreamResponse<z.infer<S>>> {
    if (deadline - performance.now() <= 0) throw this.outOfTime();
    if (this.breaker.state === CircuitState.HalfOpen) throw new UpstreamError(this.ref, 'CIRCUIT_OPEN');
    if (this.rate) await this.rate.take(deadline);
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw this.outOfTime();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(this.outOfTime());
      }, remaining);
    });
    const sent = this.bulkhead.execute(({ signal }) => {
      // Out of time while it waited for a slot (its timer may not have fired yet): never sent.
      if (performance.now() >= deadline) throw this.outOfTime();
      if (this.breaker.state === CircuitState.HalfOpen) throw new UpstreamError(this.ref, 'CIRCUIT_OPEN');
      return this.breaker.execute(() => this.once(request, schema, signal, resend), signal);
    }, abort.signal);
    sent.catch(() => {}); // after the deadline nobody waits for it
    try {
      return await Promise.race([sent, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private outOfTime(): UpstreamError {
    return new UpstreamError(this.ref, 'TIMEOUT', { detail: "this request's time budget for it ran out" });
  }

  /** Any failure of a try as an `UpstreamError`. */
  private upstreamError(error: unknown): UpstreamError {
    if (error instanceof UpstreamError) return error;
    if (error instanceof BrokenCircuitError) return new UpstreamError(this.ref, 'CIRCUIT_OPEN');
    if (error instanceof BulkheadRejectedError) return new UpstreamError(this.ref, 'OVERLOADED');
    if (error instanceof TaskCancelledError) return this.outOfTime();
    return new UpstreamError(this.ref, 'NETWORK');
  }

  private async once<S extends z.ZodType>(
    request: UpstreamRequest<z.infer<S>>,
    schema: S,
    signal: AbortSignal,
    resend: number,
  ): Promise<UpstreamResponse<z.infer<S>>> {
    const started = performance.now();
    const span = this.requestTrace?.upstream(this.ref, request, resend);
    // Every outcome of the try passes here exactly once: it ends the span too.
    const event = (status: number | null, failure: string | null, cause?: string) => {
      span?.end(status, failure);
      const upstreamEvent: UpstreamEvent = {
        ...this.ref,
        operation: request.operation,
        status,
        failure,
        ...(cause ? { cause } : {}),
        durationMs: performance.now() - started,
      };
      this.observe(upstreamEvent);
      this.requestObserver?.(upstreamEvent);
    };
    let response: { statusCode: number; headers: IncomingMessage['headers']; body: string };
    try {
      response = await this.send(request, signal);
    } catch (error) {
      // Aborted: the request's time budget ran out while the request was in flight.
      const failure = error instanceof BodyTooLarge ? 'TOO_LARGE' : signal.aborted ? 'TIMEOUT' : classify(error);
      const cause = causeCode(error);
      event(null, failure, cause);
      throw new UpstreamError(this.ref, failure, { cause: error, detail: failure === 'NETWORK' ? networkDetail(cause) : undefined });
    }
    const status = response.statusCode;
    if (request.answerStatuses?.includes(status)) {
      event(status, null);
      return { status, body: null };
    }
    if (status < 200 || status >= 300) {
      const failure =
        status === 429 ? 'RATE_LIMITED' : status === 401 || status === 403 ? 'UNAUTHORIZED' : 'HTTP_STATUS';
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      event(status, failure);
      throw new UpstreamError(this.ref, failure, {
        status,
        retryAfter: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
      });
    }
    let parsed: unknown;
    try {
      parsed = parseUpstreamJson(response.body);
    } catch {
      event(status, 'BAD_BODY');
      throw new UpstreamError(this.ref, 'BAD_BODY', { detail: 'the body is not JSON' });
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      event(status, 'BAD_BODY');
      // The first offending path and what was expected there, never the upstream's values.
      throw new UpstreamError(this.ref, 'BAD_BODY', { detail: `unexpected body (${problemOf(result.error, '', '(body)')})` });
    }
    const bodyFailure = request.bodyFailure?.(result.data);
    if (bodyFailure) {
      event(status, bodyFailure.failure);
      throw new UpstreamError(this.ref, bodyFailure.failure, { detail: bodyFailure.detail });
    }
    event(status, null);
    return { status, body: result.data };
  }

  /**
   * One request through got's stream interface (its promise wrapper costs about a quarter of its
   * CPU per request): status, headers and the body read to the end, at most `maxBodyBytes` of it
   * after decompressing.
   */
  private async send(
    request: Omit<UpstreamRequest, 'bodyFailure'>,
    signal: AbortSignal,
  ): Promise<{ statusCode: number; headers: IncomingMessage['headers']; body: string }> {
    const stream = gotStream(
      withQuery(request.url, request.searchParams),
      { method: request.method as Method, headers: request.headers, json: request.json, signal },
      this.gotOptions,
    );
    const body = await readCapped(stream, this.settings.maxBodyBytes);
    if (body === null) throw new BodyTooLarge();
    const { statusCode, headers } = stream.response!;
    return { statusCode, headers, body: utf8Text(body) };
  }
}

/** The code of the lower-level error got wraps (Node's `ENOTFOUND`, `ECONNREFUSED`, OpenSSL's `CERT_HAS_EXPIRED`). */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ERR_GOT_REQUEST_ERROR') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * What kind of network failure a code is, for the message: DNS, a refused or reset connection, or
 * TLS (Node's DNS codes: nodejs.org/api/dns.html#error-codes; TLS: OpenSSL verify codes).
 */
function networkDetail(code: string | undefined): string | undefined {
  if (!code) return undefined;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code.startsWith('EAI_')) return 'its host name did not resolve (DNS)';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset';
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME_MISMATCH/i.test(code)) return 'the TLS handshake failed (certificate or protocol)';
  return undefined;
}

function classify(error: unknown): 'TIMEOUT' | 'NETWORK' {
  if (error instanceof RequestError && (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT')) return 'TIMEOUT';
  return 'NETWORK';
}
