/**
 * Twilio adapter (docs/providers/twilio.md): GET /2010-04-01/Accounts/{AccountSid}/Calls.json pages
 * by `next_page_uri` with whole-UTC-day `StartTime>`/`StartTime<` filters, one `Status`, one `To`
 * or `From`; GET …/Calls/{Sid}.json fetches one call; GET …/Calls/{Sid}/Recordings.json gives its
 * recordings, asked only when a client selects a detail field.
 *
 * What page N of a walk costs: a walk follows `next_page_uri`, one request per page. A walk resumed
 * from a cursor (`resume: 'window'`) starts a new one with `StartTime<` = the day after the cursor's
 * day: the first request reads the calls of that day after the cursor's position (the core drops
 * them), so page N costs 1 request plus ⌈(calls of that UTC day newer than the cursor) / PageSize⌉,
 * never the N − 1 earlier pages.
 */
import { type CallQuery, isUnfiltered } from '../../calls/filter.js';
import type { CallDetails, CallRecord, CallStatus } from '../../calls/model.js';
import { UpstreamError } from '../../errors.js';
import { type ConnectionHttp, upstreamUrl } from '../http.js';
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
import { FILTERABLE_STATUS_WORDS, STATUS_TABLE, toCallDetails, toCallRecord } from './map.js';
import {
  CALL_SID,
  type TwilioRecording,
  type TwilioRow,
  twilioCallBodySchema,
  twilioCallListSchema,
  twilioCallSchema,
  twilioRecordingListSchema,
  twilioRowSchema,
} from './schema.js';

/**
 * A Twilio connection. `accountSid` (AC…) is always needed: it is in every path. Credentials are
 * the Auth Token, or an API Key SID (SK…) and its secret (Twilio's advice for production); when
 * both are set the API key is used.
 */
export interface TwilioSettings {
  /** e.g. https://api.twilio.com */
  baseUrl: string;
  accountSid: string;
  authToken?: string | undefined;
  apiKeySid?: string | undefined;
  apiKeySecret?: string | undefined;
}

/** The largest `PageSize` Twilio accepts (ListCall: 1–1000). */
const MAX_PAGE_SIZE = 1000;
const DAY_MS = 86_400_000;
const API = '/2010-04-01';

/**
 * The HTTP Basic user and password of `settings`: the API key pair when both halves are set, else
 * the Account SID and Auth Token. Throws an Error naming the missing setting (no value in it).
 */
export function twilioCredentials(settings: TwilioSettings): { username: string; password: string } {
  if (settings.apiKeySid || settings.apiKeySecret) {
    if (!settings.apiKeySid || !settings.apiKeySecret) {
      throw new Error('Twilio: an API key needs both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET');
    }
    return { username: settings.apiKeySid, password: settings.apiKeySecret };
  }
  if (!settings.authToken) {
    throw new Error('Twilio: set TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET');
  }
  return { username: settings.accountSid, password: settings.authToken };
}

/** A Call list row; of one that does not read, its sid and start as far as they read. */
const rowReader: RowReader<TwilioRow> = {
  schema: twilioRowSchema,
  id: (raw) => plausibleId(readField(twilioCallSchema.shape.sid, raw.sid)),
  // date_created places it only when start_time is empty: an unreadable start_time is an unknown start.
  startedAt: (raw) =>
    raw.start_time === undefined || raw.start_time === null || raw.start_time === ''
      ? readField(twilioCallSchema.shape.date_created, raw.date_created)
      : readField(twilioCallSchema.shape.start_time, raw.start_time),
};

/** A Recordings list body, read whole: one recording that does not read fails that call's details alone. */
const recordingsReader: RowReader<{ recordings: TwilioRecording[]; next_page_uri?: string | null | undefined }> = {
  schema: twilioRecordingListSchema,
  id: () => null,
  startedAt: () => null,
};

/**
 * The UTC calendar date of `instant` as the list's date filters take it (YYYY-MM-DD), or null
 * outside years 0000–9999 (no such filter can be written; leaving the bound out only widens the window).
 */
