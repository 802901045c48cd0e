/**
 * Retell AI adapter (docs/providers/retell.md; docs/providers/retell.md): POST /v3/list-calls
 * pages by an opaque `pagination_key` with structured `filter_criteria` (start-time window, status,
 * direction, one party's number); GET /v2/get-call/{call_id} gives one call with its transcript,
 * which list items leave out — fetched only when `transcriptText` is selected.
 *
 * Cost of page N: a walk reads pages with `pagination_key`, one request each. A cursor resumes as a
 * new walk bounded by `start_timestamp <= the cursor's instant` (`resume: 'window'`), so the first
 * page after any cursor is one request, whatever N; stored keys are never reused (their lifetime is
 * not documented).
 */
import { type CallQuery, isUnfiltered } from '../../calls/filter.js';
import type { CallDetails, CallRecord, CallStatus } from '../../calls/model.js';
import { InvalidRowError, UpstreamError } from '../../errors.js';
import { type ConnectionHttp, upstreamUrl } from '../http.js';
import { mapWithConcurrency } from '../../calls/pool.js';
import type { Capabilities, CallLocator, CallLookup, ListRequest, ListResult, ProviderAdapter } from '../../calls/adapter.js';
import { type RowReader, plausibleId, readField, readRow, readRows } from '../rows.js';
import { FILTERABLE_STATUS_WORDS, type RetellMapContext, statusesOf, toCallDetails, toCallRecord } from './map.js';
import { type RetellCall, retellCallBodySchema, retellCallSchema, retellListSchema } from './schema.js';

export interface RetellSettings {
  /** Default https://api.retellai.com (RETELL_BASE_URL). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` (RETELL_API_KEY). */
  apiKey: string;
}

/** list-calls' largest `limit`. */
const MAX_PAGE_SIZE = 1000;

/** A call object; of one that does not read, its call_id and start_timestamp as far as they read. */
const rowReader: RowReader<RetellCall> = {
  schema: retellCallSchema,
  id: (raw) => plausibleId(readField(retellCallSchema.shape.call_id, raw.call_id)),
  startedAt: (raw) => readField(retellCallSchema.shape.start_timestamp, raw.start_timestamp),
};

/** One `filter_criteria` condition (the page: each field takes one filter object). */
type Condition =
  | { type: 'number'; op: 'ge' | 'le'; value: number }
  | { type: 'range'; op: 'bt'; value: [number, number] }
  | { type: 'enum'; op: 'in'; value: string[] }
  | { type: 'string'; op: 'eq'; value: string };

const isValidDate = (value: Date | null): value is Date => value !== null && !Number.isNaN(value.getTime());

/**
 * The `start_timestamp` condition for an inclusive window (epoch ms). Whether `bt` includes its
 * ends is not documented, so a two-sided window is sent 1 ms wider on each side: right under either
 * reading, and the core drops the extra rows. One-sided windows use `ge` / `le`, which are exact.
 */
export function startTimeCondition(from: Date | null, until: Date | null): Condition | undefined {
  const lower = isValidDate(from) ? from.getTime() : null;
  const upper = isValidDate(until) ? until.getTime() : null;
  if (lower !== null && upper !== null) return { type: 'range', op: 'bt', value: [lower - 1, upper + 1] };
  if (lower !== null) return { type: 'number', op: 'ge', value: lower };
  if (upper !== null) return { type: 'number', op: 'le', value: upper };
  return undefined;
}

/**
 * The `call_status` words whose calls can have one of `statuses` (a superset: the core refines by
 * `disconnection_reason`); undefined when it cannot be pushed down (UNKNOWN, or a status a
 * `registered` call can have — that word cannot be filtered — or no narrowing at all); null when no
 * Retell call can match (e.g. QUEUED).
 */
export function statusFilterFor(statuses: readonly CallStatus[] | null): string[] | null | undefined {
  if (statuses === null || statuses.includes('UNKNOWN')) return undefined;
  const meets = (word: string) => statusesOf(word).some((status) => statuses.includes(status));
  if (meets('registered')) return undefined;
  const words = FILTERABLE_STATUS_WORDS.filter(meets);
  if (words.length === 0) return null;
  return words.length === FILTERABLE_STATUS_WORDS.length ? undefined : words;
}

/**
 * One Retell AI account (connection). List items carry every field but the transcript; `getDetails`
 * is get-call, asked only for `transcriptText`. Throws UpstreamError for a failed request.
 */
export class RetellAdapter implements ProviderAdapter {
  readonly provider = 'RETELL' as const;
  /** No `include_total`: Retell counts it with an extra query, and a widened window would not count exactly. */
  readonly capabilities: Capabilities = { maxPageSize: MAX_PAGE_SIZE, resume: 'window', reportsTotal: false, numberFilter: 'per-party', listsOngoing: true };
  private readonly base: string;
  private readonly context: RetellMapContext;

