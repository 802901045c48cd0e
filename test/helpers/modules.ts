/**
 * What tests ask of a provider's simulator without naming its API: each module's simulator knows
 * its own look-up requests (`lookedUp`), unreadable rows and canary credentials
 * (src/providers/module.ts), so a new provider needs no test edit.
 */
import type { Capabilities } from '../../src/calls/adapter.js';
import { decodeCallId } from '../../src/calls/ids.js';
import type { Provider } from '../../src/calls/model.js';
import type { Simulators } from '../../src/demo.js';
import { ConnectionHttp, defaultHttpPolicy } from '../../src/providers/http.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule } from '../../src/providers/module.js';
import type { RecordedRequest } from '../../src/simulation/harness.js';

/** The module of `provider`, typed as any module (its simulator functions take `simOf`'s answer). */
export const moduleOf = (provider: Provider | string): ProviderModule =>
  (PROVIDER_MODULES as readonly ProviderModule[]).find((m) => m.provider === provider)!;
/** `provider`'s simulator in `sims`, typed for `moduleOf(provider)`'s functions. */
export const simOf = (sims: Simulators, provider: Provider | string): never => (sims as unknown as Record<string, never>)[provider.toLowerCase()]!;

/** The call keys (`CallRecord.key`) `request`, recorded by `provider`'s simulator, looked up; [] for other requests. */
export function keysLookedUp(sims: Simulators, provider: Provider, request: RecordedRequest): string[] {
  return moduleOf(provider).simulator.lookedUp(simOf(sims, provider), request);
}

/** The requests `provider`'s simulator served (since its last reset) that looked up at least one call. */
export function lookupsAt(sims: Simulators, provider: Provider): RecordedRequest[] {
  return sims[provider.toLowerCase() as Lowercase<Provider>].server.requests.filter((r: RecordedRequest) => keysLookedUp(sims, provider, r).length > 0);
}

/** A matcher of the requests that looked up the call whose `Call.id` is `id` (for targeted faults and counts). */
export function lookupOf(sims: Simulators, id: string): (request: RecordedRequest) => boolean {
  const { provider, key } = decodeCallId(id);
  return (request) => keysLookedUp(sims, provider, request).includes(key);
}

/** What `provider`'s adapter declares (src/calls/adapter.ts), for its connection to `sims`. */
export function capabilitiesOf(sims: Simulators, provider: Provider | string): Capabilities {
  const connection = sims.connections.find((c) => c.provider === provider)!;
  const http = new ConnectionHttp({ provider: connection.provider, connection: connection.connection }, defaultHttpPolicy);
  return moduleOf(provider).createAdapter(connection.connection, connection.settings, http).capabilities;
}

/** How many streams a walk of every connection of `sims` merges: two for a number filter a provider applies per party. */
export const streamCount = (sims: Simulators, filter: { phoneNumber?: string | null }): number =>
  sims.connections.reduce((n, c) => n + (filter.phoneNumber && capabilitiesOf(sims, c.provider).numberFilter === 'per-party' ? 2 : 1), 0);
