/**
 * The Vapi adapter (docs/providers/vapi.md, docs/providers/vapi.md). GET /call answers a bare
 * array, newest `createdAt` first, at most `limit` rows, with no cursor: the only way to page is a
 * `createdAt` window. The ordering key is `startedAt`, and a call starts after it is created, so:
 * - an upper bound on `startedAt` is one on `createdAt` (`createdAtLe`);
 * - a lower bound on `startedAt` gives `createdAtGe` = bound − START_SLACK_MS (scheduled calls may
 *   start up to that long after creation; the core filters the rest exactly).
 * Pages go on from the oldest `createdAt` seen (`createdAtLe` again, the ids already returned at
 * that instant carried in the page token), so page N costs one request from page N−1, and a walk
 * resumed at a cursor costs one request (`resume: 'window'`: the cursor's time is `createdAtLe`).
 *
 * The Vapi-side number is not on the call: `phoneNumberId` names a phone-number resource. Its
 * look-ups are not list pages: they go through the connection's `VapiPhoneNumbers` cache (one
 * request per distinct id per PHONE_NUMBER_TTL_MS, whatever the number of pages or GraphQL
 * requests), a page's missing ids all at once. Every other field, the transcript text and the
 * signed recording links included, is on the row.
 */
import { LRUCache } from 'lru-cache';
import { type CallQuery, isUnfiltered } from '../../calls/filter.js';
import type { CallRecord } from '../../calls/model.js';
import { UpstreamError } from '../../errors.js';
import { type ConnectionHttp, upstreamUrl } from '../http.js';
import { mapWithConcurrency } from '../../calls/pool.js';
import type { Capabilities, CallLocator, CallLookup, InvalidRow, ListRequest, ListResult, PageRef, ProviderAdapter } from '../../calls/adapter.js';
import { type RowReader, plausibleId, readField, readRow, readRows } from '../rows.js';
import { inlineAgentNumber, toCallRecord, type VapiMapContext } from './map.js';
import { type VapiCall, vapiCallBodySchema, vapiCallSchema, vapiListSchema, vapiPhoneNumberSchema } from './schema.js';

export interface VapiSettings {
  /** e.g. https://api.vapi.ai (EU organisations: https://api.eu.vapi.ai) */
  baseUrl: string;
  /** The organisation's private API key, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
}

/** GET /call's largest `limit` (the spec's maximum). */
export const MAX_LIMIT = 1000;

/**
 * How long after its creation a call may start (provider page, assumptions: scheduled calls up to
 * 24 h ahead). Only the lower time bound sent upstream is widened by it.
 */
export const START_SLACK_MS = 24 * 3600_000;

/**
 * How long after its creation a call that was not scheduled starts, at most (ASSUMPTION: seconds
 * in practice; the page names no figure). Pages are cut this far after the oldest creation they
 * hold, so rows come in `startedAt` order across pages; a scheduled call that starts later than
 * this may come one page late (docs/providers/vapi.md, "Order").
 */
export const START_HOLD_MS = 60_000;

/** A Call object; of one that does not read, its id and start (`startedAt` ?? `createdAt`) as far as they read. */
const rowReader: RowReader<VapiCall> = {
  schema: vapiCallSchema,
  id: (raw) => plausibleId(readField(vapiCallSchema.shape.id, raw.id)),
  startedAt: (raw) =>
    readField(vapiCallSchema.shape.startedAt, raw.startedAt) ?? readField(vapiCallSchema.shape.createdAt, raw.createdAt),
};

const createdAtOf = (raw: unknown): Date | null =>
  typeof raw === 'object' && raw !== null ? readField(vapiCallSchema.shape.createdAt, (raw as Record<string, unknown>).createdAt) : null;
const idOf = (raw: unknown): string | null =>
  typeof raw === 'object' && raw !== null ? plausibleId(readField(vapiCallSchema.shape.id, (raw as Record<string, unknown>).id)) : null;

/**
 * Where the next page starts: `createdAtLe` (ms) and the ids already returned that were created at
 * exactly that instant (a page may end in the middle of a tie). Carried as the page token.
 */
export interface VapiPosition {
  le: number;
  seen: string[];
}

export const encodeVapiToken = (position: VapiPosition): string =>
  Buffer.from(JSON.stringify([position.le, position.seen])).toString('base64url');

/** The position a token carries; throws TypeError for a token this adapter did not issue. */
export function decodeVapiToken(token: string): VapiPosition {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  if (
    Array.isArray(value) &&
    value.length === 2 &&
    Number.isSafeInteger(value[0]) &&
    Array.isArray(value[1]) &&
    value[1].every((id: unknown) => typeof id === 'string')
  ) {
    return { le: value[0] as number, seen: value[1] as string[] };
  }
  throw new TypeError('not a Vapi page token');
}

/**
 * How long a phone-number resource's number is kept (ASSUMPTION: numbers are bought and released
 * rarely; a number changed within this time shows its old digits until then).
 */
export const PHONE_NUMBER_TTL_MS = 15 * 60_000;

/** Phone-number resources one connection keeps, at most (LRU). */
const PHONE_NUMBER_MAX = 10_000;

/**
 * One connection's phone-number resources, id → number (`{ number: null }`: the resource is gone,
 * 404, or has no number), kept PHONE_NUMBER_TTL_MS across GraphQL requests: the connection's state
 * (`ProviderModule.connectionState`). Concurrent look-ups of one id share one request (lru-cache's
 * `fetch`); a failed look-up is not kept, so the next page asks again.
 */
export class VapiPhoneNumbers {
  private readonly cache = new LRUCache<string, { number: string | null }, (id: string) => Promise<string | null>>({
    max: PHONE_NUMBER_MAX,
    ttl: PHONE_NUMBER_TTL_MS,
    fetchMethod: async (id, _stale, { context }) => ({ number: await context(id) }),
  });