  constructor(
    readonly connection: string,
    private readonly settings: RetellSettings,
    private readonly http: ConnectionHttp,
  ) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.context = { connection };
  }

  /**
   * The unfiltered query and a direction alone (Retell filters `direction` exactly; web calls have
   * none). Not the window (sent wider), statuses (refined by reason) or a number (one party).
   */
  appliesExactly(query: CallQuery): boolean {
    return isUnfiltered({ ...query, direction: null });
  }

  async list(request: ListRequest): Promise<ListResult> {
    if ('index' in request.page && request.page.index !== 0) {
      throw new Error('Retell pages by pagination_key: only page index 0 can start a walk');
    }
    const statusWords = statusFilterFor(request.query.statuses);
    if (statusWords === null) return { calls: [], next: null, total: null };
    const filter: Record<string, Condition> = {};
    const window = startTimeCondition(request.from, request.until);
    if (window) filter.start_timestamp = window;
    if (statusWords) filter.call_status = { type: 'enum', op: 'in', value: statusWords };
    if (request.query.direction) filter.direction = { type: 'enum', op: 'in', value: [request.query.direction.toLowerCase()] };
    // One party per request; the core reads both and merges ("either party"). Numbers are E.164 as sent.
    if (request.party && request.query.phoneNumber) {
      filter[request.party === 'from' ? 'from_number' : 'to_number'] = { type: 'string', op: 'eq', value: request.query.phoneNumber };
    }
    const limit = Math.min(Math.max(1, Math.floor(request.pageSize)), MAX_PAGE_SIZE);
    const paginationKey = 'token' in request.page ? request.page.token : undefined;
    const { body } = await this.http.json(
      {
        method: 'POST',
        url: `${this.base}/v3/list-calls`,
        operation: 'POST /v3/list-calls',
        headers: this.headers(),
        json: {
          ...(Object.keys(filter).length > 0 ? { filter_criteria: filter } : {}),
          sort_order: 'descending',
          limit,
          // Never with `skip` (the page: mutually exclusive).
          ...(paginationKey ? { pagination_key: paginationKey } : {}),
        },
      },
      retellListSchema,
    );
    const { rows, invalid } = readRows(body!.items, rowReader, { ref: this, path: 'items' });
    const calls: CallRecord[] = [];
    for (const row of rows) {
      // Without start_timestamp a call is not placed yet (registered): Retell's own order and
      // time filter cannot place it either. It is still found by id.
      if (!row.start_timestamp) continue;
      calls.push(toCallRecord(row, this.context) as CallRecord);
    }
    const sent = body!.items.length;
    // Missing has_more: a full page with a key may have more; an empty page never does.
    const more = typeof body!.has_more === 'boolean' ? body!.has_more : sent === limit;
    const key = body!.pagination_key;
    return {
      calls,
      next: more && key && sent > 0 ? { token: key } : null,
      total: null,
      ...(invalid.length > 0 ? { invalid } : {}),
    };
  }

  /** One get-call per locator (no batch endpoint), up to the connection's cap; a failed one fails that call alone. */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, async (locator) => {
      const row = await this.fetchCall(locator.key);
      if (row === null || row instanceof Error) return row;
      return toCallRecord(row, this.context, { withTranscript: true, fallbackStart: locator.startedAt });
    });
  }

  /** The detail fields with the transcript, from get-call. Rejects with an InvalidRowError when the call does not read. */
  async getDetails(call: CallRecord): Promise<CallDetails> {
    const row = await this.fetchCall(call.key);
    if (row === null) throw new UpstreamError(this, 'HTTP_STATUS', { status: 422 });
    if (row instanceof Error) throw row;
    return toCallDetails(row, true);
  }

  /** The call object; null for an unknown id (422 "Cannot find requested asset", or 404). */
  private async fetchCall(callId: string): Promise<RetellCall | InvalidRowError | null> {
    // No call has an empty id, or `.`/`..`, which would leave the get-call path (http.ts).
    const url = upstreamUrl(this.base, 'v2', 'get-call', callId);
    if (url === null) return null;
    const { body } = await this.http.json(
      {
        method: 'GET',
        url,
        operation: 'GET /v2/get-call',
        headers: this.headers(),
        answerStatuses: [404, 422],
      },
      retellCallBodySchema,
    );
    if (body === null) return null;
    return readRow(body, rowReader, { ref: this, path: '' }, callId);
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.settings.apiKey}`, 'content-type': 'application/json', accept: 'application/json' };
  }
}
