/**
 * The call filter, normalised once per request, and its exact evaluation. Adapters push down what
 * their provider can apply (see `ProviderAdapter.appliesExactly`); the core then applies the whole
 * filter to every row, so the answer never depends on who filtered.
 */
import { BadInputError } from '../errors.js';
import type { CallDirection, CallRecord, CallStatus, Provider } from './model.js';
import { normalisePhone } from './phone.js';

export interface CallQuery {
  providers: readonly Provider[] | null;
  direction: CallDirection | null;
  statuses: readonly CallStatus[] | null;
  /** Inclusive. */
  startedAfter: Date | null;
  /** Exclusive. */
  startedBefore: Date | null;
  /** E.164. */
  phoneNumber: string | null;
}

export const emptyQuery: CallQuery = {
  providers: null,
  direction: null,
  statuses: null,
  startedAfter: null,
  startedBefore: null,
  phoneNumber: null,
};

/**
 * The GraphQL `CallFilter` input as resolvers receive it, described here structurally so that the
 * core does not import generated argument types (the generated type is assignable to it).
 */
export interface CallFilterInput {
  providers?: readonly Provider[] | null;
  direction?: CallDirection | null;
  statuses?: readonly CallStatus[] | null;
  startedAfter?: Date | null;
  startedBefore?: Date | null;
  phoneNumber?: string | null;
}

/** Validates and normalises the GraphQL `filter` argument; throws BadInputError naming the field. */
export function toCallQuery(filter: CallFilterInput | null | undefined): CallQuery {
  if (!filter) return emptyQuery;
  const startedAfter = filter.startedAfter ?? null;
  const startedBefore = filter.startedBefore ?? null;
  if (startedAfter && startedBefore && startedAfter.getTime() > startedBefore.getTime()) {
    throw new BadInputError(
      'filter.startedAfter',
      `must not be later than filter.startedBefore (got ${startedAfter.toISOString()} > ${startedBefore.toISOString()})`,
    );
  }
  let phoneNumber: string | null = null;
  if (filter.phoneNumber !== null && filter.phoneNumber !== undefined) {
    phoneNumber = normalisePhone(filter.phoneNumber).e164;
    if (!phoneNumber) {
      throw new BadInputError(
        'filter.phoneNumber',
        `expected a phone number in international form such as "+919999999999", got "${filter.phoneNumber.slice(0, 40)}"`,
      );
    }
  }
  return {
    providers: filter.providers ? [...new Set(filter.providers)].sort() : null,
    direction: filter.direction ?? null,
    statuses: filter.statuses ? [...new Set(filter.statuses)].sort() : null,
    startedAfter,
    startedBefore,
    phoneNumber,
  };
}

/** No condition but (perhaps) providers: a provider's unfiltered total counts it exactly. */
export const isUnfiltered = (query: CallQuery): boolean =>
  query.direction === null &&
  query.statuses === null &&
  query.startedAfter === null &&
  query.startedBefore === null &&
  query.phoneNumber === null;

/** Whether a connection of `provider` can hold matching calls at all. */
export const includesProvider = (query: CallQuery, provider: Provider): boolean =>
  query.providers === null || query.providers.includes(provider);

/** The exact filter. */
export function matches(call: CallRecord, query: CallQuery): boolean {
  if (!includesProvider(query, call.provider)) return false;
  if (query.direction && call.direction !== query.direction) return false;
  if (query.statuses && !query.statuses.includes(call.status)) return false;
  const t = call.startedAt.getTime();
  if (query.startedAfter && t < query.startedAfter.getTime()) return false;
  if (query.startedBefore && t >= query.startedBefore.getTime()) return false;
  if (
    query.phoneNumber &&
    call.from.phoneNumber !== query.phoneNumber &&
    call.to.phoneNumber !== query.phoneNumber
  )
    return false;
  return true;
}

/**
 * The filter's `startedAt` bounds as inclusive milliseconds (`startedBefore` is exclusive), the form
 * `ListRequest.from`/`until` take.
 */
export function startedWindow(query: CallQuery): { from: number | null; until: number | null } {
  return {
    from: query.startedAfter?.getTime() ?? null,
    until: query.startedBefore ? query.startedBefore.getTime() - 1 : null,
  };
}

export const toDate = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

/** A stable text of the query, for binding cursors to the filter they were issued for. */
export function queryFingerprint(query: CallQuery): string {
  return JSON.stringify([
    query.providers,
    query.direction,
    query.statuses,
    query.startedAfter?.getTime() ?? null,
    query.startedBefore?.getTime() ?? null,
    query.phoneNumber,
  ]);
}
