/**
 * Prometheus metrics, one registry per server instance (tests start many servers in one process):
 * GraphQL requests and latency per operation, errors by code, upstream requests and latency per
 * provider and connection, and cache hits. Served as text at GET /metrics.
 *
 * Labels are bounded: operation names are client-chosen, so only well-formed names are kept and at
 * most `maxOperationNames` distinct ones; the rest count as "other".
 */
import { createRequire } from 'node:module';
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { UpstreamEvent } from '../providers/http.js';

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

const require = createRequire(import.meta.url);

/**
 * prom-client's default process metrics (CPU, memory, handles, GC, ...) except `eventLoopLag`: its
 * `monitorEventLoopDelay` timer wakes the process every 10 ms for ever, which was most of what an
 * idle Switchboard spent (0.4 % of a core; docs/benchmark.md). The loop's delay is measured by load
 * shedding instead, only while requests are in flight (`switchboard_event_loop_delay_seconds`).
 * prom-client cannot leave one default out, so each other one is set up from its own module, as
 * `collectDefaultMetrics` does (its `metricsList` names them).
 */
function collectProcessMetrics(register: Registry, prefix: string): void {
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'eventLoopLag') continue;
    const collect = require(`prom-client/lib/metrics/${name}.js`) as (registry: Registry, config: { prefix: string }) => void;
    collect(register, { prefix });
  }
}

