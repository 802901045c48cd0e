/**
 * The per-request context: who is asking (the connections their API key may see), the loaders of
 * this request, and the upstream failures met while answering, which the server adds to the
 * response as PROVIDER_UNAVAILABLE (or, for a row that did not read, PROVIDER_DATA_INVALID) errors
 * beside the data that did arrive.
 */
import { ScanBudget } from './calls/budget.js';
import type { CallCache } from './calls/cache.js';
import { CallLoaders, type BatchObserver } from './calls/loaders.js';
import type { CursorCodec } from './calls/cursor.js';
import type { CallWindow } from './calls/streams.js';
import { type ConnectionRef, connectionLabel } from './calls/model.js';
import type { InvalidRowError, UpstreamError, Warning } from './errors.js';
import type { CallEventSource } from './live/events.js';
import type { FirstPageDemand } from './live/policy.js';
import type { RequestTrace } from './observability/tracing.js';
import type { UpstreamEvent } from './providers/http.js';
import type { ConnectionRegistry, LiveConnection as Connection } from './providers/index.js';

/** Process-wide parts, built once at start-up. */
export interface Services {
  registry: ConnectionRegistry;
  cursors: CursorCodec;
  observeBatch?: BatchObserver;
  /** Ended calls shared across requests (and replicas, with Redis); null when off. */
  cache?: CallCache | null;
  /** Upstream list requests per connection one GraphQL request may send (SWITCHBOARD_SCAN_BUDGET). */
  scanBudget: number;
  /** Live call events (src/live/source.ts), for subscriptions (src/resolvers/Subscription.ts) and webhooks: listening to a connection keeps it watched. */
  events: CallEventSource;
  /** Where `calls` reports the first pages it is asked (the `demand` watch policy, src/live/policy.ts); absent: nowhere. */
  watchDemand?: FirstPageDemand;
  /**
   * Serving `calls` from watched connections' windows (docs/live.md, "Freshness"): a connection's
   * window (`LiveEvents.window`), and how old it may be, in ms, by label (0: never). Absent: never.
   */
  windows?: { window(label: string): Promise<CallWindow | null>; maxAgeMs(label: string): number };
}

/** A connection that failed, or a row of its answer that did not read, met while resolving `path`. */
export interface UpstreamFailureReport {
  error: UpstreamError | InvalidRowError;
  path: readonly (string | number)[];
}

export interface RequestContext {
  services: Services;
  /**
   * The connections this request may see, in configuration order: for choosing among them. To use
   * one, take its view from `connection(ref)`, which counts this request's upstream calls.
   */
  visible: readonly Connection[];
  /** What cursors are bound to besides the filter: the API key's id, or "anonymous". */
  scopeId: string;
  loaders: CallLoaders;
  upstreamFailures: UpstreamFailureReport[];
  /** Added to the response as `extensions.warnings`. */
  warnings: Warning[];
  /**
   * Added to the response as `extensions.dataAge`: for each connection whose `calls` rows came (in
   * part) from its watcher's window, how old that window was, in seconds (the oldest, if several).
   */
  dataAge: Record<string, number>;
  /** What is left of this request's list requests per connection. */
  scanBudget: ScanBudget;
  /** Upstream requests this request made, per connection label (retries included); for its log line. */
  upstreamRequests: Record<string, number>;
  /** This request's trace (its server span), or null when tracing is off. */
  trace: RequestTrace | null;
  /** This request's view of the visible connection `ref`, or undefined (unknown, or another tenant's). */
  connection(ref: ConnectionRef): Connection | undefined;
}

export function createRequestContext(
  services: Services,
  access: { scopeId: string; scope: readonly string[] | null },
  trace: RequestTrace | null = null,
): RequestContext {
  const upstreamRequests: Record<string, number> = {};
  const count = (event: UpstreamEvent) => {
    const label = connectionLabel(event);
    upstreamRequests[label] = (upstreamRequests[label] ?? 0) + 1;
  };
  // This request's own view of a connection (its upstream requests are counted here), built when
  // the request first uses that connection.
  const visible = services.registry.connections.filter((c) => isVisible(c.label, access.scope));
  const byLabel = new Map(visible.map((c) => [c.label, c]));
  const views = new Map<string, Connection>();
  return {
    services,
    visible,
    scopeId: access.scopeId,
    loaders: new CallLoaders(services.observeBatch, services.cache ?? null),
    upstreamFailures: [],
    warnings: [],
    dataAge: {},
    scanBudget: new ScanBudget(services.scanBudget),
    upstreamRequests,
    trace,
    connection(ref) {
      const label = connectionLabel(ref);
      let view = views.get(label);
      if (!view) {
        const connection = byLabel.get(label);
        if (!connection) return undefined;
        view = connection.forRequest(count, trace ?? undefined);
        views.set(label, view);
      }
      return view;
    },
  };
}

/** A scope lists connection labels ("twenty2/default") or whole providers ("twenty2"); null is all. */
export function isVisible(label: string, scope: readonly string[] | null): boolean {
  if (scope === null) return true;
  return scope.some((entry) => entry === label || (!entry.includes('/') && label.startsWith(`${entry}/`)));
}
