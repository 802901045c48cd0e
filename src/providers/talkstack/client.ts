/**
 * TalkStack AI adapter (docs/providers/talkstack.md): POST /call/get-call-history pages by an
 * opaque token with whole-UTC-day time filters; POST /call fetches one call by sid. Both answer
 * complete call data objects, so no detail request is ever needed.
 */
import { type CallQuery, isUnfiltered } from '../../calls/filter.js';
import type { CallStatus } from '../../calls/model.js';
import type { ConnectionHttp } from '../http.js';
import { mapWithConcurrency } from '../../calls/pool.js';
import {
  type Capabilities,
  type CallLocator,
  type CallLookup,
  type ListRequest,
  type ListResult,
  type ProviderAdapter,
  singleStatusWord,
  wordsFor,
} from '../../calls/adapter.js';
import { type RowReader, plausibleId, readField, readRow, readRows } from '../rows.js';
import { FILTERABLE_STATUS_WORDS, STATUS_TABLE, toCallRecord, type TalkStackMapContext } from './map.js';
import { type TalkStackCall, talkStackCallBodySchema, talkStackCallSchema, talkStackHistorySchema } from './schema.js';

export interface TalkStackSettings {
  baseUrl: string;
  apiKey: string;
  projectId: string;
  /** ISO 4217 code of the account's currency: `cost` is a bare number (default USD). */
  currency: string;
}

const DAY_MS = 86_400_000;

/** A call data object; of one that does not read, its callSid and date as far as they read. */
const rowReader: RowReader<TalkStackCall> = {
  schema: talkStackCallSchema,
  id: (raw) => plausibleId(readField(talkStackCallSchema.shape.callSid, raw.callSid)),
  startedAt: (raw) => readField(talkStackCallSchema.shape.date, raw.date),
};

/** The UTC calendar date of `instant`, as the history's date filters take it (YYYY-MM-DD). */
const utcDate = (instant: Date): string => instant.toISOString().slice(0, 10);

const isValidDate = (value: Date | null): value is Date =>
  value !== null && !Number.isNaN(value.getTime());

/**
 * The history's `status` filter for `statuses`: a word when exactly one filterable word means
 * exactly those statuses; undefined when it cannot be pushed down; null when no TalkStack call
 * can match (e.g. only CANCELED, which no TalkStack word maps to).
 */
export function statusFilterFor(statuses: readonly CallStatus[] | null): string | null | undefined {
  if (statuses === null) return undefined;
  // Unknown words (e.g. "canceled-by-user") are UNKNOWN rows that no filter word selects.
  if (wordsFor(STATUS_TABLE, statuses).length === 0) return statuses.includes('UNKNOWN') ? undefined : null;
  const word = singleStatusWord(STATUS_TABLE, statuses);
  return word !== null && FILTERABLE_STATUS_WORDS.has(word) ? word : undefined;
}

/**
 * The history's date filters for an inclusive window. They take whole UTC days, so the window
 * sent is wider: from the start of `from`'s day, and up to the day after `until`'s, which holds
 * all of `until`'s day however "on or before midnight of this date" is read. The core drops the rest.
 */
export function dateFiltersFor(
  from: Date | null,
  until: Date | null,
): { startTimeAfter?: string; startTimeBefore?: string } {
  return {
    ...(isValidDate(from) ? { startTimeAfter: utcDate(from) } : {}),
    ...(isValidDate(until) ? { startTimeBefore: utcDate(new Date(until.getTime() + DAY_MS)) } : {}),
  };
}

export class TalkStackAdapter implements ProviderAdapter {
  readonly provider = 'TALKSTACK' as const;
  readonly capabilities: Capabilities = { maxPageSize: 100, resume: 'window', reportsTotal: false, numberFilter: 'per-party', listsOngoing: true };
  private readonly base: string;
  private readonly mapContext: TalkStackMapContext;

  constructor(
    readonly connection: string,
    private readonly settings: TalkStackSettings,
    private readonly http: ConnectionHttp,
  ) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.mapContext = { connection, currency: settings.currency || 'USD' };
  }

  /** Only the empty filter: the date filters are whole days and the number filter is one-sided. */
  appliesExactly(query: CallQuery): boolean {
    return isUnfiltered(query);
  }

  async list(request: ListRequest): Promise<ListResult> {
    if ('index' in request.page && request.page.index !== 0) {
      throw new Error('TalkStack pages by token: only page index 0 can start a walk');
    }
    const status = statusFilterFor(request.query.statuses);
    // TalkStack reports no direction, so no TalkStack call matches a direction filter.
    if (status === null || request.query.direction !== null) return { calls: [], next: null, total: null };
    // `from`/`to` each match one party; the core asks for each party in turn (`party`) and merges.
    // TalkStack numbers are E.164 as sent (Twilio), the form the core compares.
    const number = request.party && request.query.phoneNumber ? { [request.party]: request.query.phoneNumber } : {};
    const searchParams = { ...dateFiltersFor(request.from, request.until), status, ...number };
    const pageSize = Math.min(Math.max(1, Math.floor(request.pageSize)), this.capabilities.maxPageSize);
    const pageToken = 'token' in request.page ? request.page.token : undefined;
    const { body } = await this.http.json(
      {
        method: 'POST',
        url: `${this.base}/call/get-call-history`,
        operation: 'POST /call/get-call-history',
        headers: this.headers(),
        searchParams,
        json: { projectId: this.settings.projectId, pageSize, ...(pageToken ? { pageToken } : {}) },
        // 404 means the project (or the filter) has no calls: an empty list, not an error.
        answerStatuses: [404],
      },
      talkStackHistorySchema,
    );
    if (body === null) return { calls: [], next: null, total: null };
    // A bare array is a single, final page (provider page, assumptions).
    const bare = Array.isArray(body);
    const { rows, invalid } = readRows(bare ? body : body.calls, rowReader, { ref: this, path: bare ? '' : 'calls' });
    const nextToken = bare ? null : body.nextPageToken;
    return {
      calls: rows.map((row) => toCallRecord(row, this.mapContext)),
      next: nextToken ? { token: nextToken } : null,
      total: null,
      ...(invalid.length > 0 ? { invalid } : {}),
    };
  }

  /** One `POST /call` per locator (no batch endpoint), up to the connection's cap; a failed one fails that call alone. */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, (locator) => this.getCall(locator.key));
  }

  private async getCall(sid: string): Promise<CallLookup> {
    if (sid === '') return null; // TalkStack answers 400 without a sid; no call has an empty one
    const { body } = await this.http.json(
      {
        method: 'POST',
        url: `${this.base}/call`,
        operation: 'POST /call',
        headers: this.headers(),
        json: { sid, projectId: this.settings.projectId },
        answerStatuses: [404], // unknown sid
      },
      talkStackCallBodySchema,
    );
    if (body === null) return null;
    const row = readRow(body, rowReader, { ref: this, path: '' }, sid);
    return row instanceof Error ? row : toCallRecord(row, this.mapContext);
  }

  private headers(): Record<string, string> {
    return {
      'x-api-key': this.settings.apiKey,
      'content-type': 'application/json',
      accept: 'application/json',
    };
  }
}
