/**
 * Fail-over with a real process death: a Switchboard replica in its own process
 * (test/helpers/watchReplica.ts) holds the watch lease of every connection while calls keep
 * arriving and ending; it is killed with SIGKILL (no lease given back, a poll perhaps in flight).
 * The replica in this process takes over once the leases expire, from the watch state in Redis:
 * its subscribers receive every event exactly once — each call's CALL_ADDED once and first, no id
 * twice — and the calls that arrived around the kill are announced, not lost.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { simulateActivity, startSimulators, type Simulators } from '../../src/demo.js';
import type { CallEvent } from '../../src/live/events.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const TIMING = { intervalMs: 100, leaseMs: 1_000, heartbeatMs: 100 };

let redis: RedisServer;
let sims: Simulators;
let survivor: Harness;
let child: ChildProcess;
const childEvents: { id: string; type: string; key: string; provider: string }[] = [];
let childWatching: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sims = await startSimulators({ count: 20 });
  child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/watchReplica.ts'], {
    env: { ...process.env, WATCH_REPLICA_CONNECTIONS: JSON.stringify(sims.connections), WATCH_REPLICA_REDIS: redis.url, WATCH_REPLICA_TIMING: JSON.stringify(TIMING) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const message = JSON.parse(line) as { event?: (typeof childEvents)[number]; watching?: string[] };
    if (message.event) childEvents.push(message.event);
    if (message.watching) childWatching = message.watching;
  });
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await survivor?.stop();
  await redis?.stop();
});

/** Every call the simulators list now, as `PROVIDER/key`. */
function listedCalls(): string[] {
  return PROVIDER_MODULES.flatMap((m) => {
    const sim = (sims as unknown as Record<string, ProviderSimulator>)[m.provider.toLowerCase()]!;
    return m.simulator.calls(sim as never, {}).map((c) => `${c.provider}/${c.key}`);
  });
}

test('the replica holding the leases is killed mid-stream: the other takes over, every event exactly once, none lost', async () => {
  const labels = PROVIDER_MODULES.map((m) => `${m.provider.toLowerCase()}/default`).sort();
  // The child listens first, so it takes every lease.
  await waitFor('the child to watch every connection', () => childWatching.length === labels.length, 45_000);
  const baseline = new Set(listedCalls());
  survivor = await startHarness({ sims: async () => sims, env: { REDIS_URL: redis.url }, configure: (config) => ({ ...config, watch: TIMING }) });
  const received: CallEvent[] = [];
  const stop = survivor.server.events.subscribe(
    PROVIDER_MODULES.map((m) => ({ provider: m.provider, connection: 'default' })),
    (e) => received.push(e),
  );
  const stopActivity = simulateActivity(sims, { everyMs: 30, durationMs: [50, 400] });
  try {
    await waitFor('events through the child', () => received.length >= 10);
    expect(survivor.server.events.watchers()).toEqual([]); // the child holds every lease

    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const atKill = received.length;
    await waitFor('the takeover', () => survivor.server.events.watchers().length === labels.length, TIMING.leaseMs * 10);
    await waitFor('events after the takeover', () => received.length >= atKill + 10);
  } finally {
    stopActivity();
  }
  // Everything started has ended by now; let the watchers see it.
  await new Promise((r) => setTimeout(r, 1_000));
  stop();

  const ids = received.map((e) => e.id);
  expect(new Set(ids).size).toBe(ids.length); // no event twice
  const byCall = new Map<string, string[]>();
  for (const e of received) {
    const call = `${e.call.provider}/${e.call.key}`;
    byCall.set(call, [...(byCall.get(call) ?? []), e.type]);
  }
  for (const [call, types] of byCall) {
    expect([call, types[0]]).toEqual([call, 'CALL_ADDED']);
    expect([call, types.filter((t) => t === 'CALL_ADDED').length]).toEqual([call, 1]);
    // Calls still in progress when the activity stopped have not ended.
    expect([call, types.filter((t) => t === 'CALL_ENDED').length <= 1]).toEqual([call, true]);
  }
  // None lost: every call the simulators list now that was not there before is announced.
  const added = listedCalls().filter((call) => !baseline.has(call));
  expect(added.length).toBeGreaterThanOrEqual(20);
  expect(added.filter((call) => !byCall.has(call))).toEqual([]);
  // The child's events before the kill reached this replica's subscribers with the same ids (the
  // child's own lines may stop short of its last events: it was killed).
  const survivorIds = new Set(ids);
  expect(childEvents.length).toBeGreaterThan(0);
  expect(childEvents.filter((e) => !survivorIds.has(e.id))).toEqual([]);
}, 120_000);
