/**
 * Helpers for the resilience and security tests: small simulators whose every credential carries a
 * unique marker (so a leak anywhere can be searched for), and the provider table of the fault matrix.
 */
import { randomBytes } from 'node:crypto';
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { SimulatorServer } from '../../src/simulation/harness.js';

export const PROVIDERS = [
  { key: 'twenty2', provider: 'TWENTY2', label: 'twenty2/default' },
  { key: 'unpod', provider: 'UNPOD', label: 'unpod/default' },
  { key: 'cinnox', provider: 'CINNOX', label: 'cinnox/default' },
  { key: 'talkstack', provider: 'TALKSTACK', label: 'talkstack/default' },
] as const;
export type ProviderKey = (typeof PROVIDERS)[number]['key'];

export const newCanary = (): string => `CANARY-${randomBytes(6).toString('hex')}`;

/** The four simulators with `count` calls each; every credential value contains `canary`. */
export function startCanarySimulators(canary: string, count = 30): Promise<Simulators> {
  return startSimulators({
    count,
    credentials: {
      twenty2: { username: `user-${canary}`, password: `pass-${canary}`, workspaceId: `ws-${canary}` },
      unpod: { token: `tok-${canary}`, orgHandle: `org-${canary}` },
      cinnox: { appId: `app-${canary}`, appToken: `tok-${canary}` },
      talkstack: { apiKey: `key-${canary}`, projectId: `proj-${canary}` },
    },
  });
}

export const serverOf = (sims: Simulators, key: ProviderKey): SimulatorServer => sims[key].server;
