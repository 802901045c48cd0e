/**
 * The per-request context: who is asking (the connections their API key may see), the loaders of
 * this request, and the upstream failures met while answering, which the server adds to the
 * response as PROVIDER_UNAVAILABLE errors beside the data that did arrive.
 */
import type { CallCache } from './calls/cache.js';
import { CallLoaders, type BatchObserver } from './calls/loaders.js';
import type { CursorCodec } from './calls/cursor.js';
import type { ConnectionRef } from './calls/model.js';
import type { UpstreamError } from './errors.js';
import type { Connection, ConnectionRegistry } from './providers/index.js';

/** Process-wide parts, built once at start-up. */
export interface Services {
  registry: ConnectionRegistry;
  cursors: CursorCodec;
  observeBatch?: BatchObserver;
  /** Ended calls shared across requests (and replicas, with Redis); null when off. */
  cache?: CallCache | null;
}

export interface UpstreamFailureReport {
  error: UpstreamError;
  path: readonly (string | number)[];
}

export interface RequestContext {
  services: Services;
  /** The connections this request may see, in configuration order. */
  visible: readonly Connection[];
  /** What cursors are bound to besides the filter: the API key's id, or "anonymous". */
  scopeId: string;
  loaders: CallLoaders;
  upstreamFailures: UpstreamFailureReport[];
  /** The visible connection for `ref`, or undefined (unknown, or another tenant's). */
  connection(ref: ConnectionRef): Connection | undefined;
}

export function createRequestContext(
  services: Services,
  access: { scopeId: string; scope: readonly string[] | null },
): RequestContext {
  const visible = services.registry.connections.filter((c) => isVisible(c.label, access.scope));
  const labels = new Set(visible.map((c) => c.label));
  return {
    services,
    visible,
    scopeId: access.scopeId,
    loaders: new CallLoaders(services.observeBatch, services.cache ?? null),
    upstreamFailures: [],
    connection(ref) {
      const connection = services.registry.get(ref);
      return connection && labels.has(connection.label) ? connection : undefined;
    },
  };
}

/** A scope lists connection labels ("twenty2/default") or whole providers ("twenty2"); null is all. */
export function isVisible(label: string, scope: readonly string[] | null): boolean {
  if (scope === null) return true;
  return scope.some((entry) => entry === label || (!entry.includes('/') && label.startsWith(`${entry}/`)));
}
