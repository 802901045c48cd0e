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

/** The pace of demo mode's calls: one every `everyMs` on average, each lasting `durationMs` (range). */
export interface ActivityPace {
  everyMs: number;
  durationMs: readonly [number, number];
}

/** A call every 8 s or so, lasting 10–40 s: events a person can watch in GraphiQL. */
export const DEMO_PACE: ActivityPace = { everyMs: 8_000, durationMs: [10_000, 40_000] };

/**
 * Demo mode's live traffic (docs/live.md): now and then a call starts at a random provider's
 * simulator and ends a little later (`startCall`, `endCall`), so a subscriber sees CALL_ADDED,
 * CALL_ENDED (and, where the provider lists calls in progress, the call in between) within seconds.
 * Returns a function that stops it; calls in progress are then left as they are.
 */
export function simulateActivity(sims: Simulators, pace: ActivityPace = DEMO_PACE, random: () => number = Math.random): () => void {
  const simulators = (PROVIDER_MODULES as readonly ProviderModule[]).map(
    (m) => (sims as unknown as Record<string, ProviderSimulator>)[m.provider.toLowerCase()]!,
  );
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) run();
    }, ms);
    timer.unref();
    timers.add(timer);
  };
  const next = () => {
    // Exponential gaps: arrivals as a Poisson process, as real calls arrive.
    later(-Math.log(1 - random()) * pace.everyMs, () => {
      const sim = simulators[Math.floor(random() * simulators.length)]!;
      const row = sim.startCall();
      const [min, max] = pace.durationMs;
      later(min + random() * (max - min), () => sim.endCall(row));
      next();
    });
  };
  next();
  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
}
