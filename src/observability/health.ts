/**
 * GET /health: whether the server is up, and each connection's state as upstream requests have
 * found it. A connection is "breaker_open" while its circuit breaker refuses requests, "degraded"
 * when an upstream request failed in the last `degradedWindowMs` (or the breaker is probing), and
 * "ok" otherwise — including before any request was made. No URL, credential or upstream body is
 * reported: only the connection's name, the failure kind and times.
 */
import type { LiveConnection as Connection } from '../providers/index.js';
import type { UpstreamEvent } from '../providers/http.js';
import type { WatcherStatus } from '../live/watcher.js';

export type ConnectionState = 'ok' | 'degraded' | 'breaker_open';

export interface ConnectionHealth {
  /** "twenty2/default": the name used in configuration, API-key scopes and logs. */
  connection: string;
  provider: string;
  name: string;
  state: ConnectionState;
  breaker: 'closed' | 'open' | 'half-open';
  /** ISO time of the last failed upstream request, and its kind (TIMEOUT, HTTP_STATUS, ...). */
  lastErrorAt: string | null;
  lastError: string | null;
  lastSuccessAt: string | null;
}

export interface HealthReport {
  /** "ok" when every connection is ok, else "degraded"; the server answers either way. */
  status: 'ok' | 'degraded';
  mode: 'demo' | 'configured';
  connections: ConnectionHealth[];
  /** The connections this replica watches for live events now, with each watcher's state (docs/live.md). */
  watchers: WatcherStatus[];
}

interface Seen {
  lastErrorAt: number | null;
  lastError: string | null;
  lastSuccessAt: number | null;
}

export const DEGRADED_WINDOW_MS = 60_000;

export class HealthTracker {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly degradedWindowMs = DEGRADED_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The UpstreamObserver of every connection. */
  observeUpstream = (event: UpstreamEvent): void => {
    const key = `${event.provider}|${event.connection}`;
    const seen = this.seen.get(key) ?? { lastErrorAt: null, lastError: null, lastSuccessAt: null };
    if (event.failure) {
      seen.lastErrorAt = this.now();
      seen.lastError = event.failure;
    } else {
      seen.lastSuccessAt = this.now();
    }
    this.seen.set(key, seen);
  };

  report(connections: readonly Connection[], mode: HealthReport['mode'], watchers: WatcherStatus[] = []): HealthReport {
    const now = this.now();
    const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
    const list = connections.map((c): ConnectionHealth => {
      const { provider, connection } = c.http.ref;
      const seen = this.seen.get(`${provider}|${connection}`);
      const breaker = c.http.breakerState;
      const recentFailure = seen?.lastErrorAt != null && now - seen.lastErrorAt < this.degradedWindowMs;
      const state: ConnectionState =
        breaker === 'open' ? 'breaker_open' : recentFailure || breaker === 'half-open' ? 'degraded' : 'ok';
      return {
        connection: c.label,
        provider,
        name: connection,
        state,
        breaker,
        lastErrorAt: iso(seen?.lastErrorAt ?? null),
        lastError: seen?.lastError ?? null,
        lastSuccessAt: iso(seen?.lastSuccessAt ?? null),
      };
    });
    return { status: list.every((c) => c.state === 'ok') ? 'ok' : 'degraded', mode, connections: list, watchers };
  }
}
