/**
 * Ground truth for pagination tests: what the simulators hold, mapped by the providers' pure
 * mappings (not by the merge under test), ordered and filtered by this file's own rules.
 */
import type { Simulators } from '../../src/demo.js';
import type { CallRecord } from '../../src/calls/model.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import type { ProviderModule } from '../../src/providers/module.js';
import { encodeCallId } from '../../src/calls/ids.js';
import { providerRank } from '../../src/calls/model.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import fc from 'fast-check';

/**
 * Every call the simulators hold, by its real data, in the merged order. Rows a simulator sends
 * unreadable (`unreadable`) are left out unless `withUnreadable`: Switchboard cannot return them.
 */
export function allCalls(sims: Simulators, options: { withUnreadable?: boolean } = {}): CallRecord[] {
  // Each provider's own pure mapping of its simulator's rows (src/providers/<name>/module.ts).
  const calls = (PROVIDER_MODULES as readonly ProviderModule[]).flatMap((m) =>
    m.simulator.calls((sims as unknown as Record<string, never>)[m.provider.toLowerCase()]!, options),
  );
  return calls.sort(
    (a, b) =>
      b.startedAt.getTime() - a.startedAt.getTime() ||
      providerRank(a.provider) - providerRank(b.provider) ||
      a.connection.localeCompare(b.connection) ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

export interface TruthFilter {
  providers?: string[];
  direction?: string;
  statuses?: string[];
  startedAfter?: string;
  startedBefore?: string;
  phoneNumber?: string;
}

export function applyFilter(calls: CallRecord[], f: TruthFilter): CallRecord[] {
  return calls.filter(
    (c) =>
      (!f.providers || f.providers.includes(c.provider)) &&
      (!f.direction || c.direction === f.direction) &&
      (!f.statuses || f.statuses.includes(c.status)) &&
      (!f.startedAfter || c.startedAt.getTime() >= Date.parse(f.startedAfter)) &&
      (!f.startedBefore || c.startedAt.getTime() < Date.parse(f.startedBefore)) &&
      (!f.phoneNumber || c.from.phoneNumber === f.phoneNumber || c.to.phoneNumber === f.phoneNumber),
  );
}

export const idsOf = (calls: CallRecord[]): string[] => calls.map(encodeCallId);

/** One page of a walk in either direction: ids, cursors and page info (the pagination tests). */
export const PAGE = `
  query Page($first: Int, $after: String, $last: Int, $before: String, $filter: CallFilter) {
    calls(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

const STATUSES = ['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED', 'UNKNOWN'];

/**
 * A random `calls` filter for property walks: any of providers, direction, statuses, a start-time
 * window within `range` (ms) and a shared phone number; as `toFilter` turns it into a TruthFilter.
 */
export const filterArb = (range: [number, number]) =>
  fc.record(
    {
      providers: fc.subarray(PROVIDER_MODULES.map((m) => m.provider as string), { minLength: 1 }),
      direction: fc.constantFrom('INBOUND', 'OUTBOUND'),
      statuses: fc.subarray(STATUSES, { minLength: 1 }),
      window: fc.tuple(fc.integer({ min: range[0], max: range[1] }), fc.integer({ min: range[0], max: range[1] })),
      phoneNumber: fc.constantFrom(SHARED_NUMBERS.india, SHARED_NUMBERS.us),
    },
    { requiredKeys: [] },
  );

/** A `filterArb` value as the `CallFilter` (and truth filter) it stands for. */
export function toFilter(f: Record<string, unknown>): TruthFilter {
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
