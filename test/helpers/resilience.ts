/**
 * Helpers for the resilience and security tests: small simulators whose every credential carries a
 * unique marker (so a leak anywhere can be searched for), and the provider table of the fault matrix.
 */
import { randomBytes } from 'node:crypto';
import type { Provider } from '../../src/calls/model.js';
import { type ProviderKey, type SimulatorOptions, startSimulators, type Simulators } from '../../src/demo.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule } from '../../src/providers/module.js';
import type { SimulatorServer } from '../../src/simulation/harness.js';

/** Every provider of the list (src/providers/index.ts), with its simulator key and default label. */
export const PROVIDERS = PROVIDER_MODULES.map((m) => ({
  key: m.provider.toLowerCase() as ProviderKey,
  provider: m.provider as Provider,
  label: `${m.provider.toLowerCase()}/default`,
}));
export type { ProviderKey };

export const newCanary = (): string => `CANARY-${randomBytes(6).toString('hex')}`;

/** Every provider's simulator with `count` calls each; every credential value contains `canary` (each module's `canaryCredentials`). */
export function startCanarySimulators(canary: string, count = 30): Promise<Simulators> {
  const credentials = Object.fromEntries((PROVIDER_MODULES as readonly ProviderModule[]).map((m) => [m.provider.toLowerCase(), m.simulator.canaryCredentials(canary)]));
  return startSimulators({ count, credentials: credentials as SimulatorOptions['credentials'] });
}

export const serverOf = (sims: Simulators, key: ProviderKey): SimulatorServer => sims[key].server;

