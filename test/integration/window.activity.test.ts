/**
 * Serving `calls` from the watched windows while calls start and end (docs/live.md, "Freshness"),
 * as demo mode's `simulateActivity` does, over HTTP against every provider's simulator: every
 * first page served from the windows is full (no short page without a warning) and equals the
 * simulators' newest calls at some moment no older than the max data age.
 */
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { PROVIDERS, connectionLabel } from '../../src/calls/model.js';
import type { Config } from '../../src/config.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { PAGE, allCalls, idsOf } from '../helpers/truth.js';
import { waitFor } from '../helpers/waitFor.js';

const MAX_AGE_MS = 10_000;
const windowed = (config: Config): Config => ({ ...config, maxDataAgeMs: MAX_AGE_MS, watch: { ...config.watch, intervalMs: 150 } });

describe('windows while calls start and end', () => {
  let sims: Simulators;
  let h: Harness;
  let stop: () => void;
  beforeAll(async () => {
    // More calls than a watcher's newest page (50): windows end above the oldest calls.
    sims = await startSimulators({ count: 60 });
    h = await startHarness({ sims: async () => sims, configure: windowed });
    const labels = sims.connections.map(connectionLabel);
    stop = h.server.events.subscribe(sims.connections, () => {});
    await waitFor('every watcher reads', () => labels.every((l) => h.server.events.watchers().find((w) => w.connection === l)?.state === 'watching'));
  });
  afterAll(async () => {
    stop?.();
    await h?.stop();
  });

  it('every windowed first page is full and is the newest calls of one recent moment', async () => {
    const simulators = ['twenty2', 'unpod', 'cinnox', 'talkstack', 'twilio', 'vapi', 'retell'].map((k) => (sims as unknown as Record<string, ProviderSimulator>)[k]!);
    // Snapshots of the truth (the top rows), each with when it was taken.
    const snapshots: { at: number; ids: string[] }[] = [];
    const snap = () => snapshots.push({ at: Date.now(), ids: idsOf(allCalls(sims)).slice(0, 3) });
    const open: { sim: ProviderSimulator; row: unknown }[] = [];
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    snap();
    const problems: string[] = [];
    let windowedPages = 0;
    for (let step = 0; step < 120; step++) {
      if (open.length === 0 || random() < 0.55) {
        const sim = simulators[Math.floor(random() * simulators.length)]!;
        open.push({ sim, row: (sim as unknown as { startCall(): unknown }).startCall() });
      } else {
        const [ended] = open.splice(Math.floor(random() * open.length), 1);
        (ended!.sim as unknown as { endCall(row: unknown): void }).endCall(ended!.row);
      }
      snap();
      await new Promise((resolve) => setTimeout(resolve, 40 + random() * 160));
      // Mostly the breaker's `first: 3`; now and then one provider's page that runs past its window's edge.
      const size = step % 5 === 4 ? 60 : 3;
      const providers = PROVIDERS[step % PROVIDERS.length]!;
      const res = await h.gql(PAGE, size === 3 ? { first: size } : { first: size, filter: { providers: [providers] } });
      const ids: string[] = res.body.data?.calls.edges.map((e: { node: { id: string } }) => e.node.id) ?? [];
      const extensions = (res.body as { extensions?: { dataAge?: Record<string, number>; warnings?: unknown } }).extensions;
      const dataAge = extensions?.dataAge;
      expect(res.body.errors).toBeUndefined();
      expect(extensions?.warnings).toBeUndefined();
      if (size === 3 && dataAge && Object.keys(dataAge).length === simulators.length) windowedPages++;
      if (ids.length !== size || new Set(ids).size !== size) problems.push(`step ${step}: ${ids.length} edges ${JSON.stringify(ids)} dataAge ${JSON.stringify(dataAge)}`);
      else if (size === 3 && !snapshots.some((s) => s.at >= Date.now() - MAX_AGE_MS - 1000 && s.ids.join() === ids.join())) {
        problems.push(`step ${step}: ${JSON.stringify(ids)} is no recent top; now ${JSON.stringify(snapshots.at(-1)!.ids)}, dataAge ${JSON.stringify(dataAge)}`);
      }
    }
    expect(problems).toEqual([]);
    // The pages were served from the windows (every connection's age reported), not upstream.
    expect(windowedPages).toBeGreaterThan(80);
  }, 120_000);
});
