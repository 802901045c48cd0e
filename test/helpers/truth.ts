/**
 * Ground truth for pagination tests: what the simulators hold, mapped by the providers' pure
 * mappings (not by the merge under test), ordered and filtered by this file's own rules.
 */
import type { Simulators } from '../../src/demo.js';
import type { CallRecord } from '../../src/calls/model.js';
import { cinnoxCallSchema } from '../../src/providers/cinnox/schema.js';
import { toCallRecord as cinnox } from '../../src/providers/cinnox/map.js';
import { talkStackCallSchema } from '../../src/providers/talkstack/schema.js';
import { toCallRecord as talkstack } from '../../src/providers/talkstack/map.js';
import { twenty2CallSchema } from '../../src/providers/twenty2/schema.js';
import { toCallRecord as twenty2 } from '../../src/providers/twenty2/map.js';
import { unpodRowSchema } from '../../src/providers/unpod/schema.js';
import { toCallRecord as unpod } from '../../src/providers/unpod/map.js';
import { encodeCallId } from '../../src/calls/ids.js';
import { providerRank } from '../../src/calls/model.js';


/**
 * Every call the simulators hold, by its real data, in the merged order. Rows a simulator sends
 * unreadable (`unreadable`) are left out unless `withUnreadable`: Switchboard cannot return them.
 */
export function allCalls(sims: Simulators, options: { withUnreadable?: boolean } = {}): CallRecord[] {
  const readable = <R extends object>(sim: { rows: R[]; unreadable: { has(row: R): boolean } }): R[] =>
    options.withUnreadable ? sim.rows : sim.rows.filter((row) => !sim.unreadable.has(row));
  const calls = [
    ...readable(sims.twenty2).map((r) => twenty2(twenty2CallSchema.parse(r), { ref: { provider: 'TWENTY2', connection: 'default' }, phoneRegion: 'IN' })),
    ...readable(sims.unpod).map((r) => unpod(unpodRowSchema.parse(r), { connection: 'default', orgHandle: sims.unpod.credentials.orgHandle })),
    ...readable(sims.cinnox).map((r) => cinnox(cinnoxCallSchema.parse(r), { provider: 'CINNOX', connection: 'default' })),
    ...readable(sims.talkstack).map((r) => talkstack(talkStackCallSchema.parse(r), { connection: 'default', currency: 'USD' })),
  ];
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
