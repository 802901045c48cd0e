/**
 * Apollo's HTTP callback protocol for GraphQL subscriptions (callback/1.0), the subgraph's side: how
 * Apollo Router (or Hive Router) carries a subgraph's subscription without holding a connection
 * open (https://www.apollographql.com/docs/graphos/routing/operations/subscriptions/callback-protocol).
 *
 * The router POSTs the subscription with `extensions.subscription = { callbackUrl, subscriptionId,
 * verifier, heartbeatIntervalMs }`. Switchboard POSTs `{ kind: "subscription", action, id, verifier,
 * payload?, errors? }` to `callbackUrl`: a `check` first (the router's request is answered only once
 * it succeeds), then a `next` per event, a `check` every `heartbeatIntervalMs` (0: none), and
 * `complete` when the subscription ends on Switchboard's side (drain, a slow reader's overflow). A 404
 * means the router no longer has the subscription: it ends here without a `complete`.
 *
 * Only URLs the operator allows are ever requested (SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS): the
 * callback URL comes from the request, so without that bound any key holder could make Switchboard
 * send requests anywhere (SSRF). Redirects are not followed, for the same reason.
 *
 * The events themselves are executed by src/live/transports.ts, as for WebSocket and SSE (a fresh
 * request context per event); this module only carries their results.
 */
import http from 'node:http';
import https from 'node:https';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import got from 'got';
import { ErrorCode } from '../errors.js';
import { HttpError } from '../graphqlOverHttp.js';
import type { Logger } from '../logger.js';
import { readCapped } from '../readCapped.js';

/** The protocol version Switchboard speaks, sent in the `subscription-protocol` header of every message. */
export const CALLBACK_PROTOCOL = 'callback/1.0';

/** The router's heartbeat default when a request names none (Apollo Server's plugin and Apollo Router use 5 s). */
const DEFAULT_HEARTBEAT_MS = 5_000;
/** Heartbeats closer than this are refused: each is a request to the router. */
export const MIN_HEARTBEAT_MS = 100;
const MAX_HEARTBEAT_MS = 3_600_000;
/** One message's time limit (connect, send, read the answer), ms. */
export const CALLBACK_TIMEOUT_MS = 5_000;
/** Attempts of a `next` or `complete` that failed on the way (network, time-out, 5xx), as Apollo Server's plugin retries them. */
const ATTEMPTS = 3;
/**
 * ms between two heartbeat checks for a router that asked for one every `intervalMs`: four fifths
 * of it, so that each arrives within the interval after the message before, trip included. Apollo
 * asks for a check at least every interval; Hive Gateway ends a subscription whose next message
 * arrives later than the interval after the last, with no allowance for the trip (docs/live.md).
 */
export const heartbeatPeriodMs = (intervalMs: number): number => Math.round(intervalMs * 0.8);

/** Consecutive failed heartbeats (network, time-out, 5xx) after which the router is taken for gone (Apollo Server's plugin: 5). */
const MAX_HEARTBEAT_FAILURES = 5;
/** Bytes of the router's answer read at most: nothing in it is used. */
const ANSWER_BYTES = 16 * 1024;

/** The operator's settings (src/config.ts). */
export interface CallbackSettings {
  /** Allowed callback URL prefixes (SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS); none: the protocol is off. */
  urls: readonly string[];
}

/**
 * Whether `url` is under one of the allowed `prefixes`: the same scheme, host and port, and a path
 * equal to the prefix's or below it at a `/` (so `http://router:4000/callback` allows
 * `…/callback/<id>` but neither `…/callbackX` nor `http://router:40001/…`). `url` must already be
 * parsed (WHATWG: `..` and `%2e%2e` segments resolved), and it is that parsed URL which is requested.
 */
