/**
 * Outgoing webhooks (docs/live.md, "Webhooks"): each configured endpoint receives the call events
 * that match its filter and types, as a JSON POST signed per the Standard Webhooks specification
 * (https://www.standardwebhooks.com/, with its `standardwebhooks` package).
 *
 * Delivery: at least once, retried with exponential back-off and jitter until a 2xx or until the
 * retry period ends; in order per call (a call's next event waits for its previous one to that
 * endpoint) while other calls go on; never blocking the watcher. Each endpoint's queue is bounded:
 * when a dead endpoint fills it, its oldest waiting event is dropped (counted in /metrics and
 * logged, without URL or secret).
 *
 * Where the queue is: without Redis, in this replica's memory, filled by its own watchers' events
 * (`CallEventSource.observeLocal`). With Redis, in Redis (./webhookQueue.ts), filled by the watchers'
 * commits in the same step as their state (an event is committed iff its deliveries are queued), and
 * delivered by any replica, each attempt claimed by one: a replica's death loses no delivery. Redis
 * keeps the event, not the rendered payload (rendering fetches detail fields, which the commit must
 * not wait for), and the payload once rendered completely, so every later attempt sends the same.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  type DocumentNode,
  type GraphQLSchema,
  coerceInputValue,
  execute,
  getNamedType,
  isInputObjectType,
  isObjectType,
  parse,
  type GraphQLObjectType,
} from 'graphql';
import got from 'got';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { type CallQuery, type CallFilterInput, emptyQuery, includesProvider, matches, toCallQuery } from '../calls/filter.js';
import { connectionLabel } from '../calls/model.js';
import { type Services, createRequestContext } from '../context.js';
import { BadInputError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../observability/metrics.js';
import { readCapped } from '../readCapped.js';
import { Call as CallResolvers } from '../resolvers/Call.js';
import { createSchema } from '../schema.js';
import { CALL_EVENT_TYPES, type CallEvent, type CallEventSource, type CallEventType, type Unsubscribe, reviveEvent } from './events.js';
import { CLAIM, type Claimed, type QueueRef, SETTLE, parseClaim, queuePrefix } from './webhookQueue.js';

// ---------------------------------------------------------------------------------------------
// Configuration

/** One configured endpoint, as src/config.ts checked it. */
export interface WebhookEndpoint {
  /** Its position among all configured endpoints (SWITCHBOARD_WEBHOOKS first, then the file's): the `endpoint` label of metrics and logs. */
  index: number;
  /** Where to POST. Never logged whole (it may carry a token): logs and metrics show its host. */
  url: string;
  /** `whsec_<base64>`: the Standard Webhooks signing secret. Never logged. */
  secret: string;
  /** Which calls: the GraphQL `CallFilter`, normalised (`emptyQuery` when none was given). */
  filter: CallQuery;
  /** Which event types; null for all. */
  types: readonly CallEventType[] | null;
}

/**
 * What makes two endpoints the same webhook: the URL as WHATWG parses it (host case, default port),
 * the filter and the event types, lists and keys in a fixed order. Not the secret (rotating it keeps
 * the endpoint) nor its position in the list. src/config.ts refuses two entries with one identity
 * (every event would go twice); with Redis it names the endpoint's queue (./webhookQueue.ts), so
 * reordering or inserting endpoints leaves each its own queue.
 */
export function endpointIdentity(endpoint: Pick<WebhookEndpoint, 'url' | 'filter' | 'types'>): string {
  const sorted = (value: unknown) => (Array.isArray(value) ? [...(value as string[])].sort() : value);
  const filter = Object.fromEntries(
    Object.entries(endpoint.filter)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, value]) => [key, sorted(value)]),
  );
  return JSON.stringify([new URL(endpoint.url).href, filter, endpoint.types ? [...endpoint.types].sort() : null]);
}