  /**
   * The numbers of `ids`, each known one from the cache, the others by `lookUp` (one call per id,
   * unless a look-up of it is already in flight). Rejects with the first look-up's error.
   */
  async numbers(ids: readonly string[], lookUp: (id: string) => Promise<string | null>, concurrency: number): Promise<Map<string, string | null>> {
    const found = await mapWithConcurrency([...new Set(ids)], concurrency, async (id) => [id, (await this.cache.fetch(id, { context: lookUp }))?.number ?? null] as const);
    const numbers = new Map<string, string | null>();
    for (const entry of found) {
      // A failed look-up fails what it served: the page (list) or the one call (getCalls).
      if (entry instanceof Error) throw entry;
      numbers.set(entry[0], entry[1]);
    }
    return numbers;
  }
}

const isValidDate = (value: Date | null): value is Date => value !== null && !Number.isNaN(value.getTime());

/**
 * The `createdAt` filters for an inclusive `startedAt` window: `createdAtLe` = `until` (a call is
 * created before it starts), `createdAtGe` = `from` − START_SLACK_MS.
 */
export function createdAtFiltersFor(from: Date | null, until: Date | null): { createdAtGe?: string; createdAtLe?: string } {
  return {
    ...(isValidDate(from) ? { createdAtGe: new Date(Math.max(from.getTime() - START_SLACK_MS, -8.64e15)).toISOString() } : {}),
    ...(isValidDate(until) ? { createdAtLe: until.toISOString() } : {}),
  };
}

export class VapiAdapter implements ProviderAdapter {
  readonly provider = 'VAPI' as const;
  readonly capabilities: Capabilities = { maxPageSize: MAX_LIMIT, resume: 'window', reportsTotal: false, listsOngoing: true };
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly mapContext: VapiMapContext;

  /** `phoneNumbers`: the connection's cache, shared by its adapters (a fresh one when absent, e.g. in a test). */
  constructor(
    readonly connection: string,
    settings: VapiSettings,
    private readonly http: ConnectionHttp,
    private readonly phoneNumbers: VapiPhoneNumbers = new VapiPhoneNumbers(),
  ) {
    this.base = settings.baseUrl.replace(/\/+$/, '');
    this.headers = { authorization: `Bearer ${settings.apiKey}`, accept: 'application/json' };
    this.mapContext = { connection, baseUrl: this.base };
  }

  /** Only the empty filter: Vapi filters none of status, direction or number, and times only by `createdAt`. */
  appliesExactly(query: CallQuery): boolean {
    return isUnfiltered(query);
  }

