/**
 * The one HTTP layer every adapter calls its provider through. One got instance for the process
 * (keep-alive agents, no got retries, no cache), used through its stream interface with options
 * prepared once per connection (time-outs); per connection a policy of cockatiel's: a concurrency
 * cap with a short queue, a circuit breaker and a retry for reads that are safe to repeat. Every
 * failure leaves here as an `UpstreamError` naming the connection and carrying no upstream body.
 */
import http, { type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https from 'node:https';
import got, { type Method, Options, type OptionsInit, type Request, RequestError } from 'got';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  ConsecutiveBreaker,
  type IBackoff,
  type IRetryBackoffContext,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type IPolicy,
} from 'cockatiel';
import type { z } from 'zod';
import type { ConnectionRef } from '../calls/model.js';
import { UpstreamError } from '../errors.js';
import { readCapped, utf8Text } from '../readCapped.js';
import { parseHttpDate } from '../time.js';
import { parseUpstreamJson } from './json.js';

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
};

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  url: string;
  /** Label for logs and metrics, e.g. "GET /call/logs"; never carries credentials. */
  operation: string;
  headers: Record<string, string>;
  searchParams?: Record<string, string | number | undefined>;
  json?: unknown;
  /** Statuses that are answers rather than failures (TalkStack's 404 for "no calls"). */
  answerStatuses?: readonly number[];
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

/** Jittered exponential back-off that waits for `Retry-After` when the upstream sent one. */
class RetryBackoff implements IBackoff<IRetryBackoffContext<unknown>> {
  constructor(
    readonly duration: number,
    private readonly attempt: number,
  ) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfter = error instanceof UpstreamError ? error.details.retryAfter : undefined;
    const base = 50 * 2 ** this.attempt;
    const jittered = base / 2 + Math.random() * base;
    return new RetryBackoff(retryAfter !== undefined ? retryAfter * 1000 : jittered, this.attempt + 1);
  }
}

/** One provider connection's HTTP: its own breaker, cap and retry policy over the shared client. */
export class ConnectionHttp {
  private readonly policy: IPolicy;
  private readonly gotOptions: Options;
  private readonly breaker;
  /** Set on a request's view only (`forRequest`): that request's own observer. */
  private readonly requestObserver?: UpstreamObserver;

  constructor(
    readonly ref: ConnectionRef,
    private readonly settings: HttpPolicy = defaultHttpPolicy,
    private readonly observe: UpstreamObserver = () => {},
  ) {
    this.gotOptions = preparedOptions(settings);
    const retryable = handleWhen(
      (error) =>
        error instanceof UpstreamError &&
        error.retryable &&
        (error.details.retryAfter ?? 0) * 1000 <= settings.maxRetryAfterMs,
    );
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof UpstreamError && error.failure !== 'UNAUTHORIZED'),
      {
        halfOpenAfter: settings.breakerOpenMs,
        breaker: new ConsecutiveBreaker(settings.breakerThreshold),
      },
    );
    this.policy = wrap(
      retry(retryable, {
        maxAttempts: Math.min(settings.retries, 2),
        backoff: { next: (ctx) => new RetryBackoff(0, 0).next(ctx) },
      }),
      this.breaker,
      bulkhead(settings.concurrency, settings.queueSize),
    );
  }

  /**
   * A view for one GraphQL request: the same policy (breaker, cap, retry) and client, plus an
   * observer that sees only this request's upstream events. Replaces AsyncLocalStorage, whose
   * promise hooks cost about 15% of requests/s on a one-provider page (measured, Node 20).
   */
  forRequest(observe: UpstreamObserver): ConnectionHttp {
    return Object.create(this, { requestObserver: { value: observe } }) as ConnectionHttp;
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
   * Sends a request and validates its JSON body with `schema`. The body is read without a leading
   * byte order mark and without losing a digit of any number (./json.ts).
   */
  async json<S extends z.ZodType>(
    request: UpstreamRequest,
    schema: S,
  ): Promise<UpstreamResponse<z.infer<S>>> {
    try {
      return await this.policy.execute(() => this.once(request, schema));
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      if (error instanceof BrokenCircuitError) throw new UpstreamError(this.ref, 'CIRCUIT_OPEN');
      if (error instanceof BulkheadRejectedError) throw new UpstreamError(this.ref, 'OVERLOADED');
      throw new UpstreamError(this.ref, 'NETWORK');
    }
  }

  private async once<S extends z.ZodType>(
    request: UpstreamRequest,
    schema: S,
  ): Promise<UpstreamResponse<z.infer<S>>> {
    const started = performance.now();
    const event = (status: number | null, failure: string | null) => {
      const upstreamEvent: UpstreamEvent = {
        ...this.ref,
        operation: request.operation,
        status,
        failure,
        durationMs: performance.now() - started,
      };
      this.observe(upstreamEvent);
      this.requestObserver?.(upstreamEvent);
    };
    let response: { statusCode: number; headers: IncomingMessage['headers']; body: string };
    try {
      response = await this.send(request);
    } catch (error) {
      const failure = error instanceof BodyTooLarge ? 'TOO_LARGE' : classify(error);
      event(null, failure);
      throw new UpstreamError(this.ref, failure);
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
      // The issue paths say what did not match without echoing upstream values.
      const where = result.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.code}`)
        .join('; ');
      throw new UpstreamError(this.ref, 'BAD_BODY', { detail: `unexpected body (${where})` });
    }
    event(status, null);
    return { status, body: result.data };
  }

  /**
   * One request through got's stream interface (its promise wrapper costs about a quarter of its
   * CPU per request): status, headers and the body read to the end, at most `maxBodyBytes` of it
   * after decompressing.
   */
  private async send(request: UpstreamRequest): Promise<{ statusCode: number; headers: IncomingMessage['headers']; body: string }> {
    const stream = gotStream(
      withQuery(request.url, request.searchParams),
      { method: request.method as Method, headers: request.headers, json: request.json },
      this.gotOptions,
    );
    const body = await readCapped(stream, this.settings.maxBodyBytes);
    if (body === null) throw new BodyTooLarge();
    const { statusCode, headers } = stream.response!;
    return { statusCode, headers, body: utf8Text(body) };
  }
}

function classify(error: unknown): 'TIMEOUT' | 'NETWORK' {
  if (error instanceof RequestError && (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT')) return 'TIMEOUT';
  return 'NETWORK';
}
