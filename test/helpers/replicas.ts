/**
 * Replicas in this process sharing one real redis-server (REDIS_URL) and one set of simulators, as
 * the scale-out tests run them: `a` and `b` started, `start()` for more.
 */
import { type SimulatorOptions, type Simulators, startSimulators } from '../../src/demo.js';
import { startRedis, type RedisServer } from './redis.js';
import { type Harness, type HarnessOptions, startHarness } from './switchboard.js';

export interface Replicas {
  redis: RedisServer;
  sims: Simulators;
  a: Harness;
  b: Harness;
  /** Starts one more replica with the same options (stopped by `stop`). */
  start(): Promise<Harness>;
  /** Stops every replica still running (those a test stopped itself are skipped), then the simulators and Redis. */
  stop(): Promise<void>;
}

/** `harness`: every replica's options; REDIS_URL is added to its `env`. */
export async function startReplicas(options: { sims?: SimulatorOptions; harness?: Omit<HarnessOptions, 'sims'> } = {}): Promise<Replicas> {
  const redis = await startRedis();
  const sims = await startSimulators(options.sims ?? { count: 20 });
  const started: Harness[] = [];
  const start = async () => {
    const h = await startHarness({ ...options.harness, sims: async () => sims, env: { ...options.harness?.env, REDIS_URL: redis.url } });
    started.push(h);
    return h;
  };
  const a = await start();
  const b = await start();
  return {
    redis,
    sims,
    a,
    b,
    start,
    async stop() {
      // server.stop, not h.stop: the simulators are shared, closed once below.
      for (const h of started) await h.server.stop();
      await sims.close();
      await redis.stop();
    },
  };
}
