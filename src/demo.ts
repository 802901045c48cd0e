/**
 * Demo mode: with no provider configured, Switchboard starts the four simulators in-process (on
 * 127.0.0.1, random ports) and serves their data through the same adapters a real deployment uses.
 */
import type { ConnectionConfig } from './config.js';
import { createCinnoxSimulator } from './providers/cinnox/simulator.js';
import { createTalkStackSimulator } from './providers/talkstack/simulator.js';
import { createTwenty2Simulator } from './providers/twenty2/simulator.js';
import { createUnpodSimulator } from './providers/unpod/simulator.js';
import type { SimulatorServer } from './simulation/harness.js';

export interface Simulators {
  twenty2: ReturnType<typeof createTwenty2Simulator>;
  unpod: ReturnType<typeof createUnpodSimulator>;
  cinnox: ReturnType<typeof createCinnoxSimulator>;
  talkstack: ReturnType<typeof createTalkStackSimulator>;
  servers: SimulatorServer[];
  /** Connections pointing at the simulators, named "default" like environment connections. */
  connections: ConnectionConfig[];
  close(): Promise<void>;
}

/** `count`: calls per simulator (about 300 by default); tests use fewer for speed. */
export async function startSimulators(options: { count?: number } = {}): Promise<Simulators> {
  const twenty2 = createTwenty2Simulator({ count: options.count });
  const unpod = createUnpodSimulator({ count: options.count });
  const cinnox = createCinnoxSimulator({ count: options.count });
  const talkstack = createTalkStackSimulator({ count: options.count });
  const servers = [twenty2.server, unpod.server, cinnox.server, talkstack.server];
  const [t2, up, cx, ts] = await Promise.all(servers.map((s) => s.start()));
  const connections: ConnectionConfig[] = [
    {
      provider: 'TWENTY2',
      connection: 'default',
      settings: { ...twenty2.credentials, baseUrl: t2!, phoneRegion: 'IN' },
    },
    { provider: 'UNPOD', connection: 'default', settings: { ...unpod.credentials, baseUrl: up! } },
    { provider: 'CINNOX', connection: 'default', settings: { ...cinnox.credentials, baseUrl: cx! } },
    {
      provider: 'TALKSTACK',
      connection: 'default',
      settings: { ...talkstack.credentials, baseUrl: ts!, currency: 'USD' },
    },
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
