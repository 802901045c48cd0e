/**
 * The interface every provider adapter implements. The core (src/calls/) owns it: it pages, merges
 * and filters through it and never sees a provider's field names; an adapter never sees another
 * provider. Imports run one way, src/providers/ → src/calls/ (test/unit/layers.test.ts checks it).
 */
import type { CallDetails, CallDirection, CallRecord, CallStatus, ConnectionRef } from './model.js';
import type { CallQuery } from './filter.js';
import type { InvalidRowError } from '../errors.js';

/** Where a list request starts: a page number (0-based) or the provider's continuation token. */
export type PageRef = { index: number } | { token: string };

export interface ListRequest {
  /** The whole filter; the adapter sends what its provider can apply (see `pushDown`). */
  query: CallQuery;
  /** Inclusive bounds on `startedAt` the core wants; an adapter may answer a wider window. */
  from: Date | null;
  until: Date | null;
  /** Rows wanted, at most `capabilities.maxPageSize`. */
  pageSize: number;
  page: PageRef;
  /**
   * Set only for adapters whose `capabilities.numberFilter` is `per-party`, when the query has a
   * phone number: the party the provider is asked to match it on. The core reads both parties and
   * merges them, which is exactly "either party".
   */
  party?: 'from' | 'to';
}

export interface ListResult {
  /**
   * Rows newest `startedAt` first, as the provider sent them. May include rows outside the request
   * (the core filters exactly); must not leave out a row inside it.
   */
  calls: CallRecord[];
  /** Where the next page starts, or null on the last page. */
  next: PageRef | null;
  /** How many rows match the request as sent, when the provider reports it. */
  total: number | null;
  /**
   * Rows of this page that could not be read (src/providers/rows.ts), absent when there are none.
   * They are not in `calls`; their `index` places them among its rows in the provider's order.
   */
  invalid?: InvalidRow[];
}

/** A row of a provider's page that could not be read: where it sat and what is still known of it. */
export interface InvalidRow {
  /** Its index in the provider's page, counting every row, readable or not. */
  index: number;
  error: InvalidRowError;
  /** When the call started, when that field reads (another did not). */
  startedAt: Date | null;
  /** Its key (see `CallRecord.key`), when it can be told; with `startedAt`, its exact position. */
  key: string | null;
}

/** How to find a call again: its key and when it started (the id carries both). */
export interface CallLocator {
  key: string;
  startedAt: Date;
}

/**
 * One locator's answer from `getCalls`: the call, null (unknown to the provider), or the error of
 * that key alone — the upstream request that should have found it failed (an UpstreamError), or its
 * row could not be read (an InvalidRowError).
 */
export type CallLookup = CallRecord | null | Error;

export interface Capabilities {
  /** The provider's largest page. */
  maxPageSize: number;
  /**
   * How the core resumes a walk from a cursor position. `window`: the adapter can bound `startedAt`
   * (exactly or to a wider window), so a resumed walk starts at the position's time. `offset`: it
   * cannot, so cursors carry the offset of the position as a hint and the core verifies it.
   */
  resume: 'window' | 'offset';
  /** Whether list responses can carry a total count (`ListResult.total`); if not, none is asked for. */
  reportsTotal: boolean;
  /**
   * `per-party`: the provider filters a number on one party per request (caller or callee, each
   * exactly as the core compares numbers), so the core sends one request sequence per party and
   * merges them (`ListRequest.party`). Only for `window` adapters. Absent: numbers are not pushed.
   */
  numberFilter?: 'per-party';
  /**
   * Whether the list shows calls in progress. False: a call is listed only once it has ended, at
   * the place of its start (Unpod's and CINNOX's call logs), so it can appear below the newest
   * page; the watcher then also sweeps the recent past (src/live/watcher.ts, `sweepRange`).
   */
  listsOngoing: boolean;
}

export interface ProviderAdapter extends ConnectionRef {
  readonly capabilities: Capabilities;
  /**
   * Whether the provider applies `query` exactly as the core would (status words, time bounds,
   * direction, number), so that its reported `total` counts exactly the matching calls.
   */
  appliesExactly(query: CallQuery): boolean;
  list(request: ListRequest): Promise<ListResult>;
  /**
   * Calls by locator, in the same order: the call (possibly with `details` filled in), null where
   * the provider does not know it, or the error of that locator alone: the Error of the upstream
   * request that should have found it, or an InvalidRowError where its row could not be read. Never
   * rejects for the whole batch: a failed request fails exactly the locators it served (one, for a
   * provider asked once per call), and the others still come back.
   */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]>;
  /**
   * Details of a call whose `details` is null. Only adapters whose list rows lack them implement it.
   * Rejects with an InvalidRowError when the detail body's row could not be read.
   */
  getDetails?(call: CallRecord): Promise<CallDetails>;
}

/**
 * A configured provider account as the core uses it: which one (`ref`, `label`) and its adapter.
 * "Connection" in src/calls/ means only this; src/providers/index.ts builds them from
 * configuration, with the HTTP machinery the core does not see.
 */
export interface Connection {
  ref: ConnectionRef;
  /** `twenty2/default` (see `connectionLabel`). */
  label: string;
  adapter: ProviderAdapter;
  /** Upstream requests the connection sends at a time; per-call look-ups are run at most this many at once. */
  concurrency: number;
}

/** Contract status table lookup: a word not in the table is UNKNOWN, never an error. */
export function mapStatus(table: Readonly<Record<string, CallStatus>>, word: string): CallStatus {
  return Object.hasOwn(table, word) ? (table[word] as CallStatus) : 'UNKNOWN';
}

/** The provider words that map to one of the statuses asked for. */
export function wordsFor(
  table: Readonly<Record<string, CallStatus>>,
  statuses: readonly CallStatus[],
): string[] {
  return Object.entries(table)
    .filter(([, status]) => statuses.includes(status))
    .map(([word]) => word);
}

/**
 * The one provider status word that selects exactly `statuses`, or null when it takes several words
 * (or none). UNKNOWN stands for every word outside the table, which no single word can select.
 */
export function singleStatusWord(
  table: Readonly<Record<string, CallStatus>>,
  statuses: readonly CallStatus[],
): string | null {
  if (statuses.includes('UNKNOWN')) return null;
  const words = wordsFor(table, statuses);
  return words.length === 1 ? (words[0] as string) : null;
}

/** "inbound" / "outbound" in any case; anything else means the provider does not tell. */
export function directionFromWord(word: string | null | undefined): CallDirection | null {
  switch (word?.trim().toLowerCase()) {
    case 'inbound':
      return 'INBOUND';
    case 'outbound':
      return 'OUTBOUND';
    default:
      return null;
  }
}
