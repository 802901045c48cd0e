/**
 * Property: whatever the page size, direction and filter, and however many calls arrive between
 * two page requests, a forward walk yields exactly the filter applied to the calls that existed when
 * it began, and a backward walk the same list (plus what arrived, which is newer than every cursor).
 * Every provider also sends a few rows Switchboard cannot read (first of its list, two in a row,
 * one whose start still reads, the last): they are never returned, shift no cursor, and each that
 * matches the filter is named (PROVIDER_DATA_INVALID) on at least one page of every walk.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import type { ProviderKey } from '../../src/demo.js';
import fc from 'fast-check';
import type { CallRecord } from '../../src/calls/model.js';
import { startSimulators } from '../../src/demo.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, filterArb, idsOf, toFilter } from '../helpers/truth.js';

let h: Harness;
/** The rows sent unreadable, as the calls they really are, by provider and id. */
const unreadable = new Map<string, CallRecord>();
beforeAll(async () => {
  h = await startHarness({ sims: () => startSimulators({ count: 45 }) });
  const { twenty2, unpod, cinnox, talkstack } = h.sims;
  const last = 44;
  for (const i of [0, 9, 10, 22, last]) {
    const exact = i === 22; // the start reads, another field does not
    twenty2.unreadable.set(twenty2.rows[i]!, exact ? { status: null } : { started_at: 1763560005 });
    unpod.rows[i]!.id ??= `call_unreadable${i}`; // errors are told apart by id
    unpod.unreadable.set(unpod.rows[i]!, exact ? { call_status: 404 } : { creation_time: '2026-02-30T05:57:00Z' });
    cinnox.unreadable.set(cinnox.rows[i]!, exact ? { callDuration: '125' } : { callDate: '19/11/2026 14:06' });
    talkstack.unreadable.set(talkstack.rows[i]!, exact ? { seconds: -5 } : { date: 'Thu, 31 Nov 2026 14:06:45 +0000' });
  }
  const readable = new Set(idsOf(allCalls(h.sims)));
  for (const call of allCalls(h.sims, { withUnreadable: true })) {
    if (!readable.has(idsOf([call])[0]!)) unreadable.set(`${call.provider}|${call.providerCallId}`, call);
  }
  expect(unreadable.size).toBe(20);
});
afterAll(() => h.stop());

const PROVIDERS = PROVIDER_MODULES.map((m) => m.provider);

function arrive(provider: (typeof PROVIDERS)[number]): void {
  (h.sims[provider.toLowerCase() as ProviderKey] as ProviderSimulator).addCall();
}

/** One page, and the unreadable rows it names (by provider and id); any other error fails. */
async function page(variables: Record<string, unknown>) {
  const res: GraphQLResponse<any> = await h.gql(PAGE, variables);
  const errors = res.body.errors ?? [];
  const others = errors.filter((e) => e.extensions?.code !== 'PROVIDER_DATA_INVALID');
  if (others.length > 0) throw new Error(JSON.stringify(others));
  const named = errors.map((e) => `${e.extensions?.provider}|${e.extensions?.providerCallId}`);
  for (const key of named) expect(unreadable.has(key)).toBe(true);
  return {
    ...(res.body.data.calls as {
      edges: { cursor: string; node: { id: string } }[];
      pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    }),
    named,
  };
}

it('walks forward and backward without duplicate or gap while calls arrive', async () => {
  const calls = allCalls(h.sims);
  const range: [number, number] = [calls[calls.length - 1]!.startedAt.getTime() - 1000, calls[0]!.startedAt.getTime() + 1000];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 25 }),
      fc.constantFrom('forward', 'backward'),
      fc.option(filterArb(range), { nil: undefined }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }), fc.constantFrom(...PROVIDERS)), { maxLength: 6 }),
      async (size, direction, rawFilter, arrivals) => {
        const filter = rawFilter ? toFilter(rawFilter) : undefined;
        const before = idsOf(applyFilter(allCalls(h.sims), filter ?? {}));
        const toName = [...unreadable].filter(([, call]) => applyFilter([call], filter ?? {}).length > 0).map(([key]) => key);
        const named = new Set<string>();
        const walked: string[] = [];
        let cursor: string | null = null;
        for (let n = 0; n < 500; n++) {
          const p: Awaited<ReturnType<typeof page>> = direction === 'forward'
            ? await page({ first: size, after: cursor, filter })
            : await page({ last: size, before: cursor, filter });
          const ids = p.edges.map((e) => e.node.id);
          for (const key of p.named) named.add(key);
          if (direction === 'forward') walked.push(...ids);
          else walked.unshift(...ids);
          expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
          expect(p.pageInfo.endCursor).toBe(p.edges[p.edges.length - 1]?.cursor ?? null);
          const more = direction === 'forward' ? p.pageInfo.hasNextPage : p.pageInfo.hasPreviousPage;
          if (!more) break;
          // Calls arrive between this page and the next.
          for (const [at, provider] of arrivals) if (at === n) arrive(provider);
          expect(ids).toHaveLength(size);
          cursor = direction === 'forward' ? p.pageInfo.endCursor : p.pageInfo.startCursor;
        }
        expect(new Set(walked).size).toBe(walked.length);
        // Every unreadable row the filter would keep was named on some page of the walk.
        expect(toName.filter((key) => !named.has(key))).toEqual([]);
        if (direction === 'forward') {
          // Calls that arrived are newer than the first page's cursor: exactly the list at the start.
          expect(walked).toEqual(before);
        } else {
          // Walking toward the newest reaches what arrived meanwhile: exactly the list at the end.
          expect(walked).toEqual(idsOf(applyFilter(allCalls(h.sims), filter ?? {})));
        }
      },
    ),
    { numRuns: 100, seed: Number(process.env.PROPERTY_SEED ?? 20261123), endOnFailure: true },
  );
}, 180_000);