/** Every webhook setting (src/config.ts reads them; docs/operations.md lists the variables). */
export interface WebhookSettings {
  endpoints: readonly WebhookEndpoint[];
  /** How long an event is retried from its first attempt, in ms (SWITCHBOARD_WEBHOOK_RETRY_PERIOD_SECONDS). */
  retryPeriodMs: number;
  /** Events waiting per endpoint, at most (SWITCHBOARD_WEBHOOK_QUEUE); the oldest waiting one is dropped beyond it. */
  queueSize: number;
  /** One attempt's time limit, in ms (SWITCHBOARD_WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** The first retry waits between half and all of this, in ms; each further one twice as long. */
  baseDelayMs: number;
  /** The longest wait between two attempts, in ms. */
  maxDelayMs: number;
  /** Attempts in flight per endpoint, at most (each to a different call); with Redis, across all replicas. */
  concurrency: number;
  /**
   * With Redis: how long a replica's claim on an attempt lasts, in ms. A replica that dies mid-attempt
   * loses it then and another makes the attempt again; it covers rendering (detail requests, within
   * the upstream budget) and the POST (`timeoutMs`).
   */
  claimMs: number;
  /** With Redis: how often each replica looks for deliveries due (retries, other replicas' events), in ms. */
  pollMs: number;
}

export const defaultWebhookSettings: WebhookSettings = {
  endpoints: [],
  // A day, as Svix (the Standard Webhooks authors' service) retries for about a day.
  retryPeriodMs: 86_400_000,
  queueSize: 1_000,
  timeoutMs: 10_000,
  // First retry after 2.5–5 s (the contract: within 30 s), then 5–10 s, 10–20 s, … up to 10 minutes.
  baseDelayMs: 5_000,
  maxDelayMs: 600_000,
  concurrency: 4,
  // timeoutMs, the default upstream budget (src/providers/http.ts) and 5 s of slack, as src/config.ts derives it.
  claimMs: 25_000,
  pollMs: 500,
};

/**
 * A `whsec_` secret: base64 of 24 to 64 random bytes (the Standard Webhooks specification,
 * "Signature scheme": "secret keys SHOULD be between 24 bytes and 64 bytes").
 */
const secret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be "whsec_" followed by base64, as Standard Webhooks secrets are')
  .refine((s) => {
    const bytes = Buffer.from(s.slice(6), 'base64');
    return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64').replace(/=+$/, '') === s.slice(6).replace(/=+$/, '');
  }, 'must hold 24 to 64 bytes of base64 after "whsec_" (e.g. "whsec_" + `openssl rand -base64 32`)');

/** Any http(s) URL the operator gives, loopback included (a sidecar receiver); never echoed in a message. */
const endpointUrl = z
  .string()
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol) && u.trim() === u, 'must be an http:// or https:// URL');

/** One entry of SWITCHBOARD_WEBHOOKS (or of the config file's `webhooks`); `filter` is checked by webhookFilter. */
export const webhookEndpointSchema = z.strictObject({
  url: endpointUrl,
  secret,
  filter: z.unknown().optional(),
  types: z.array(z.enum(CALL_EVENT_TYPES)).min(1, 'must list at least one event type (leave it out for all)').optional(),
});

let filterSchema: GraphQLSchema | undefined;

/**
 * An endpoint's `filter`, JSON as a GraphQL client would send the `CallFilter` variable: the same
 * field names and enum values, dates as ISO strings, checked by graphql-js against the schema's own
 * `CallFilter` and then as `calls` checks its argument (time range, phone number).
 * @throws Error whose message starts with the path (`filter.statuses[0]: …`).
 */