export function isAllowedCallbackUrl(url: URL, prefixes: readonly string[]): boolean {
  if (url.username || url.password) return false;
  return prefixes.some((prefix) => {
    const allowed = new URL(prefix);
    if (allowed.origin !== url.origin) return false;
    const path = allowed.pathname.replace(/\/+$/, '');
    return path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`);
  });
}

/** A request's `extensions.subscription`, checked. */
export interface CallbackRequest {
  callbackUrl: URL;
  subscriptionId: string;
  verifier: string;
  /** ms between two heartbeat checks; 0: none. */
  heartbeatIntervalMs: number;
}

/** The `extensions.subscription` of a POST body, or undefined when it has none (an ordinary request). */
export function callbackExtension(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const extensions = (body as { extensions?: unknown }).extensions;
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  return (extensions as { subscription?: unknown }).subscription;
}

/**
 * Checks `extensions.subscription` against the protocol and the allowlist. Nothing is requested here.
 * @throws HttpError 403 CALLBACK_URL_NOT_ALLOWED when callbacks are off or the URL is not allowed;
 *   400 BAD_REQUEST when a field is missing or of the wrong type.
 */
export function readCallbackRequest(extension: unknown, settings: CallbackSettings): CallbackRequest {
  if (settings.urls.length === 0) {
    throw new HttpError(
      403,
      "Subscriptions over Apollo's HTTP callback protocol are off on this server: SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS allows no callback URL (docs/live.md)",
      ErrorCode.CallbackUrlNotAllowed,
    );
  }
  const bad = (message: string) => new HttpError(400, `extensions.subscription${message} (Apollo's HTTP callback protocol, callback/1.0)`, ErrorCode.BadRequest);
  if (typeof extension !== 'object' || extension === null || Array.isArray(extension)) throw bad(' must be an object');
  const { callbackUrl, subscriptionId, verifier, heartbeatIntervalMs = DEFAULT_HEARTBEAT_MS } = extension as Record<string, unknown>;
  if (typeof callbackUrl !== 'string' || !URL.canParse(callbackUrl)) throw bad('.callbackUrl must be an absolute URL');
  for (const [name, value] of [['subscriptionId', subscriptionId], ['verifier', verifier]] as const) {
    if (typeof value !== 'string' || value === '' || value.length > 1000) throw bad(`.${name} must be a string of 1 to 1000 characters`);
  }
  if (
    typeof heartbeatIntervalMs !== 'number' ||
    !Number.isInteger(heartbeatIntervalMs) ||
    (heartbeatIntervalMs !== 0 && (heartbeatIntervalMs < MIN_HEARTBEAT_MS || heartbeatIntervalMs > MAX_HEARTBEAT_MS))
  ) {
    throw bad(`.heartbeatIntervalMs must be 0 (no heartbeat) or a whole number of ms from ${MIN_HEARTBEAT_MS} to ${MAX_HEARTBEAT_MS}`);
  }
  const url = new URL(callbackUrl);
  if (!isAllowedCallbackUrl(url, settings.urls)) {
    // The URL is not echoed: it is the caller's, and the message is the same whatever it was.
    throw new HttpError(
      403,
      'extensions.subscription.callbackUrl is not under a callback URL this server allows (SWITCHBOARD_SUBSCRIPTION_CALLBACK_URLS): nothing was sent to it',
      ErrorCode.CallbackUrlNotAllowed,
    );
  }
  return { callbackUrl: url, subscriptionId: subscriptionId as string, verifier: verifier as string, heartbeatIntervalMs };
}

/** How the router answered one message. */
export type CallbackOutcome =
  /** 2xx. */
  | { kind: 'ok' }
  /** 404: the router no longer has the subscription. */
  | { kind: 'gone' }
  /** Another 3xx or 4xx: the router refuses this subscription's messages (a wrong verifier, …). */
  | { kind: 'refused'; status: number }
  /** 5xx, a time-out, or no connection: may pass. */
  | { kind: 'failed'; why: string };

// Keep-alive to the router; no got retries (retried here, per message kind), no redirects (a
// redirect could point outside the allowlist).
const agent = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
const client = got.extend({ agent, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false, cache: false, http2: false });

/** One protocol message to `request.callbackUrl`, sent once. */
export async function postCallback(
  request: CallbackRequest,
  action: 'check' | 'next' | 'complete',
  extra: { payload?: FormattedExecutionResult; errors?: readonly GraphQLFormattedError[] } = {},
): Promise<CallbackOutcome> {
  const body = JSON.stringify({ kind: 'subscription', action, id: request.subscriptionId, verifier: request.verifier, ...extra });
  try {
    const stream = client.stream.post(request.callbackUrl.href, {
      body,
      headers: { 'content-type': 'application/json', 'subscription-protocol': CALLBACK_PROTOCOL, 'user-agent': 'Switchboard' },
      timeout: { request: CALLBACK_TIMEOUT_MS },
    });
    await readCapped(stream, ANSWER_BYTES);
    const status = stream.response!.statusCode;
    if (status >= 200 && status < 300) return { kind: 'ok' };
    if (status === 404) return { kind: 'gone' };
    if (status < 500) return { kind: 'refused', status };
    return { kind: 'failed', why: `HTTP ${status}` };
  } catch (error) {
    return { kind: 'failed', why: (error as { name?: string }).name === 'TimeoutError' ? `no answer within ${CALLBACK_TIMEOUT_MS} ms` : 'could not be reached' };
  }
}

/** `postCallback`, tried again (up to ATTEMPTS, 250 ms then 500 ms apart) while it fails on the way. */
async function postWithRetries(request: CallbackRequest, action: 'next' | 'complete', extra: Parameters<typeof postCallback>[2]): Promise<CallbackOutcome> {
  let outcome = await postCallback(request, action, extra);
  for (let attempt = 1; attempt < ATTEMPTS && outcome.kind === 'failed'; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** (attempt - 1)));
    outcome = await postCallback(request, action, extra);
  }
  return outcome;
}

/** The text a refusal of the initial check gives the router (never the router's own body). */
export function checkFailed(outcome: Exclude<CallbackOutcome, { kind: 'ok' }>): HttpError {
  const why = outcome.kind === 'failed' ? outcome.why : `answered HTTP ${outcome.kind === 'gone' ? 404 : outcome.status}`;
  return new HttpError(502, `The callback URL's initial check failed (${why}): the subscription was not started`, ErrorCode.CallbackCheckFailed);
}

/**
 * One subscription carried by callbacks: reads `results` (each an event already executed and shaped
 * for clients) and POSTs each as `next`, one at a time and in order, with heartbeats beside. Ends:
 *
 * - when `results` ends (drain returns it, a slow reader's buffer overflows): `complete`;
 * - when the router answers 404 or refuses a message, or a `next` still fails after its retries, or
 *   MAX_HEARTBEAT_FAILURES heartbeats in a row fail: `results` is returned (so nothing stays
 *   watched for it) and nothing more is sent.
 *
 * `done` resolves once it has ended and its last message is sent.
 */
export class CallbackSubscription {
  readonly done: Promise<void>;
  private ended = false;
  private heartbeat: NodeJS.Timeout | null = null;
  private heartbeatFailures = 0;
  private beating = false;

  constructor(
    private readonly request: CallbackRequest,
    private readonly results: AsyncIterator<FormattedExecutionResult>,
    private readonly logger: Logger,
  ) {
    if (request.heartbeatIntervalMs > 0) {
      this.heartbeat = setInterval(() => void this.beat(), heartbeatPeriodMs(request.heartbeatIntervalMs));
      this.heartbeat.unref();
    }
    this.done = this.run().catch(async (error: unknown) => {
      // Not expected (each event's failures are in its result): logged, and the subscription ends.
      this.logger.error({ err: error, host: request.callbackUrl.host }, 'callback subscription failed');
      this.ended = true;
      this.stopHeartbeat();
      await this.results.return?.();
    });
  }

  private async run(): Promise<void> {
    for (;;) {
      const event = await this.results.next();
      if (event.done || this.ended) break;
      const outcome = await postWithRetries(this.request, 'next', { payload: event.value });
      if (outcome.kind !== 'ok') return this.abandon('next', outcome);
    }
    this.stopHeartbeat();
    if (this.ended) return;
    this.ended = true;
    const outcome = await postWithRetries(this.request, 'complete', {});
    if (outcome.kind !== 'ok' && outcome.kind !== 'gone') this.log('complete', outcome);
  }

  private async beat(): Promise<void> {
    // One heartbeat at a time: a router slower than the interval is not sent a pile of them.
    if (this.ended || this.beating) return;
    this.beating = true;
    const outcome = await postCallback(this.request, 'check').finally(() => (this.beating = false));
    if (outcome.kind === 'ok') return void (this.heartbeatFailures = 0);
    if (outcome.kind === 'failed' && (this.heartbeatFailures += 1) < MAX_HEARTBEAT_FAILURES) return;
    await this.abandon('check', outcome);
  }

  /** The router is gone or refuses: stop listening (the pending read ends) and send nothing more. */
  private async abandon(action: 'next' | 'check', outcome: Exclude<CallbackOutcome, { kind: 'ok' }>): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.stopHeartbeat();
    if (outcome.kind !== 'gone') this.log(action, outcome);
    await this.results.return?.();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Host only: the URL's path holds the subscription id, and the verifier is a credential. */
  private log(action: string, outcome: Exclude<CallbackOutcome, { kind: 'ok' }>): void {
    const why = outcome.kind === 'failed' ? outcome.why : `HTTP ${outcome.kind === 'gone' ? 404 : outcome.status}`;
    this.logger.warn({ event: 'subscription_callback_failed', host: this.request.callbackUrl.host, action, reason: why }, `subscription callback to ${this.request.callbackUrl.host} failed (${why}); the subscription ended`);
  }
}
