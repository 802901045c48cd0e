/**
 * Property: whatever the page size, direction and filter, and however many calls arrive between
 * two page requests, a forward walk yields exactly the filter applied to the calls that existed when
 * it began, and a backward walk the same list (plus what arrived, which is newer than every cursor).
 */
import fc from 'fast-check';
import { startSimulators } from '../../src/demo.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { startHarness, type Harness, type GraphQLResponse } from '../helpers/switchboard.js';
import { PAGE, allCalls, applyFilter, idsOf, type TruthFilter } from '../helpers/truth.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ sims: () => startSimulators({ count: 45 }) });
});
afterAll(() => h.stop());

const PROVIDERS = ['TWENTY2', 'UNPOD', 'CINNOX', 'TALKSTACK'] as const;
const STATUSES = ['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED', 'UNKNOWN'];

function arrive(provider: (typeof PROVIDERS)[number]): void {
  const sims = h.sims;
  if (provider === 'TWENTY2') sims.twenty2.addCall();
  if (provider === 'UNPOD') sims.unpod.addCall();
  if (provider === 'CINNOX') sims.cinnox.addCall();
  if (provider === 'TALKSTACK') sims.talkstack.addCall();
}

async function page(variables: Record<string, unknown>) {
  const res: GraphQLResponse<any> = await h.gql(PAGE, variables);
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.calls as {
    edges: { cursor: string; node: { id: string } }[];
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  };
}

const filterArb = (range: [number, number]) =>
  fc.record(
    {
      providers: fc.subarray([...PROVIDERS], { minLength: 1 }),
      direction: fc.constantFrom('INBOUND', 'OUTBOUND'),
      statuses: fc.subarray(STATUSES, { minLength: 1 }),
      window: fc.tuple(fc.integer({ min: range[0], max: range[1] }), fc.integer({ min: range[0], max: range[1] })),
      phoneNumber: fc.constantFrom(SHARED_NUMBERS.india, SHARED_NUMBERS.us),
    },
    { requiredKeys: [] },
  );

function toFilter(f: Record<string, unknown>): TruthFilter {
  const filter: TruthFilter = {};
  if (f.providers) filter.providers = f.providers as string[];
  if (f.direction) filter.direction = f.direction as string;
  if (f.statuses) filter.statuses = f.statuses as string[];
  if (f.phoneNumber) filter.phoneNumber = f.phoneNumber as string;
  if (f.window) {
    const [a, b] = f.window as [number, number];
    filter.startedAfter = new Date(Math.min(a, b)).toISOString();
    filter.startedBefore = new Date(Math.max(a, b)).toISOString();
  }
  return filter;
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
        const walked: string[] = [];
        let cursor: string | null = null;
        for (let n = 0; n < 500; n++) {
          const p: Awaited<ReturnType<typeof page>> = direction === 'forward'
            ? await page({ first: size, after: cursor, filter })
            : await page({ last: size, before: cursor, filter });
          const ids = p.edges.map((e) => e.node.id);
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