export function webhookFilter(json: unknown): CallQuery {
  if (json === undefined || json === null) return emptyQuery;
  filterSchema ??= createSchema();
  const type = filterSchema.getType('CallFilter');
  if (!isInputObjectType(type)) throw new Error('schema/*.graphql declares no input CallFilter');
  let problem: string | null = null;
  const value = coerceInputValue(json, type, (path, _invalid, error) => {
    problem ??= `${['filter', ...path].map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${p}`)).join('')}: ${error.message}`;
  });
  if (problem) throw new Error(problem);
  try {
    return toCallQuery(value as CallFilterInput);
  } catch (error) {
    if (error instanceof BadInputError) throw new Error(`${error.argument}: ${error.message.replace(/^Argument "[^"]*": /, '')}`);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Payload

/** The payload's `type` for each event type (the contract's names, after Standard Webhooks' `<group>.<event>` form). */
const PAYLOAD_TYPES: Record<CallEventType, string> = {
  CALL_ADDED: 'call.added',
  CALL_UPDATED: 'call.updated',
  CALL_ENDED: 'call.ended',
};

/**
 * The Call fields some providers only give from a per-call detail request: those with their own
 * resolver in src/resolvers/Call.ts besides `id` (each goes through the adapter's details).
 */
export const DETAIL_FIELDS: ReadonlySet<string> = new Set(Object.keys(CallResolvers).filter((name) => name !== 'id' && !name.startsWith('__')));

/** A selection of every field of `type`, objects expanded (the schema's Call has no cycles). */
function selectAll(type: GraphQLObjectType, skip: ReadonlySet<string> = new Set()): string {
  const fields = Object.values(type.getFields())
    .filter((field) => !skip.has(field.name) && !field.name.startsWith('__'))
    .map((field) => {
      const named = getNamedType(field.type);
      return isObjectType(named) ? `${field.name} { ${selectAll(named)} }` : field.name;
    });
  return fields.join(' ');
}

/** The two documents a payload is rendered with: every Call field (call.ended), or the list fields only. */
function payloadDocuments(schema: GraphQLSchema): { full: DocumentNode; list: DocumentNode } {
  const call = schema.getType('Call');
  if (!isObjectType(call)) throw new Error('schema/*.graphql declares no type Call');
  const document = (skip?: ReadonlySet<string>) =>
    parse(`subscription WebhookCallEvent { callEvents { id type occurredAt call { ${selectAll(call, skip)} } } }`);
  return { full: document(), list: document(DETAIL_FIELDS) };
}

/** A rendered payload: the JSON text to sign and send, and whether every field resolved. */
export interface RenderedPayload {
  body: string;
  complete: boolean;
}

/**
 * Renders events as the payload `{ type, timestamp, data: { eventId, call } }`, the call as a
 * subscriber selecting every field would get it: the server's schema executes a
 * `subscription { callEvents { … } }` document with the event as root value, for a system caller
 * that sees every connection. call.ended selects the detail fields too (fetched through the adapter
 * as a query would fetch them); the others the list fields only (no upstream request).
 */
export class PayloadRenderer {
  private readonly documents: { full: DocumentNode; list: DocumentNode };
  // Shared by the endpoints: one rendering (one detail request) per event.
  private readonly rendered = new LRUCache<string, Promise<RenderedPayload>>({ max: 256 });

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly services: Services,
  ) {
    this.documents = payloadDocuments(schema);
  }

  /** The payload of `event`; a rendering that missed fields (an upstream failed) is not kept, so the next try fetches again. */
  render(event: CallEvent): Promise<RenderedPayload> {
    const key = `${event.id}|${event.type}`;
    let rendered = this.rendered.get(key);
    if (!rendered) {
      rendered = this.renderNow(event);
      this.rendered.set(key, rendered);
      rendered.then((r) => !r.complete && this.rendered.delete(key), () => this.rendered.delete(key));
    }
    return rendered;
  }

  private async renderNow(event: CallEvent): Promise<RenderedPayload> {
    const contextValue = createRequestContext(this.services, { scopeId: 'webhooks', scope: null });
    const result = await execute({
      schema: this.schema,
      document: event.type === 'CALL_ENDED' ? this.documents.full : this.documents.list,
      rootValue: { callEvents: event },
      contextValue,
    });
    const data = result.data as { callEvents?: { call?: unknown } } | null | undefined;
    const complete = !result.errors?.length && contextValue.upstreamFailures.length === 0 && data?.callEvents?.call != null;
    const payload = {
      type: PAYLOAD_TYPES[event.type],
      timestamp: event.occurredAt.toISOString(),
      data: { eventId: event.id, call: data?.callEvents?.call ?? null },
    };
    return { body: JSON.stringify(payload), complete };
  }
}

// ---------------------------------------------------------------------------------------------
// Delivery