function utcDate(instant: Date | null): string | null {
  if (instant === null || Number.isNaN(instant.getTime())) return null;
  const day = instant.toISOString().slice(0, 10);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) ? day : null;
}

/**
 * The list's `Status` filter for `statuses`: the word when exactly one filterable word means exactly
 * those statuses; undefined when it cannot be pushed down (several words, INITIATED whose word the
 * filter refuses, UNKNOWN); null when no Twilio call can match (an empty list of statuses).
 */
export function statusFilterFor(statuses: readonly CallStatus[] | null): string | null | undefined {
  if (statuses === null) return undefined;
  if (wordsFor(STATUS_TABLE, statuses).length === 0) return statuses.includes('UNKNOWN') ? undefined : null;
  const word = singleStatusWord(STATUS_TABLE, statuses);
  return word !== null && FILTERABLE_STATUS_WORDS.has(word) ? word : undefined;
}

/**
 * The list's day filters for an inclusive window: `StartTime>` (on or after midnight UTC) = the day
 * of `from`; `StartTime<` (before that date, exclusive) = the day after `until`'s day, which holds
 * all of `until`'s day under either reading of the reference ("before" / "on or before midnight").
 * Time of day is never sent: whether Twilio honours it is not stated. The core trims exactly.
 */
export function dateFiltersFor(from: Date | null, until: Date | null): Record<string, string> {
  const after = utcDate(from);
  const before = until === null ? null : utcDate(new Date(until.getTime() + DAY_MS));
  return { ...(after !== null ? { 'StartTime>': after } : {}), ...(before !== null ? { 'StartTime<': before } : {}) };
}

export class TwilioAdapter implements ProviderAdapter {
  readonly provider = 'TWILIO' as const;
  readonly capabilities: Capabilities = {
    maxPageSize: MAX_PAGE_SIZE,
    resume: 'window',
    reportsTotal: false,
    numberFilter: 'per-party',
    listsOngoing: true,
  };
  private readonly base: string;
  /** `/2010-04-01/Accounts/{AccountSid}`: every path this connection may follow starts with it. */
  private readonly accountPath: string;
  private readonly headers: Record<string, string>;

