/**
 * Demo mode: with no provider configured, Switchboard starts every provider module's simulator
 * in-process (on 127.0.0.1, random ports) and serves their data through the same adapters a real
 * deployment uses. Tests start the same simulators through `startSimulators`.
 */
import type { Provider } from './calls/model.js';
import type { ConnectionConfig } from './config.js';
import { PROVIDER_MODULES, type ProviderModuleOf } from './providers/index.js';
import type { ProviderModule, ProviderSimulator } from './providers/module.js';
import type { SimulatorServer } from './simulation/harness.js';

/** `twenty2` for TWENTY2: how `Simulators` and `SimulatorOptions.credentials` name a provider. */
export type ProviderKey = Lowercase<Provider>;
type SimulatorOf<P extends Provider> = ReturnType<ProviderModuleOf<P>['simulator']['create']>;

/** Each provider's simulator by key (`sims.talkstack.addCall(…)`), plus the lot. */
export type Simulators = { [P in Provider as Lowercase<P>]: SimulatorOf<P> } & {
  servers: SimulatorServer[];
  /** Connections pointing at the simulators, named "default" like environment connections. */
  connections: ConnectionConfig[];
  close(): Promise<void>;
};

export interface SimulatorOptions {
  /** Calls per simulator (about 300 by default); tests use fewer for speed. */
  count?: number;
  /** Credentials the simulators accept (and the connections send) instead of the demo ones. */
  credentials?: { [P in Provider as Lowercase<P>]?: Partial<SimulatorOf<P>['credentials']> };
}

/** Starts every provider's simulator, in list order; `close()` stops them all. */
export async function startSimulators(options: SimulatorOptions = {}): Promise<Simulators> {
  const { count, credentials = {} } = options;
  const modules = PROVIDER_MODULES as readonly ProviderModule[];
  const sims: ProviderSimulator[] = modules.map((m) =>
    m.simulator.create({ count, credentials: (credentials as Record<string, object | undefined>)[m.provider.toLowerCase()] }),
  );
  const servers = sims.map((s) => s.server);
  const urls = await Promise.all(servers.map((s) => s.start()));
  const connections = modules.map(
    (m, i) =>
      ({
        provider: m.provider,
        connection: 'default',
        settings: m.settings.parse(m.simulator.settings(sims[i]!, urls[i]!)),
      }) as ConnectionConfig,
  );
  return {
    ...(Object.fromEntries(modules.map((m, i) => [m.provider.toLowerCase(), sims[i]])) as Omit<
      Simulators,
      'servers' | 'connections' | 'close'
    >),
    servers,
    connections,
    close: async () => {
      await Promise.all(servers.map((s) => s.close()));
    },
  };
}