/**
 * The wait before retry number `retry` (1 for the first retry), in ms: exponential from
 * `baseDelayMs`, capped at `maxDelayMs`, with "equal jitter" (half fixed, half random) so that
 * endpoints recovering together are not hit in lock-step. `random` is in [0, 1).
 */
export function retryDelayMs(retry: number, settings: Pick<WebhookSettings, 'baseDelayMs' | 'maxDelayMs'>, random: number): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.min(retry - 1, 40));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** How one attempt went: `ok` (a 2xx), or why not. */
export type AttemptOutcome = 'ok' | 'http_status' | 'timeout' | 'network' | 'render_failed';

/** What became of an event for one endpoint. */
export type DeliveryOutcome = 'delivered' | 'expired' | 'dropped';

interface Item {
  event: CallEvent;
  /** The call's key across connections: the unit of ordering. */
  call: string;
  /** No retry starts after this (ms since the epoch); set at the first attempt. */
  deadline: number | null;
  attempts: number;
  /** The wait before its next attempt, while it lasts. */
  timer: Timer | null;
  inFlight: boolean;
  /** The retry period is over but the payload still misses fields: send it as it is. */
  acceptPartial: boolean;
  done: boolean;
}

/** Test hooks and the parts of the server a dispatcher uses. */
export interface WebhookDeps {
  events: CallEventSource;
  services: Services;
  /** The server's executable schema (the one subscribers are served from). */
  schema: GraphQLSchema;
  logger: Logger;
  metrics: Metrics;
  /** Milliseconds since the epoch; the signature timestamp and retry deadlines. Date.now by default. */
  now?: () => number;
  /** In [0, 1): the jitter. Math.random by default. */
  random?: () => number;
  /** Runs `run` after `ms` (the back-off); setTimeout by default. Tests record the schedule with it. */
  wait?: (ms: number, run: () => void) => Timer;
}

/** A pending wait, as `WebhookDeps.wait` returns it. */
export interface Timer {
  cancel(): void;
}

const realWait = (ms: number, run: () => void): Timer => {
  const handle = setTimeout(run, ms);
  return { cancel: () => clearTimeout(handle) };
};

// Keep-alive to each endpoint; no got retries (the queue retries), no redirects (a 3xx is not a 2xx).
const agent = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
const client = got.extend({ agent, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false, cache: false, http2: false });

/** Bytes of a receiver's answer read at most: nothing in it is used, it is only read to free the socket. */
const RESPONSE_BYTES = 64 * 1024;

/** What one attempt gave: its outcome, the Retry-After wait asked for, and the body it sent (when complete). */
interface Attempt {
  outcome: AttemptOutcome;
  retryAfterMs: number;
  /** The payload, when it rendered completely (Redis keeps it for later attempts); else null. */
  body: string | null;
}

/** What follows a failed attempt: a retry after `delayMs`, or giving up. */
type AfterFailure = { retryInMs: number; acceptPartial: boolean } | { expired: true };

/**
 * What both queues share for one endpoint: its labels and signer, one attempt (render, sign, POST),
 * the decision after a failure, and the counting and logging of what became of an event.
 */
abstract class EndpointDelivery {
  readonly labels: { endpoint: string; host: string };
  private readonly webhook: Webhook;
  protected readonly abort = new AbortController();
  protected readonly inFlight = new Set<Promise<void>>();
  private overflowing = false;

  constructor(
    readonly endpoint: WebhookEndpoint,
    protected readonly settings: WebhookSettings,
    private readonly renderer: PayloadRenderer,
    protected readonly metrics: Metrics,
    protected readonly deps: Required<Pick<WebhookDeps, 'now' | 'random' | 'wait' | 'logger'>>,
  ) {
    this.labels = { endpoint: String(endpoint.index), host: new URL(endpoint.url).host };
    this.webhook = new Webhook(endpoint.secret);
  }

  /** Events waiting or in flight (in Redis: for every replica). */
  abstract get depth(): number | Promise<number>;

  /** Whether the endpoint wants `event`: its types and its filter. */
  wants(event: CallEvent): boolean {
    const { filter, types } = this.endpoint;
    return (!types || types.includes(event.type)) && matches(event.call, filter);
  }