/** Seconds; GraphQL requests fan out to providers, so the buckets reach past the upstream time-out. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsOptions {
  /** Distinct operation-name labels kept before further names count as "other". */
  maxOperationNames?: number;
  /** Node process metrics (CPU, memory, GC) with the `switchboard_` prefix. */
  processMetrics?: boolean;
}

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'switchboard_graphql_requests_total',
    help: 'GraphQL requests, by operation name ("anonymous" when unnamed, "invalid" when none could be resolved).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'switchboard_graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL request to sending its response, by operation name.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'switchboard_graphql_errors_total',
    help: 'GraphQL errors sent to clients, by extensions.code (PROVIDER_UNAVAILABLE, BAD_USER_INPUT, ...).',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: 'switchboard_upstream_requests_total',
    help: 'Requests to providers, by provider, connection and outcome ("ok" or the failure kind).',
    labelNames: ['provider', 'connection', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'switchboard_upstream_request_duration_seconds',
    help: 'Time of one request to a provider (each retry counts on its own), by provider and connection.',
    labelNames: ['provider', 'connection'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** For response caches: increment with the cache's name on every hit. */
  readonly cacheHits = new Counter({
    name: 'switchboard_cache_hits_total',
    help: 'Lookups answered from a cache, by cache name.',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  /** For response caches: increment with the cache's name on every miss. */
  readonly cacheMisses = new Counter({
    name: 'switchboard_cache_misses_total',
    help: 'Lookups a cache could not answer, by cache name.',
    labelNames: ['cache'] as const,
    registers: [this.registry],
  });

  /** GraphQL requests and subscriptions refused with 503 OVERLOADED (src/overload.ts, src/live/transports.ts), by reason. */
  readonly shed = new Counter({
    name: 'switchboard_requests_shed_total',
    help: 'GraphQL requests and subscriptions refused with OVERLOADED, by reason ("in_flight", "event_loop_delay", or "subscriptions": SWITCHBOARD_MAX_SUBSCRIPTIONS already open).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Live events (src/live/watcher.ts): what the watchers of this replica emitted and how their polls went. */
  readonly callEvents = new Counter({
    name: 'switchboard_call_events_total',
    help: "Call events this replica's watchers emitted, by connection and type (CALL_ADDED, CALL_UPDATED, CALL_ENDED).",
    labelNames: ['connection', 'type'] as const,
    registers: [this.registry],
  });

  readonly watchPolls = new Counter({
    name: 'switchboard_watch_polls_total',
    help: 'Polls of watched connections by this replica, by connection and outcome ("ok" or the failure kind).',
    labelNames: ['connection', 'outcome'] as const,
    registers: [this.registry],
  });

  /** What watching costs the providers: rate() it for requests a second (×60 a minute) per connection. */
  readonly watchUpstreamRequests = new Counter({
    name: 'switchboard_watch_upstream_requests_total',
    help: 'Requests to providers made by this replica\'s watchers (polls, re-reads, pushed calls read; each retry counts), by connection and the strongest reason it is watched ("always", "webhooks", "subscribers", "demand", or "replica": another replica\'s listeners).',
    labelNames: ['connection', 'reason'] as const,
    registers: [this.registry],
  });

  /** Outgoing webhooks (src/live/webhooks.ts), by endpoint (its index in the configuration) and host. */
  readonly webhookAttempts = new Counter({
    name: 'switchboard_webhook_attempts_total',
    help: 'Webhook POSTs, by endpoint (its index in the configuration), host and outcome ("ok" for a 2xx, "http_status", "timeout", "network", or "render_failed" when the call could not be rendered).',
    labelNames: ['endpoint', 'host', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookDeliveries = new Counter({
    name: 'switchboard_webhook_deliveries_total',
    help: 'Webhook events done with, by endpoint, host and outcome: "delivered" (a 2xx), "expired" (no 2xx within the retry period) or "dropped" (the endpoint\'s queue was full).',
    labelNames: ['endpoint', 'host', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookRetries = new Counter({
    name: 'switchboard_webhook_retries_total',
    help: 'Webhook attempts after an event\'s first, by endpoint and host.',
    labelNames: ['endpoint', 'host'] as const,
    registers: [this.registry],
  });

  /** Provider pushes (src/live/pushes.ts) by connection and outcome. */
  readonly pushes = new Counter({
    name: 'switchboard_pushes_total',
    help: 'Provider pushes received, by connection and outcome ("applied", "forwarded", "unwatched", "ignored", or the refusal\'s code).',
    labelNames: ['connection', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly operationNames = new Set<string>();
  private readonly maxOperationNames: number;

  constructor(options: MetricsOptions = {}) {
    this.maxOperationNames = options.maxOperationNames ?? 200;
    if (options.processMetrics) collectProcessMetrics(this.registry, 'switchboard_');
  }

  /** Gauges read at each scrape: GraphQL requests in flight and the event loop's delay now. */
  observeLoad(load: { readonly inFlight: number; eventLoopDelayMs(): number }): void {
    new Gauge({
      name: 'switchboard_requests_in_flight',
      help: 'GraphQL requests being answered now (the bound is SWITCHBOARD_MAX_IN_FLIGHT).',
      registers: [this.registry],
      collect() {
        this.set(load.inFlight);
      },
    });
    new Gauge({
      name: 'switchboard_event_loop_delay_seconds',
      help: 'How far behind the event loop is now, as load shedding measures it while requests are in flight; 0 when idle (the bound is SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS).',
      registers: [this.registry],
      collect() {
        this.set(load.eventLoopDelayMs() / 1000);
      },
    });
  }

  /** The subscriptions open now, by transport ("websocket", "sse", "callback"), read at each scrape. */
  observeSubscriptions(open: () => Readonly<Record<string, number>>): void {
    new Gauge({
      name: 'switchboard_subscriptions_open',
      help: 'Subscriptions open on this replica, by transport ("websocket", "sse", "callback"); the bound over all of them is SWITCHBOARD_MAX_SUBSCRIPTIONS.',
      labelNames: ['transport'] as const,
      registers: [this.registry],
      collect() {
        for (const [transport, count] of Object.entries(open())) this.set({ transport }, count);
      },
    });
  }

  /** The watchers' observer: counts polls, events and upstream requests. */
  readonly observeWatch = {
    poll: (connection: string, outcome: string): void => void this.watchPolls.inc({ connection, outcome }),
    request: (connection: string, reason: string): void => void this.watchUpstreamRequests.inc({ connection, reason }),
    events: (connection: string, events: readonly { type: string }[]): void => {
      for (const event of events) this.callEvents.inc({ connection, type: event.type });
    },
  };

  /** The webhook queues' depth, read at each scrape. */
  observeWebhookQueues(queues: () => readonly { labels: { endpoint: string; host: string }; depth: number | Promise<number> }[]): void {
    new Gauge({
      name: 'switchboard_webhook_queue_depth',
      help: 'Webhook events waiting or in flight, by endpoint and host (the bound is SWITCHBOARD_WEBHOOK_QUEUE).',
      labelNames: ['endpoint', 'host'] as const,
      registers: [this.registry],
      // With Redis the depth is read from Redis (every replica's queue), hence asynchronous.
      async collect() {
        const depths = await Promise.all(queues().map(async (queue) => ({ labels: queue.labels, depth: await queue.depth })));
        for (const { labels, depth } of depths) this.set(labels, depth);
      },
    });
  }

  /** Gauges read at each scrape from the watchers this replica runs: why each is watched, lag and last poll, by connection. */
  observeWatchers(watchers: () => readonly { connection: string; lagSeconds: number; lastPollAt: string | null; reasons?: readonly string[] }[]): void {
    new Gauge({
      name: 'switchboard_watch_watched',
      help: '1 for each reason this replica watches a connection ("always", "webhooks", "subscribers", "demand", "replica"), by connection and reason; absent when it does not.',
      labelNames: ['connection', 'reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of watchers()) for (const reason of w.reasons ?? []) this.set({ connection: w.connection, reason }, 1);
      },
    });
    new Gauge({
      name: 'switchboard_watch_lag_seconds',
      help: 'Seconds since the last successful poll of each connection this replica watches (how stale its events may be).',
      labelNames: ['connection'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of watchers()) this.set({ connection: w.connection }, w.lagSeconds);
      },
    });
    new Gauge({
      name: 'switchboard_watch_last_poll_timestamp_seconds',
      help: 'Unix time of the last poll (either outcome) of each connection this replica watches.',
      labelNames: ['connection'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const w of watchers()) if (w.lastPollAt) this.set({ connection: w.connection }, Date.parse(w.lastPollAt) / 1000);
      },
    });
  }

  /** The UpstreamObserver of every connection. */
  observeUpstream = (event: UpstreamEvent): void => {
    const where = { provider: event.provider, connection: event.connection };
    this.upstreamRequests.inc({ ...where, outcome: event.failure ?? 'ok' });
    this.upstreamDuration.observe(where, event.durationMs / 1000);
  };

  /** A bounded label for a client-chosen operation name. */
  operationLabel(name: string | null | undefined, resolved: boolean): string {
    if (!resolved) return 'invalid';
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= this.maxOperationNames) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /** Counts each GraphQL request, its latency and the errors in its response. */
  plugin<TContext extends object>(): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => {
        const started = performance.now();
        let operationName: string | null = null;
        let resolved = false;
        return {
          didResolveOperation: async ({ operationName: name }) => {
            operationName = name;
            resolved = true;
          },
          // Registered after the plugin that appends upstream failures, so it sees those too.
          willSendResponse: async ({ response }) => {
            const operation = this.operationLabel(operationName, resolved);
            this.requests.inc({ operation });
            this.requestDuration.observe({ operation }, (performance.now() - started) / 1000);
            if (response.body.kind !== 'single') return;
            for (const error of response.body.singleResult.errors ?? []) {
              const code = error.extensions?.code;
              this.errors.inc({ code: typeof code === 'string' && ERROR_CODE.test(code) ? code : 'UNKNOWN' });
            }
          },
        };
      },
    };
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
