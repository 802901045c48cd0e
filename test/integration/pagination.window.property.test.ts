/**
 * The pagination property (./pagination.property.test.ts) with every connection watched and its
 * window served (docs/live.md, "Freshness"): whatever the page size, direction and filter, and
 * however many calls arrive between two pages, a forward walk that starts in the windows and runs
 * past them yields exactly the filter applied to the calls as the watchers last read them, each
 * once; a backward walk (read upstream) the same list plus what arrived. A row that does not read
 * inside Twenty2's window keeps that window from being served (its page names the row as the
 * upstream path does); one past Unpod's window is named by the upstream read that continues it.
 */
import fc from 'fast-check';
import type { ProviderKey } from '../../src/demo.js';
import { startSimulators } from '../../src/demo.js';
import { connectionLabel } from '../../src/calls/model.js';
import type { CallRecord } from '../../src/calls/model.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, filterArb, idsOf, toFilter } from '../helpers/truth.js';

let h: Harness;
let unsubscribe: () => void = () => {};
const unreadable = new Map<string, CallRecord>();

/** (Re)starts watching every connection: new watchers, each with a fresh window of the calls now. */
async function rewatch(): Promise<void> {
  unsubscribe();
  const until = Date.now() + 15_000;
  while (h.server.events.watchers().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  unsubscribe = h.server.events.subscribe(h.sims.connections, () => {});
  const labels = h.sims.connections.map(connectionLabel);
  while (!labels.every((l) => h.server.events.watchers().find((w) => w.connection === l)?.state === 'watching')) {
    if (Date.now() > until) throw new Error('the watchers did not read');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  h = await startHarness({
    sims: () => startSimulators({ count: 120 }),
    // Polls an hour apart: the windows stay as read until `rewatch`.
    configure: (config) => ({ ...config, maxDataAgeMs: 3_600_000, watch: { ...config.watch, intervalMs: 3_600_000 } }),
  });
  const { twenty2, unpod } = h.sims;
  twenty2.unreadable.set(twenty2.rows[5]!, { started_at: 1763560005 });
  unpod.rows[100]!.id ??= 'call_unreadable100';
  unpod.unreadable.set(unpod.rows[100]!, { creation_time: '2026-02-30T05:57:00Z' });
  const readable = new Set(idsOf(allCalls(h.sims)));
  for (const call of allCalls(h.sims, { withUnreadable: true })) {
    if (!readable.has(idsOf([call])[0]!)) unreadable.set(`${call.provider}|${call.providerCallId}`, call);
  }
  expect(unreadable.size).toBe(2);
  await rewatch();
});
afterAll(async () => {
  unsubscribe();
  await h.stop();
});

const PROVIDERS = PROVIDER_MODULES.map((m) => m.provider);

async function page(variables: Record<string, unknown>) {
  const res: GraphQLResponse<any> = await h.gql(PAGE, variables);
  const errors = res.body.errors ?? [];
  const others = errors.filter((e) => e.extensions?.code !== 'PROVIDER_DATA_INVALID');
  if (others.length > 0) throw new Error(JSON.stringify(others));
  const named = errors.map((e) => `${e.extensions?.provider}|${e.extensions?.providerCallId}`);
  for (const key of named) expect(unreadable.has(key)).toBe(true);
  const dataAge = ((res.body as { extensions?: { dataAge?: Record<string, number> } }).extensions?.dataAge ?? {}) as Record<string, number>;
  return {
    ...(res.body.data.calls as {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    }),
    named,
    dataAge,
  };
}

it('walks from the windows and past them without duplicate or gap while calls arrive', async () => {
  const calls = allCalls(h.sims);
  const range: [number, number] = [calls[calls.length - 1]!.startedAt.getTime() - 1000, calls[0]!.startedAt.getTime() + 1000];
  let servedPages = 0;
  let arrived = false;
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 3, max: 40 }),
      fc.constantFrom('forward', 'forward', 'backward'),
      fc.option(filterArb(range), { nil: undefined }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom(...PROVIDERS)), { maxLength: 4 }),
      async (size, direction, rawFilter, arrivals) => {
        // The windows hold what the watchers read: read again after calls arrived.
        if (arrived) await rewatch();
        arrived = false;
        const filter = rawFilter ? toFilter(rawFilter) : undefined;
        const before = idsOf(applyFilter(allCalls(h.sims), filter ?? {}));
        const toName = [...unreadable].filter(([, call]) => applyFilter([call], filter ?? {}).length > 0).map(([key]) => key);
        const named = new Set<string>();
        const walked: string[] = [];
        let cursor: string | null = null;
        for (let n = 0; n < 1000; n++) {
          const p: Awaited<ReturnType<typeof page>> = direction === 'forward'
            ? await page({ first: size, after: cursor, filter })
            : await page({ last: size, before: cursor, filter });
          const ids = p.edges.map((e) => e.node.id);
          for (const key of p.named) named.add(key);
          // Twenty2's window holds a row that did not read: it is never served.
          expect(Object.keys(p.dataAge)).not.toContain('twenty2/default');
          if (direction === 'backward') expect(p.dataAge).toEqual({});
          if (Object.keys(p.dataAge).length > 0) servedPages++;
          if (direction === 'forward') walked.push(...ids);
          else walked.unshift(...ids);
          const more = direction === 'forward' ? p.pageInfo.hasNextPage : p.pageInfo.hasPreviousPage;
          if (!more) break;
          for (const [at, provider] of arrivals) {
            if (at !== n) continue;
            (h.sims[provider.toLowerCase() as ProviderKey] as ProviderSimulator).addCall();
            arrived = true;
          }
          expect(ids).toHaveLength(size);
          cursor = direction === 'forward' ? p.pageInfo.endCursor : p.pageInfo.startCursor;
        }
        expect(new Set(walked).size).toBe(walked.length);
        expect(toName.filter((key) => !named.has(key))).toEqual([]);
        if (direction === 'forward') expect(walked).toEqual(before);
        else expect(walked).toEqual(idsOf(applyFilter(allCalls(h.sims), filter ?? {})));
      },
    ),
    { numRuns: 30, seed: Number(process.env.PROPERTY_SEED ?? 20261130), endOnFailure: true },
  );
  expect(servedPages).toBeGreaterThan(10);
}, 300_000);