  /**
   * One page of calls newest `startedAt` first, from GET /call (one request; two when a page of
   * `pageSize` rows spans less than START_HOLD_MS of `createdAt` and is read again at MAX_LIMIT).
   * The query's status, direction and number are left to the core (Vapi has no such filters).
   *
   * Vapi sends the newest `limit` calls by `createdAt`; every call not sent was created at or before
   * the oldest sent (`c`), so — starting at most START_HOLD_MS after creation — started at or before
   * `c` + START_HOLD_MS (the cut). Rows that started after the cut are returned, sorted by start;
   * those at or before it are held back and read again by the next request (`createdAtLe` = the cut),
   * with the ids of returned rows created at or before the cut carried in the token to be skipped.
   */
  async list(request: ListRequest): Promise<ListResult> {
    const position = pagePosition(request.page);
    const pageSize = Math.min(Math.max(1, Math.floor(request.pageSize)), MAX_LIMIT);
    const seen = new Set(position?.seen ?? []);
    const filters = createdAtFiltersFor(request.from, request.until);
    let le = filters.createdAtLe === undefined ? null : Date.parse(filters.createdAtLe);
    if (position) le = le === null ? position.le : Math.min(le, position.le);
    // Room for the rows returned before that are read again, so a page always has new ones, and
    // for rows the core will not use: those the cut holds back (the oldest created always — it
    // starts after its creation) and those created before `le` that started after it (the previous
    // page's last rows). Without it, nearly every page fell one row short and cost a second request.
    let limit = Math.min(MAX_LIMIT, pageSize + seen.size + Math.ceil(pageSize / 10) + 2);
    let sent = await this.fetchList(limit, { ...filters, ...(le === null ? {} : { createdAtLe: new Date(le).toISOString() }) });
    let cut = cutOf(sent, limit, le, START_HOLD_MS);
    if (cut === 'stuck' && limit < MAX_LIMIT) {
      // Over `limit` calls created within START_HOLD_MS: read the most there are at once.
      limit = MAX_LIMIT;
      sent = await this.fetchList(limit, { ...filters, ...(le === null ? {} : { createdAtLe: new Date(le).toISOString() }) });
      cut = cutOf(sent, limit, le, START_HOLD_MS);
    }
    // Over MAX_LIMIT calls created within START_HOLD_MS: cut at the oldest creation instead (rows
    // that started within START_HOLD_MS of it may come a page late); none at all past one instant.
    if (cut === 'stuck') cut = cutOf(sent, limit, le, 0);
    if (cut === 'stuck') {
      throw new UpstreamError(this, 'BAD_BODY', { detail: `more than ${MAX_LIMIT} calls created at one instant: the list cannot be paged past them` });
    }
    const fresh = sent.filter((raw) => !seen.has(idOf(raw) ?? ''));
    const { rows, invalid } = readRows(fresh, rowReader, { ref: this, path: '' });
    const after = (t: number | undefined): boolean => cut === null || t === undefined || t > cut;
    const returned = rows.filter((row) => after((row.startedAt ?? row.createdAt).getTime()));
    const returnedInvalid = invalid.filter((row) => after(row.startedAt?.getTime() ?? createdAtOf(fresh[row.index])?.getTime()));
    const calls = await this.toRecords(returned);
    const ordered = inStartOrder(calls, returnedInvalid, fresh);
    let next: VapiPosition | null = null;
    if (cut !== null) {
      // Skipped next time: rows returned (now or before) that the next request reads again.
      const createdAt = new Map(sent.map((raw) => [idOf(raw), createdAtOf(raw)?.getTime()] as const));
      const again = (id: string | null): id is string => {
        if (id === null) return false;
        const t = createdAt.get(id);
        return t === undefined ? createdAt.has(id) === false : t <= cut;
      };
      const ids = [...seen, ...returned.map((row) => row.id), ...returnedInvalid.map((row) => row.key)];
      next = { le: cut, seen: [...new Set(ids.filter(again))] };
    }
    return {
      calls: ordered.calls,
      next: next ? { token: encodeVapiToken(next) } : null,
      total: null,
      ...(ordered.invalid.length > 0 ? { invalid: ordered.invalid } : {}),
    };
  }

  private async fetchList(limit: number, filters: Record<string, string | undefined>): Promise<unknown[]> {
    const { body } = await this.http.json(
      { method: 'GET', url: `${this.base}/call`, operation: 'GET /call', headers: this.headers, searchParams: { limit, ...filters } },
      vapiListSchema,
    );
    return body;
  }

  /**
   * One GET /call/{id} per locator (GET /call?id= is no cheaper), up to the connection's cap; 404
   * (or 400 for an id that is not a UUID) is an unknown call. A failed request, or a failed look-up
   * of that call's phone number, fails that locator alone.
   */
  getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    return mapWithConcurrency(locators, this.http.concurrency, (locator) => this.getCall(locator.key));
  }

