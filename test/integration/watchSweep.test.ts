/**
 * The sweep of lists that show only ended calls (src/live/watcher.ts#sweepRange; docs/live.md,
 * "Watching"), over HTTP: a Switchboard in front of the simulators, a subscriber over GraphQL over
 * SSE, and for every provider whose list shows a call only once it has ended (Unpod, CINNOX), a long
 * call that ends after more than a page of newer calls were listed. It is listed below the newest
 * page; the sweep finds it: one CALL_ADDED and one CALL_ENDED, nothing twice, at the cost of one
 * list request per poll (the simulators' request logs).
 */
import { createClient, type Client } from 'graphql-sse';
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { RecordedRequest } from '../../src/simulation/harness.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { WATCH_PAGE_SIZE } from '../../src/live/watcher.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { simOf } from '../helpers/modules.js';
import { waitFor } from '../helpers/waitFor.js';

const INTERVAL_MS = 100;

/** The providers whose list shows only ended calls (their simulators behave as their adapters declare: test/unit/providers.test.ts). */
const ENDED_ONLY = PROVIDER_MODULES.filter((m) => !m.simulator.create({ count: 1 }).listsOngoing).map((m) => m.provider);

/** A list request the sweep sent: the newest page is read without time bounds, the sweep with both. */
const BOUNDS: Record<string, [string, string]> = { UNPOD: ['start_date', 'end_date'], CINNOX: ['startAt', 'endAt'] };

let sims: Simulators;
let h: Harness;
let client: Client;

beforeAll(async () => {
  sims = await startSimulators({ count: 20 });
  h = await startHarness({ sims: async () => sims, configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: INTERVAL_MS } }) });
  client = createClient({ url: h.server.url, retryAttempts: 0 });
});

afterAll(async () => {
  await client?.dispose();
  await h?.stop();
});

interface Event {
  id: string;
  type: string;
  call: { id: string; provider: string; status: string };
}

it('has providers to test', () => {
  expect(ENDED_ONLY).toEqual(['UNPOD', 'CINNOX']);
  expect(Object.keys(BOUNDS).sort()).toEqual([...ENDED_ONLY].sort());
});

describe.each(ENDED_ONLY)('%s, whose list shows only ended calls', (provider) => {
  it('announces a call that ends after more than a page of newer calls once (CALL_ADDED, CALL_ENDED), at one more request per poll', async () => {
    const sim = simOf(sims, provider) as unknown as {
      startCall(): unknown;
      endCall(row: unknown): void;
      server: { requests: RecordedRequest[]; resetCounters(): void };
    };
    const [lower, upper] = BOUNDS[provider]!;
    const swept = (r: RecordedRequest) => r.query[lower] !== undefined && r.query[upper] !== undefined;
    const events: Event[] = [];
    const dispose = client.subscribe<{ callEvents: Event }>(
      { query: 'subscription($filter: CallFilter) { callEvents(filter: $filter) { id type call { id provider status } } }', variables: { filter: { providers: [provider] } } },
      { next: (result) => void (result.data && events.push(result.data.callEvents)), error: () => {}, complete: () => {} },
    );
    const watcher = () => h.server.events.watchers().find((w) => w.connection === `${provider.toLowerCase()}/default`);
    try {
      await waitFor('the baseline', () => watcher()?.state === 'watching');
      expect(events).toEqual([]);
      // The newest page holds every call seen (20): nothing below it to sweep, no request for it.
      sim.server.resetCounters();
      await waitFor('three polls', () => sim.server.requests.length >= 3);
      expect(sim.server.requests.filter(swept)).toEqual([]);

      const long = sim.startCall();
      const newer = WATCH_PAGE_SIZE + 10;
      for (let i = 0; i < newer; i++) {
        const row = sim.startCall();
        sim.endCall(row);
      }
      await waitFor('the newer calls', () => events.length === 2 * newer);
      // The long call ends: it is listed at the place of its start, below the newest page.
      sim.server.resetCounters();
      sim.endCall(long);
      await waitFor('the long call', () => events.length === 2 * newer + 2);
      // Within ⌈N / 50⌉ + 1 polls (docs/live.md), N ≤ the calls seen below the newest page; one more
      // for CINNOX's closing empty page, and one for a poll in flight when it was listed.
      const below = 20 + newer + 1 - WATCH_PAGE_SIZE;
      expect(sim.server.requests.filter(swept).length).toBeLessThanOrEqual(Math.ceil(below / WATCH_PAGE_SIZE) + 3);
      const last = events.slice(-2);
      expect(last.map((e) => [e.type, e.call.status])).toEqual([
        ['CALL_ADDED', 'COMPLETED'],
        ['CALL_ENDED', 'COMPLETED'],
      ]);
      expect(last[0]!.call.id).toBe(last[1]!.call.id);

      // The cost: per poll, the newest page and one sweep page, nothing else.
      sim.server.resetCounters();
      await waitFor('several polls', () => sim.server.requests.filter(swept).length >= 6);
      const requests = [...sim.server.requests];
      const sweeps = requests.filter(swept).length;
      const newest = requests.filter((r) => r.query[lower] === undefined && r.query[upper] === undefined).length;
      expect(sweeps + newest).toBe(requests.length);
      // A poll reads the newest page, then the sweep's: the log may end between the two.
      expect(newest - sweeps).toBeGreaterThanOrEqual(0);
      expect(newest - sweeps).toBeLessThanOrEqual(1);

      // Several passes later (the span is about 80 calls: two pages), still each call once: added, ended.
      const byCall = new Map<string, string[]>();
      for (const event of events) byCall.set(event.call.id, [...(byCall.get(event.call.id) ?? []), event.type]);
      expect(byCall.size).toBe(newer + 1);
      for (const types of byCall.values()) expect(types).toEqual(['CALL_ADDED', 'CALL_ENDED']);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    } finally {
      dispose();
    }
    await waitFor('no watcher', () => watcher() === undefined);
  });
});
