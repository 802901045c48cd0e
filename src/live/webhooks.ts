/**
 * Outgoing webhooks (docs/live.md, "Webhooks"): each configured endpoint receives the call events of
 * this replica's own watchers (`CallEventSource.observeLocal`, so each event is delivered by one
 * replica) that match its filter and types, as a JSON POST signed per the Standard Webhooks
 * specification (https://www.standardwebhooks.com/, with its `standardwebhooks` package).
 *
 * Delivery: at least once, retried with exponential back-off and jitter until a 2xx or until the
 * retry period ends; in order per call (a call's next event waits for its previous one to that
 * endpoint) while other calls go on; never blocking the watcher (listeners only enqueue). Each
 * endpoint's queue is bounded: when a dead endpoint fills it, its oldest waiting event is dropped
 * (counted in /metrics and logged, without URL or secret).
 */
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
import { CALL_EVENT_TYPES, type CallEvent, type CallEventSource, type CallEventType, type Unsubscribe } from './events.js';

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
  /** Attempts in flight per endpoint, at most (each to a different call). */
  concurrency: number;
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

/** One endpoint's queue: per-call FIFOs whose heads are attempted, at most `concurrency` at once. */
class EndpointQueue {
  readonly labels: { endpoint: string; host: string };
  private readonly webhook: Webhook;
  /** Per call, its waiting events, the head being attempted. */
  private readonly calls = new Map<string, Item[]>();
  /** Every waiting item in arrival order (a Set keeps it): the oldest is dropped first. */
  private readonly items = new Set<Item>();
  /** Heads whose attempt is due, waiting for a free slot, in order (a Set: a dropped one leaves it at once). */
  private readonly ready = new Set<Item>();
  private active = 0;
  private overflowing = false;
  private readonly abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    readonly endpoint: WebhookEndpoint,
    private readonly settings: WebhookSettings,
    private readonly renderer: PayloadRenderer,
    private readonly metrics: Metrics,
    private readonly deps: Required<Pick<WebhookDeps, 'now' | 'random' | 'wait' | 'logger'>>,
  ) {
    this.labels = { endpoint: String(endpoint.index), host: new URL(endpoint.url).host };
    this.webhook = new Webhook(endpoint.secret);
  }

  get depth(): number {
    return this.items.size;
  }

  /** Queues `event` when the endpoint wants it; returns at once (the watcher never waits). */
  offer(event: CallEvent): void {
    const { filter, types } = this.endpoint;
    if (types && !types.includes(event.type)) return;
    if (!matches(event.call, filter)) return;
    const item: Item = {
      event,
      call: `${connectionLabel(event.call)}|${event.call.key}`,
      deadline: null,
      attempts: 0,
      timer: null,
      inFlight: false,
      acceptPartial: false,
      done: false,
    };
    // Full: the oldest event not in flight goes (a dead endpoint then gets the newest on recovery);
    // when every one is in flight, this one.
    if (this.items.size >= this.settings.queueSize && !this.dropOldest()) return this.dropped(item);
    this.items.add(item);
    const fifo = this.calls.get(item.call);
    if (fifo) fifo.push(item);
    else {
      this.calls.set(item.call, [item]);
      this.makeReady(item);
    }
  }

  /** Stops every timer and aborts the attempts in flight; waiting events are given up. */
  async close(): Promise<void> {
    for (const item of this.items) item.timer?.cancel();
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
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

  /** Counts an event the full queue had no room for; the first of a run is logged (a dead endpoint would flood the log). */
  private dropped(item: Item): void {
    this.metrics.webhookDeliveries.inc({ ...this.labels, outcome: 'dropped' });
    if (this.overflowing) return;
    this.overflowing = true;
    this.deps.logger.warn(
      { webhook: this.labels, queueSize: this.settings.queueSize, eventId: item.event.id },
      'webhook endpoint is not keeping up: its queue is full, dropping its oldest waiting events',
    );
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
      // Taken now (so it is not dropped meanwhile), made on the next turn of the event loop: the
      // watcher that handed an event over never runs its rendering or its request.
      this.active++;
      item.inFlight = true;
      const attempt = new Promise((resolve) => setImmediate(resolve)).then(() => this.attempt(item)).finally(() => this.inFlight.delete(attempt));
      this.inFlight.add(attempt);
    }
  }

  private async attempt(item: Item): Promise<void> {
    item.deadline ??= this.deps.now() + this.settings.retryPeriodMs;
    if (item.attempts > 0) this.metrics.webhookRetries.inc(this.labels);
    item.attempts++;
    let outcome: AttemptOutcome;
    let retryAfterMs = 0;
    try {
      const payload = await this.renderer.render(item.event);
      if (!payload.complete && !item.acceptPartial) outcome = 'render_failed';
      else ({ outcome, retryAfterMs } = await this.post(item.event.id, payload.body));
    } catch (error) {
      if (this.abort.signal.aborted) outcome = 'network';
      else {
        this.deps.logger.error({ err: error, webhook: this.labels }, 'webhook payload could not be rendered');
        outcome = 'render_failed';
      }
    } finally {
      this.active--;
      item.inFlight = false;
    }
    this.metrics.webhookAttempts.inc({ ...this.labels, outcome });
    if (this.abort.signal.aborted || item.done) return;
    if (outcome === 'ok') this.finish(item, 'delivered');
    else {
      const delay = Math.max(retryDelayMs(item.attempts, this.settings, this.deps.random()), retryAfterMs);
      if (this.deps.now() + delay <= item.deadline) this.makeReady(item, delay);
      // The period is over: a payload that only missed detail fields still goes, once, as it is.
      else if (outcome === 'render_failed' && !item.acceptPartial) {
        item.acceptPartial = true;
        this.makeReady(item);
      } else this.finish(item, 'expired');
    }
    this.pump();
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
    if (this.items.size < this.settings.queueSize / 2) this.overflowing = false;
    if (outcome === 'dropped') return this.dropped(item);
    this.metrics.webhookDeliveries.inc({ ...this.labels, outcome });
    if (outcome !== 'delivered') {
      this.deps.logger.warn({ webhook: this.labels, eventId: item.event.id, type: item.event.type, attempts: item.attempts, outcome }, `webhook event ${outcome}`);
    }
  }
}