  private async getCall(id: string): Promise<CallLookup> {
    // No call has an empty id, or `.`/`..`, which would leave the call path (http.ts).
    const url = upstreamUrl(this.base, 'call', id);
    if (url === null) return null;
    const { body } = await this.http.json(
      {
        method: 'GET',
        url,
        operation: 'GET /call/{id}',
        headers: this.headers,
        answerStatuses: [400, 404],
      },
      vapiCallBodySchema,
    );
    if (body === null) return null;
    const row = readRow(body, rowReader, { ref: this, path: '' }, id);
    if (row instanceof Error) return row;
    const [call] = await this.toRecords([row]);
    return call ?? null;
  }

  /** Rows → records, with the phone-number resources the cache lacks looked up all at once, once per id. */
  private async toRecords(rows: readonly VapiCall[]): Promise<CallRecord[]> {
    const ids = rows.filter((row) => !inlineAgentNumber(row) && row.phoneNumberId).map((row) => row.phoneNumberId as string);
    const numbers = ids.length === 0 ? new Map<string, string | null>() : await this.phoneNumbers.numbers(ids, (id) => this.phoneNumber(id), this.http.concurrency);
    return rows.map((row) =>
      toCallRecord(row, inlineAgentNumber(row) ?? (row.phoneNumberId ? (numbers.get(row.phoneNumberId) ?? null) : null), this.mapContext),
    );
  }

  /** GET /phone-number/{id}'s `number`; null for a resource that is gone (404) or an id that is not one (400). */
  private async phoneNumber(id: string): Promise<string | null> {
    // The id comes from a call row: one that cannot be a path segment names no resource (http.ts).
    const url = upstreamUrl(this.base, 'phone-number', id);
    if (url === null) return null;
    const { body } = await this.http.json(
      {
        method: 'GET',
        url,
        operation: 'GET /phone-number/{id}',
        headers: this.headers,
        answerStatuses: [400, 404],
      },
      vapiPhoneNumberSchema,
    );
    return body?.number ?? null;
  }
}

/** The token's position; null on the first page. Vapi pages by token only. */
function pagePosition(page: PageRef): VapiPosition | null {
  if ('token' in page) return decodeVapiToken(page.token);
  if (page.index !== 0) throw new TypeError('Vapi pages by token: only page index 0 can start a walk');
  return null;
}

/**
 * Where a page of `sent` rows (newest `createdAt` first) is cut: null when it is the last page
 * (shorter than `limit`, provider page, assumptions); else the oldest `createdAt` sent plus `hold`
 * ms; 'stuck' when that is not before `le` (the page's own upper bound), so the next page would
 * not move.
 */
function cutOf(sent: readonly unknown[], limit: number, le: number | null, hold: number): number | null | 'stuck' {
  if (sent.length < limit) return null;
  let oldest: number | null = null;
  for (const raw of sent) {
    const t = createdAtOf(raw)?.getTime();
    if (t !== undefined && (oldest === null || t < oldest)) oldest = t;
  }
  if (oldest === null) return 'stuck'; // a full page of which no row says when it was created
  const cut = oldest + hold;
  return le !== null && cut >= le ? 'stuck' : cut;
}

/**
 * The page's rows in the order the core reads them, newest `startedAt` first (Vapi sends them by
 * `createdAt`), with each unreadable row's index placing it by its start where that reads; where
 * no start reads (neither `startedAt` nor `createdAt`), where Vapi sent it: just above the next
 * row sent after it (`sent` is the list the invalid rows' indices count in), last if none. Placed
 * last instead, a row Vapi sent first would be named on no page: the core names it on the pages
 * whose span holds its place, and a walk resumed past the page never reads it again.
 */
function inStartOrder(calls: CallRecord[], invalid: readonly InvalidRow[], sent: readonly unknown[]): { calls: CallRecord[]; invalid: InvalidRow[] } {
  const sorted = [...calls].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (invalid.length === 0) return { calls: sorted, invalid: [] };
  const sortedAt = new Map(sorted.map((call, i) => [call.key, i]));
  const placed = invalid.map((row) => {
    const t = row.startedAt?.getTime();
    if (t !== undefined) return { row, before: sorted.filter((call) => call.startedAt.getTime() >= t).length };
    let before = sorted.length;
    for (let i = row.index + 1; i < sent.length; i++) {
      const at = sortedAt.get(idOf(sent[i]) ?? '');
      if (at !== undefined) {
        before = at;
        break;
      }
    }
    return { row, before };
  });
  placed.sort((a, b) => a.before - b.before);
  return { calls: sorted, invalid: placed.map(({ row, before }, k) => ({ ...row, index: before + k })) };
}