  /** Runs `task` on the next turn of the event loop (the watcher that handed an event over never runs its rendering or request), tracked for close. */
  protected later(task: () => Promise<void>): void {
    const run = new Promise((resolve) => setImmediate(resolve)).then(task).finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  /** Renders `event` (unless `body` was rendered before) and POSTs it; counts the attempt. Never rejects. */
  protected async send(event: CallEvent, attempts: number, acceptPartial: boolean, body: string | null): Promise<Attempt> {
    if (attempts > 1) this.metrics.webhookRetries.inc(this.labels);
    let result: Attempt;
    try {
      const payload = body === null ? await this.renderer.render(event) : { body, complete: true };
      if (!payload.complete && !acceptPartial) result = { outcome: 'render_failed', retryAfterMs: 0, body: null };
      else result = { ...(await this.post(event.id, payload.body)), body: payload.complete ? payload.body : null };
    } catch (error) {
      if (!this.abort.signal.aborted) this.deps.logger.error({ err: error, webhook: this.labels }, 'webhook payload could not be rendered');
      result = { outcome: this.abort.signal.aborted ? 'network' : 'render_failed', retryAfterMs: 0, body: null };
    }
    this.metrics.webhookAttempts.inc({ ...this.labels, outcome: result.outcome });
    return result;
  }

  /** After a failed attempt: retry when the period allows, else once more accepting a partial payload, else expire. */
  protected afterFailure(attempt: Attempt, attempts: number, deadline: number, acceptPartial: boolean): AfterFailure {
    const delay = Math.max(retryDelayMs(attempts, this.settings, this.deps.random()), attempt.retryAfterMs);
    if (this.deps.now() + delay <= deadline) return { retryInMs: delay, acceptPartial };
    // The period is over: a payload that only missed detail fields still goes, once, as it is.
    if (attempt.outcome === 'render_failed' && !acceptPartial) return { retryInMs: 0, acceptPartial: true };
    return { expired: true };
  }

  /** Counts an event the full queue had no room for; the first of a run is logged (a dead endpoint would flood the log). */
  protected dropped(count: number, eventId: string | null): void {
    this.metrics.webhookDeliveries.inc({ ...this.labels, outcome: 'dropped' }, count);
    if (this.overflowing) return;
    this.overflowing = true;
    this.deps.logger.warn(
      { webhook: this.labels, queueSize: this.settings.queueSize, ...(eventId ? { eventId } : {}) },
      'webhook endpoint is not keeping up: its queue is full, dropping its oldest waiting events',
    );
  }

  /** The queue has room again: a later overflow is logged anew. */
  protected drained(): void {
    this.overflowing = false;
  }

  /** Counts (and, unless delivered, logs) what became of an event. */
  protected finished(event: CallEvent, attempts: number, outcome: 'delivered' | 'expired'): void {
    this.metrics.webhookDeliveries.inc({ ...this.labels, outcome });
    if (outcome !== 'delivered') {
      this.deps.logger.warn({ webhook: this.labels, eventId: event.id, type: event.type, attempts, outcome }, `webhook event ${outcome}`);
    }
  }

  /** One signed POST; a 2xx is `ok`. A 429 or 503's Retry-After (seconds) stretches the next wait. */
  private async post(id: string, body: string): Promise<{ outcome: AttemptOutcome; retryAfterMs: number }> {
    const timestamp = new Date(this.deps.now());
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Switchboard-Webhooks',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(id, timestamp, body),
    };
    try {
      const stream = client.stream.post(this.endpoint.url, { body, headers, timeout: { request: this.settings.timeoutMs }, signal: this.abort.signal });
      await readCapped(stream, RESPONSE_BYTES);
      const { statusCode, headers: answer } = stream.response!;
      if (statusCode >= 200 && statusCode < 300) return { outcome: 'ok', retryAfterMs: 0 };
      const seconds = Number(answer['retry-after']);
      const retryAfterMs = (statusCode === 429 || statusCode === 503) && Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, this.settings.maxDelayMs) : 0;
      return { outcome: 'http_status', retryAfterMs };
    } catch (error) {
      return { outcome: (error as { name?: string }).name === 'TimeoutError' ? 'timeout' : 'network', retryAfterMs: 0 };
    }
  }

  /** Stops delivering: aborts the attempts in flight and waits for them. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}

/** One endpoint's queue in memory (no Redis): per-call FIFOs whose heads are attempted, at most `concurrency` at once. */
class EndpointQueue extends EndpointDelivery {
  /** Per call, its waiting events, the head being attempted. */
  private readonly calls = new Map<string, Item[]>();
  /** Every waiting item in arrival order (a Set keeps it): the oldest is dropped first. */
  private readonly items = new Set<Item>();
  /** Heads whose attempt is due, waiting for a free slot, in order (a Set: a dropped one leaves it at once). */
  private readonly ready = new Set<Item>();
  private active = 0;