  /** Throws (twilioCredentials) when neither credential pair is complete. */
  constructor(
    readonly connection: string,
    settings: TwilioSettings,
    private readonly http: ConnectionHttp,
  ) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.accountPath = `${API}/Accounts/${encodeURIComponent(settings.accountSid)}`;
    const { username, password } = twilioCredentials(settings);
    this.headers = {
      authorization: `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`,
      accept: 'application/json',
    };
  }

  /** Only the empty filter: time filters are whole days, the number filter one party, no total anyway. */
  appliesExactly(query: CallQuery): boolean {
    return isUnfiltered(query);
  }

  /**
   * One page of the Calls list. Page index 0 starts a walk with the filters pushed down; a token is
   * the `next_page_uri` Twilio sent, followed as is (it repeats the filters and carries `PageToken`).
   */
  async list(request: ListRequest): Promise<ListResult> {
    let url: string;
    let searchParams: Record<string, string | number | undefined> | undefined;
    if ('token' in request.page) {
      if (!this.isListPath(request.page.token)) throw new TypeError('Twilio pages by next_page_uri: not a Calls list path of this account');
      url = `${this.base}${request.page.token}`;
    } else {
      if (request.page.index !== 0) throw new TypeError('Twilio pages by next_page_uri: only page index 0 can start a walk');
      const status = statusFilterFor(request.query.statuses);
      if (status === null) return { calls: [], next: null, total: null };
      // `To`/`From` each match one party; the core asks for each party in turn (`party`) and merges.
      // Twilio's numbers are E.164, the form the core compares.
      const number = request.party && request.query.phoneNumber ? { [request.party === 'from' ? 'From' : 'To']: request.query.phoneNumber } : {};
      const pageSize = Math.min(Math.max(1, Math.floor(request.pageSize)), MAX_PAGE_SIZE);
      url = `${this.base}${this.accountPath}/Calls.json`;
      searchParams = { ...dateFiltersFor(request.from, request.until), Status: status, ...number, PageSize: pageSize };
    }
    const { body } = await this.http.json(
      { method: 'GET', url, operation: 'GET /Calls.json', headers: this.headers, ...(searchParams ? { searchParams } : {}) },
      twilioCallListSchema,
    );
    const nextUri = body.next_page_uri ?? null;
    // Followed with this connection's credentials: only a list path of this account, never another host.
    if (nextUri !== null && !this.isListPath(nextUri)) {
      throw new UpstreamError(this, 'BAD_BODY', { detail: 'unexpected body (next_page_uri: not a Calls list path)' });
    }
    const { rows, invalid } = readRows(body.calls, rowReader, { ref: this, path: 'calls' });
    return {
      calls: rows.map((row) => toCallRecord(row, this.connection)),
      // An empty page never promises more, so a wrong next_page_uri cannot walk forever.
      next: nextUri !== null && body.calls.length > 0 ? { token: nextUri } : null,
      total: null,
      ...(invalid.length > 0 ? { invalid } : {}),
    };
  }

  /** One FetchCall per locator (no batch endpoint), up to the connection's cap; a failed one fails that call alone. */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, (locator) => this.getCall(locator.key));
  }

  /**
   * The call's recordings (…/Calls/{Sid}/Recordings.json, every page). Rejects with an
   * UpstreamError when a request fails, an InvalidRowError when a page does not read.
   */
  async getDetails(call: CallRecord): Promise<CallDetails> {
    if (!CALL_SID.test(call.key)) throw new TypeError('Twilio call keys are Call SIDs');
    const recordings: TwilioRecording[] = [];
    let url = upstreamUrl(`${this.base}${this.accountPath}`, 'Calls', call.key, 'Recordings.json')!; // a Call SID is a segment
    let searchParams: Record<string, number> | undefined = { PageSize: MAX_PAGE_SIZE };
    for (;;) {
      const { body } = await this.http.json(
        { method: 'GET', url, operation: 'GET /Calls/{Sid}/Recordings.json', headers: this.headers, ...(searchParams ? { searchParams } : {}) },
        twilioCallBodySchema,
      );
      const page = readRow(body, recordingsReader, { ref: this, path: '' }, call.key);
      if (page instanceof Error) throw page;
      recordings.push(...page.recordings);
      const next = page.next_page_uri ?? null;
      if (next === null || page.recordings.length === 0) break;
      if (!next.startsWith(`${this.accountPath}/Calls/${call.key}/Recordings.json?`)) {
        throw new UpstreamError(this, 'BAD_BODY', { detail: 'unexpected body (next_page_uri: not this call\'s Recordings path)' });
      }
      url = `${this.base}${next}`;
      searchParams = undefined;
    }
    return toCallDetails(recordings, this.base);
  }

  private async getCall(sid: string): Promise<CallLookup> {
    if (!CALL_SID.test(sid)) return null; // not a Call SID: no call has it (and it never goes into a path)
    const { body } = await this.http.json(
      {
        method: 'GET',
        url: upstreamUrl(`${this.base}${this.accountPath}`, 'Calls', `${sid}.json`)!, // a Call SID is a segment
        operation: 'GET /Calls/{Sid}.json',
        headers: this.headers,
        answerStatuses: [404], // unknown call (Twilio code 20404)
      },
      twilioCallBodySchema,
    );
    if (body === null) return null;
    const row = readRow(body, rowReader, { ref: this, path: '' }, sid);
    return row instanceof Error ? row : toCallRecord(row, this.connection);
  }

  /** Whether `uri` is a path of this account's Calls list (what `next_page_uri` must be). */
  private isListPath(uri: string): boolean {
    return uri.startsWith(`${this.accountPath}/Calls.json?`) && !uri.includes('#');
  }
}