/** The running webhooks of one server: stop them on shutdown. */
export interface Webhooks {
  /** Events waiting or in flight, per endpoint index. */
  depths(): number[];
  stop(): Promise<void>;
}

/**
 * Starts delivering: one queue per endpoint, listening (observeLocal) to the connections its
 * filter can match, which keeps those connections watched while Switchboard runs.
 */
export function startWebhooks(settings: WebhookSettings, deps: WebhookDeps): Webhooks {
  const renderer = new PayloadRenderer(deps.schema, deps.services);
  const hooks = { now: deps.now ?? Date.now, random: deps.random ?? Math.random, wait: deps.wait ?? realWait, logger: deps.logger };
  const queues: EndpointQueue[] = settings.endpoints.map((endpoint) => new EndpointQueue(endpoint, settings, renderer, deps.metrics, hooks));
  deps.metrics.observeWebhookQueues(() => queues);
  const unsubscribes: Unsubscribe[] = queues.map((queue) => {
    const connections = deps.services.registry.connections.filter((c) => includesProvider(queue.endpoint.filter, c.ref.provider)).map((c) => c.ref);
    return deps.events.observeLocal(connections, (event) => {
      try {
        queue.offer(event);
      } catch (error) {
        // Never into the watcher: it has other listeners and other calls to go on with.
        deps.logger.error({ err: error, webhook: queue.labels }, 'webhook event could not be queued');
      }
    });
  });
  return {
    depths: () => queues.map((q) => q.depth),
    async stop() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