  get depth(): number {
    return this.items.size;
  }

  /** Queues `event` when the endpoint wants it; returns at once (the watcher never waits). */
  offer(event: CallEvent): void {
    if (!this.wants(event)) return;
    const item: Item = {
      event,
      call: callOf(event),
      deadline: null,
      attempts: 0,
      timer: null,
      inFlight: false,
      acceptPartial: false,
      done: false,
    };
    // Full: the oldest event not in flight goes (a dead endpoint then gets the newest on recovery);
    // when every one is in flight, this one.
    if (this.items.size >= this.settings.queueSize && !this.dropOldest()) return this.dropped(1, item.event.id);
    this.items.add(item);
    const fifo = this.calls.get(item.call);
    if (fifo) fifo.push(item);
    else {
      this.calls.set(item.call, [item]);
      this.makeReady(item);
    }
  }

  /** Stops every timer and aborts the attempts in flight; waiting events are given up. */
  override async close(): Promise<void> {
    for (const item of this.items) item.timer?.cancel();
    await super.close();
  }

  /** Drops the oldest event not in flight; false when every queued event is in flight. */
  private dropOldest(): boolean {
    for (const item of this.items) {
      if (item.inFlight) continue;
      this.finish(item, 'dropped');
      return true;
    }
    return false;
  }

  private makeReady(item: Item, delayMs = 0): void {
    if (delayMs > 0) {
      item.timer = this.deps.wait(delayMs, () => {
        item.timer = null;
        this.makeReady(item);
      });
      return;
    }
    this.ready.add(item);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.settings.concurrency && this.ready.size > 0) {
      const item: Item = this.ready.values().next().value!;
      this.ready.delete(item);
      // Taken now, so it is not dropped meanwhile.
      this.active++;
      item.inFlight = true;
      this.later(() => this.attempt(item));
    }
  }

  private async attempt(item: Item): Promise<void> {
    item.deadline ??= this.deps.now() + this.settings.retryPeriodMs;
    item.attempts++;
    let attempt: Attempt;
    try {
      attempt = await this.send(item.event, item.attempts, item.acceptPartial, null);
    } finally {
      this.active--;
      item.inFlight = false;
    }
    if (this.abort.signal.aborted || item.done) return;
    if (attempt.outcome === 'ok') this.finish(item, 'delivered');
    else {
      const next = this.afterFailure(attempt, item.attempts, item.deadline, item.acceptPartial);
      if ('expired' in next) this.finish(item, 'expired');
      else {
        item.acceptPartial = next.acceptPartial;
        this.makeReady(item, next.retryInMs);
      }
    }
    this.pump();
  }

  /** The event is done with: the call's next event (if any) goes next. */
  private finish(item: Item, outcome: DeliveryOutcome): void {
    item.done = true;
    item.timer?.cancel();
    this.items.delete(item);
    this.ready.delete(item);
    const fifo = this.calls.get(item.call)!;
    const wasHead = fifo[0] === item;
    fifo.splice(fifo.indexOf(item), 1);
    if (fifo.length === 0) this.calls.delete(item.call);
    else if (wasHead) this.makeReady(fifo[0]!);
    if (this.items.size < this.settings.queueSize / 2) this.drained();
    if (outcome === 'dropped') return this.dropped(1, item.event.id);
    this.finished(item.event, item.attempts, outcome);
  }
}

