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

type CredentialsOf<F extends (options: { credentials?: object }) => unknown> = NonNullable<
  Parameters<F>[0]
>['credentials'];

export interface SimulatorOptions {
  /** Calls per simulator (about 300 by default); tests use fewer for speed. */
  count?: number;
  /** Credentials the simulators accept (and the connections send) instead of the demo ones. */
  credentials?: {
    twenty2?: CredentialsOf<typeof createTwenty2Simulator>;
    unpod?: CredentialsOf<typeof createUnpodSimulator>;
    cinnox?: CredentialsOf<typeof createCinnoxSimulator>;
    talkstack?: CredentialsOf<typeof createTalkStackSimulator>;
  };
}

export async function startSimulators(options: SimulatorOptions = {}): Promise<Simulators> {
  const { count, credentials = {} } = options;
  const twenty2 = createTwenty2Simulator({ count, credentials: credentials.twenty2 });
  const unpod = createUnpodSimulator({ count, credentials: credentials.unpod });
  const cinnox = createCinnoxSimulator({ count, credentials: credentials.cinnox });
  const talkstack = createTalkStackSimulator({ count, credentials: credentials.talkstack });
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
