/**
 * The providers Switchboard has, in one ordered list, and configuration → live connections.
 * Adding a provider is its folder (exporting one `ProviderModule`, src/providers/module.ts), one
 * entry in `PROVIDER_MODULES` and one value of the SDL's `Provider` enum; see docs/providers.md.
 */
import type { Connection } from '../calls/adapter.js';
import type { CacheConnection } from '../calls/cache.js';
import { type ConnectionRef, type Provider, connectionLabel } from '../calls/model.js';
import type { ConnectionConfig } from '../config.js';
import type { RequestTrace } from '../observability/tracing.js';
import { cinnox } from './cinnox/module.js';
import { ConnectionHttp, type HttpPolicy, type UpstreamObserver } from './http.js';
import type { ProviderModule } from './module.js';
import type { UpstreamRates } from './rate.js';
import { retell } from './retell/module.js';
import { talkstack } from './talkstack/module.js';
import { twilio } from './twilio/module.js';
import { twenty2 } from './twenty2/module.js';
import { unpod } from './unpod/module.js';
import { vapi } from './vapi/module.js';

/**
 * Every provider, in the SDL enum's order (the merged order's tie-break; a test keeps the two equal).
 * Configuration, messages, cache keys, demo mode and the test helpers derive from this list.
 */
export const PROVIDER_MODULES = [twenty2, unpod, cinnox, talkstack, twilio, vapi, retell] as const;

type AnyModule = (typeof PROVIDER_MODULES)[number];
/** The module of provider `P`, with its exact settings and simulator types. */
export type ProviderModuleOf<P extends Provider> = Extract<AnyModule, { provider: P }>;

const byProvider = new Map<Provider, ProviderModule>(
  PROVIDER_MODULES.map((m) => [m.provider, m as unknown as ProviderModule]),
);

/** The module of `provider`; throws for a value not in the list (an enum value without a module). */
export function providerModule(provider: Provider): ProviderModule {
  const found = byProvider.get(provider);
  if (!found) throw new Error(`no provider module for ${provider} in PROVIDER_MODULES (src/providers/index.ts)`);
  return found;
}

export interface LiveConnection extends Connection {
  http: ConnectionHttp;
  /**
   * This connection for one GraphQL request: an adapter over `http.forRequest(observe, trace)`, so
   * the request's upstream events reach `observe` (and its upstream spans, `trace`). Adapters hold no state past their constructor
   * but the connection's own (`ProviderModule.connectionState`, built once here), so building one per request shares
   * everything that matters (breaker, cap, sockets, caches).
   */
  forRequest(observe: UpstreamObserver, trace?: RequestTrace): LiveConnection;
}

/** A connection as the call cache keys it (src/calls/cache.ts): its settings minus its module's secrets. */
export function cacheIdentity(config: ConnectionConfig): CacheConnection {
  const secrets: readonly string[] = providerModule(config.provider).secrets as readonly string[];
  const publicSettings = Object.fromEntries(
    Object.entries(config.settings as Record<string, unknown>).filter(([name]) => !secrets.includes(name)),
  );
  return { provider: config.provider, connection: config.connection, publicSettings };
}

/** Every configured connection, built once at start-up. */
export class ConnectionRegistry {
  readonly connections: readonly LiveConnection[];
  private readonly byLabel: Map<string, LiveConnection>;

  /** `rates`: each connection's request budget (./rate.ts); without it, no connection has one. */
  constructor(configs: readonly ConnectionConfig[], policy: HttpPolicy, observe?: UpstreamObserver, rates?: UpstreamRates) {
    this.connections = configs.map((config) => {
      const ref: ConnectionRef = { provider: config.provider, connection: config.connection };
      const http = new ConnectionHttp(ref, policy, observe, rates?.forConnection(config, policy.ratePerSecond));
      const label = connectionLabel(ref);
      const module = providerModule(config.provider);
      const state = module.connectionState?.();
      const bind = (view: ConnectionHttp): LiveConnection => ({
        ref,
        label,
        adapter: module.createAdapter(config.connection, config.settings, view, state),
        http: view,
        concurrency: view.concurrency,
        forRequest: (requestObserver, trace) => bind(http.forRequest(requestObserver, trace)),
      });
      return bind(http);
    });
    this.byLabel = new Map(this.connections.map((c) => [c.label, c]));
  }

  get(ref: ConnectionRef): LiveConnection | undefined {
    return this.byLabel.get(connectionLabel(ref));
  }
}