/**
 * One endpoint's queue in Redis (./webhookQueue.ts), shared by every replica: the watchers' commits
 * fill it; every replica polls it (every `pollMs`, and at once when its own watcher committed or an
 * attempt of its own settled) and claims the heads that are due, at most `concurrency` in flight
 * across replicas. A claim lasts `claimMs`: when its replica dies (or overruns), the delivery is
 * due again for any replica, so an event is delivered at least once.
 */
class RedisEndpointQueue extends EndpointDelivery {
  readonly queue: QueueRef;
  /** This replica's claims: random per process, numbered per claim. */
  private readonly token = randomUUID();
  private lastDepth = 0;
  private polling: Promise<void> | null = null;
  private pollAgain = false;
  private closing = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    endpoint: WebhookEndpoint,
    settings: WebhookSettings,
    renderer: PayloadRenderer,
    metrics: Metrics,
    deps: Required<Pick<WebhookDeps, 'now' | 'random' | 'wait' | 'logger'>>,
    private readonly redis: Redis,
  ) {
    super(endpoint, settings, renderer, metrics, deps);
    // Keys outlive the longest a delivery can wait by an hour; each enqueue and settle renews them.
    this.queue = { prefix: queuePrefix(endpointIdentity(endpoint)), bound: settings.queueSize, ttlMs: settings.retryPeriodMs + settings.maxDelayMs + 3_600_000 };
    this.timer = setInterval(() => this.poll(), settings.pollMs);
    this.timer.unref();
  }

  /** Read from Redis at each scrape; the last one known when Redis does not answer. */
  get depth(): Promise<number> {
    if (this.redis.status !== 'ready') return Promise.resolve(this.lastDepth);
    return this.redis.zcard(`${this.queue.prefix}:order`).then(
      (n) => (this.lastDepth = n),
      () => this.lastDepth,
    );
  }

  /** A commit dropped `count` deliveries of this queue (the queue was full). */
  droppedInCommit(count: number): void {
    this.dropped(count, null);
  }

  /** Claims what is due now (one claim at a time; one asked for meanwhile follows it). */
  poll(): void {
    if (this.closing) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = this.claim()
      // Redis away is logged once by the event source; an error reply (a script's) is worth a warning.
      .catch((error: unknown) => {
        const level = (error as Error).name === 'ReplyError' ? 'warn' : 'debug';
        this.deps.logger[level]({ err: error, webhook: this.labels }, 'webhook queue could not be read from Redis; the next poll tries again');
      })
      .finally(() => {
        this.polling = null;
        if (this.pollAgain) {
          this.pollAgain = false;
          this.poll();
        }
      });
  }

  private async claim(): Promise<void> {
    if (this.redis.status !== 'ready') return;
    const reply = (await this.redis.eval(CLAIM, 0, this.queue.prefix, this.token, String(this.settings.claimMs), String(this.settings.concurrency))) as unknown[];
    const { depth, claimed } = parseClaim(reply);
    this.lastDepth = depth;
    if (depth < this.settings.queueSize / 2) this.drained();
    for (const delivery of claimed) this.later(() => this.attempt(delivery));
  }

  private async attempt(claimed: Claimed): Promise<void> {
    const event = reviveEvent(claimed.event);
    if (!event) {
      // Damaged in Redis: nothing could ever send it; given up.
      this.deps.logger.error({ webhook: this.labels }, 'webhook event in Redis could not be read; given up');
      await this.settle(claimed, ['done']);
      return;
    }
    const deadline = claimed.deadline ?? this.deps.now() + this.settings.retryPeriodMs;
    // Shutting down (before or during the attempt): due again at once for the other replicas, rather than when the claim lapses.
    const handBack = () => this.settle(claimed, ['retry', '0', String(deadline), claimed.acceptPartial ? '1' : '', '']);
    if (this.abort.signal.aborted) return void (await handBack());
    const attempt = await this.send(event, claimed.attempts, claimed.acceptPartial, claimed.body);
    if (this.abort.signal.aborted) return void (await handBack());
    if (attempt.outcome === 'ok') {
      if (await this.settle(claimed, ['done'])) this.finished(event, claimed.attempts, 'delivered');
      return;
    }
    const next = this.afterFailure(attempt, claimed.attempts, deadline, claimed.acceptPartial);
    if ('expired' in next) {
      if (await this.settle(claimed, ['done'])) this.finished(event, claimed.attempts, 'expired');
    } else {
      await this.settle(claimed, ['retry', String(next.retryInMs), String(deadline), next.acceptPartial ? '1' : '', attempt.body ?? '']);
    }
  }

  /**
   * Records an attempt's result under its claim: false when the claim lapsed meanwhile (another
   * replica makes the delivery again) or Redis did not answer (the claim lapses, the same).
   */
  private async settle(claimed: Claimed, action: string[]): Promise<boolean> {
    try {
      const settled = await this.redis.eval(SETTLE, 0, this.queue.prefix, claimed.seq, this.token, String(this.queue.ttlMs), ...action);
      return settled === 1;
    } catch (error) {
      this.deps.logger.debug({ err: error, webhook: this.labels }, 'webhook attempt could not be recorded in Redis; its claim lapses and it is made again');
      return false;
    } finally {
      this.poll(); // the call's next event may be due now, and a slot is free
    }
  }

  override async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await this.polling;
    await super.close();
  }
}

