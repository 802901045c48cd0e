/**
 * Which upstream requests looked calls up, whatever the provider: each module's simulator knows
 * its own look-up requests (`lookedUp`, src/providers/module.ts), so tests name no provider's API.
 */
import { decodeCallId } from '../../src/calls/ids.js';
import type { Provider } from '../../src/calls/model.js';
import type { Simulators } from '../../src/demo.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule } from '../../src/providers/module.js';
import type { RecordedRequest } from '../../src/simulation/harness.js';

const moduleOf = (provider: Provider) => (PROVIDER_MODULES as readonly ProviderModule[]).find((m) => m.provider === provider)!;
const simOf = (sims: Simulators, provider: Provider) => (sims as unknown as Record<string, never>)[provider.toLowerCase()]!;

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
