/**
 * Helpers for the resilience and security tests: small simulators whose every credential carries a
 * unique marker (so a leak anywhere can be searched for), and the provider table of the fault matrix.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectionConfig } from '../../src/config.js';
import type { Simulators } from '../../src/demo.js';
import { createCinnoxSimulator } from '../../src/providers/cinnox/simulator.js';
import { createTalkStackSimulator } from '../../src/providers/talkstack/simulator.js';
import { createTwenty2Simulator } from '../../src/providers/twenty2/simulator.js';
import { createUnpodSimulator } from '../../src/providers/unpod/simulator.js';
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
export async function startCanarySimulators(canary: string, count = 30): Promise<Simulators> {
  const twenty2 = createTwenty2Simulator({
    count,
    credentials: { username: `user-${canary}`, password: `pass-${canary}`, workspaceId: `ws-${canary}` },
  });
  const unpod = createUnpodSimulator({ count, credentials: { token: `tok-${canary}`, orgHandle: `org-${canary}` } });
  const cinnox = createCinnoxSimulator({ count, credentials: { appId: `app-${canary}`, appToken: `tok-${canary}` } });
  const talkstack = createTalkStackSimulator({ count, credentials: { apiKey: `key-${canary}`, projectId: `proj-${canary}` } });
  const servers: SimulatorServer[] = [twenty2.server, unpod.server, cinnox.server, talkstack.server];
  const [t2, up, cx, ts] = await Promise.all(servers.map((s) => s.start()));
  const connections: ConnectionConfig[] = [
    { provider: 'TWENTY2', connection: 'default', settings: { ...twenty2.credentials, baseUrl: t2!, phoneRegion: 'IN' } },
    { provider: 'UNPOD', connection: 'default', settings: { ...unpod.credentials, baseUrl: up! } },
    { provider: 'CINNOX', connection: 'default', settings: { ...cinnox.credentials, baseUrl: cx! } },
    { provider: 'TALKSTACK', connection: 'default', settings: { ...talkstack.credentials, baseUrl: ts!, currency: 'USD' } },
  ];
  return {
    twenty2,
    unpod,
    cinnox,
    talkstack,
    servers,
    connections,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}

export const serverOf = (sims: Simulators, key: ProviderKey): SimulatorServer => sims[key].server;