/** The running webhooks of one server: stop them on shutdown. */
export interface Webhooks {
  /** Events waiting or in flight, per endpoint index (with Redis: in Redis, for every replica). */
  depths(): Promise<number[]>;
  stop(): Promise<void>;
}

/**
 * Starts delivering: one queue per endpoint, listening (observeLocal) to the connections its
 * filter can match, which keeps those connections watched while Switchboard runs. With Redis (the
 * event source takes an outbox), the queues are in Redis and filled by the watchers' commits; the
 * listener only wakes this replica's queue. Without, they are in memory and the listener fills them.
 */
export function startWebhooks(settings: WebhookSettings, deps: WebhookDeps): Webhooks {
  const renderer = new PayloadRenderer(deps.schema, deps.services);
  const hooks = { now: deps.now ?? Date.now, random: deps.random ?? Math.random, wait: deps.wait ?? realWait, logger: deps.logger };
  let redisQueues: RedisEndpointQueue[] = [];
  const redis = deps.events.attachOutbox?.({
    route: (events) =>
      redisQueues.flatMap((queue) => events.flatMap((event, i) => (queue.wants(event) ? [{ queue: queue.queue, event: i, call: callOf(event) }] : []))),
    dropped: (drops) => {
      for (const queue of redisQueues) {
        const count = drops.get(queue.queue.prefix);
        if (count) queue.droppedInCommit(count);
      }
    },
  });
  const queues: (EndpointQueue | RedisEndpointQueue)[] = redis
    ? (redisQueues = settings.endpoints.map((endpoint) => new RedisEndpointQueue(endpoint, settings, renderer, deps.metrics, hooks, redis)))
    : settings.endpoints.map((endpoint) => new EndpointQueue(endpoint, settings, renderer, deps.metrics, hooks));
  deps.metrics.observeWebhookQueues(() => queues);
  const unsubscribes: Unsubscribe[] = queues.map((queue) => {
    const connections = deps.services.registry.connections.filter((c) => includesProvider(queue.endpoint.filter, c.ref.provider)).map((c) => c.ref);
    return deps.events.observeLocal(connections, (event) => {
      try {
        if (queue instanceof EndpointQueue) queue.offer(event);
        // In Redis already (the commit queued it): claim it now rather than at the next poll.
        else if (queue.wants(event)) queue.poll();
      } catch (error) {
        // Never into the watcher: it has other listeners and other calls to go on with.
        deps.logger.error({ err: error, webhook: queue.labels }, 'webhook event could not be queued');
      }
    });
  });
  return {
    depths: () => Promise.all(queues.map((q) => q.depth)),
    async stop() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}

/** The call's key across connections: the unit of per-call order. */
function callOf(event: CallEvent): string {
  return `${connectionLabel(event.call)}|${event.call.key}`;
}
