/**
 * The Unpod adapter: GET {base}/call-logs/ (shared/providers/unpod.md). Page-number paging with a
 * total `count`; start_date/end_date bound creation_time inclusively, so a walk can resume at a time.
 */
import type { CallRecord, CallStatus } from '../../calls/model.js';
import type { CallQuery } from '../../calls/filter.js';
import { UpstreamError } from '../../errors.js';
import type { ConnectionHttp } from '../http.js';
import {
  singleStatusWord,
  type Capabilities,
  type CallLocator,
  type CallLookup,
  type ListRequest,
  type ListResult,
  type ProviderAdapter,
} from '../provider.js';
import { estimatedRequests, gapForDensity, groupLocators, type LocatorWindow } from './locate.js';
import { STATUS_TABLE, rowKey, toCallRecord } from './map.js';
import { unpodListSchema, type UnpodListBody } from './schema.js';

export interface UnpodSettings {
  /** e.g. https://unpod.dev/api/v2/platform */
  baseUrl: string;
  /** Sent as `Authorization: Token <token>`. */
  token: string;
  /** The organisation's `domain_handle`, sent as `Org-Handle`. */
  orgHandle: string;
}

const MAX_PAGE_SIZE = 100;
const OPERATION = 'GET /call-logs/';
/**
 * From this many windows on, a span probe is worth its extra round trip: fewer windows go out
 * together and cost at most this many requests anyway.
 */
const PROBE_FROM_WINDOWS = 4;

/** What a look-up has found so far, and the keys whose request failed (by the first failure). */
interface LocatorSearch {
  found: Map<string, CallRecord>;
  failed: Map<string, Error>;
}

interface PageQuery {
  index: number;
  pageSize: number;
  from: Date | null;
  until: Date | null;
  callType?: 'inbound' | 'outbound';
  callStatus?: string;
}

/**
 * The one Unpod status word that stands for exactly `statuses`, or null when it takes several
 * words (NO_ANSWER is `missed` and `no-answer`) or none. UNKNOWN covers every word outside the
 * table, which no single `call_status` value can select.
 */
export function statusWordFor(statuses: readonly CallStatus[]): string | null {
  return singleStatusWord(STATUS_TABLE, statuses);
}

export class UnpodAdapter implements ProviderAdapter {
  readonly provider = 'UNPOD' as const;
  readonly capabilities: Capabilities = { maxPageSize: MAX_PAGE_SIZE, resume: 'window', reportsTotal: true };
  private readonly url: string;

  constructor(
    readonly connection: string,
    private readonly settings: UnpodSettings,
    private readonly http: ConnectionHttp,
  ) {
    this.url = `${settings.baseUrl.replace(/\/+$/, '')}/call-logs/`;
  }

  /** Direction and time bounds are applied exactly; statuses only as one word; numbers never. */
  appliesExactly(query: CallQuery): boolean {
    return (
      query.phoneNumber === null &&
      (query.statuses === null || statusWordFor(query.statuses) !== null)
    );
  }

  async list(request: ListRequest): Promise<ListResult> {
    if (!('index' in request.page)) throw new TypeError('Unpod pages are numbered, not tokens');
    const index = request.page.index;
    const pageSize = Math.max(1, Math.min(request.pageSize, MAX_PAGE_SIZE));
    const { query } = request;
    const body = await this.fetchPage({
      index,
      pageSize,
      from: request.from,
      until: request.until,
      callType: query.direction ? (query.direction === 'INBOUND' ? 'inbound' : 'outbound') : undefined,
      callStatus: (query.statuses && statusWordFor(query.statuses)) ?? undefined,
    });
    const more = body.data.length > 0 && (index + 1) * pageSize < body.count;
    return {
      calls: body.data.map((row) => this.toRecord(row)),
      next: more ? { index: index + 1 } : null,
      total: body.count,
    };
  }

  /**
   * No by-id endpoint: locators are grouped into creation_time windows (see locate.ts), each window
   * is listed and rows are matched by key (id or derived key). Windows run in parallel. Locators
   * spread over several windows are first looked for in one request over their whole span.
   *
   * A failed request fails exactly the locators it was read for and did not find: a window's keys
   * for a window's page, every key for the span probe. Keys found on the pages that did answer, and
   * the other windows' keys, still come back.
   */
  async getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    const search: LocatorSearch = { found: new Map(), failed: new Map() };
    let windows = groupLocators(locators);
    if (windows.length >= PROBE_FROM_WINDOWS) windows = await this.probeSpan(locators, windows, search);
    await Promise.all(windows.map((window) => this.scanWindow(window, search)));
    return locators.map((locator) => search.found.get(locator.key) ?? search.failed.get(locator.key) ?? null);
  }

  /**
   * Reads the first page of the span from the first window to the last; its count gives the span's
   * density. Reading the span's other pages is chosen when that is no dearer than the windows
   * (regrouped for that density) would be: in a quiet account fifty calls spread over weeks cost
   * a few requests, not fifty. Returns the windows still to scan.
   */
  private async probeSpan(
    locators: readonly CallLocator[],
    windows: LocatorWindow[],
    search: LocatorSearch,
  ): Promise<LocatorWindow[]> {
    const span: LocatorWindow = {
      from: windows[0]!.from,
      until: windows[windows.length - 1]!.until,
      keys: new Set(windows.flatMap((w) => [...w.keys])),
    };
    const page = (index: number) =>
      this.fetchPage({ index, pageSize: MAX_PAGE_SIZE, from: span.from, until: span.until });
    let first: UnpodListBody;
    try {
      first = await page(0);
    } catch (error) {
      this.fail(span, error, search);
      return [];
    }
    this.collect(first, span, search.found);
    const pages = Math.ceil(first.count / MAX_PAGE_SIZE);
    if (first.data.length === 0 || pages <= 1 || [...span.keys].every((key) => search.found.has(key))) return [];
    const rowsPerMs = first.count / Math.max(1, span.until.getTime() - span.from.getTime());
    const remaining = locators.filter((locator) => !search.found.has(locator.key));
    const regrouped = groupLocators(remaining, gapForDensity(rowsPerMs, MAX_PAGE_SIZE));
    if (pages - 1 > estimatedRequests(regrouped, rowsPerMs, MAX_PAGE_SIZE)) return regrouped;
    await this.readPages(span, pages, page, search);
    return [];
  }

  private async scanWindow(window: LocatorWindow, search: LocatorSearch): Promise<void> {
    const page = (index: number) =>
      this.fetchPage({ index, pageSize: MAX_PAGE_SIZE, from: window.from, until: window.until });
    let first: UnpodListBody;
    try {
      first = await page(0);
    } catch (error) {
      return this.fail(window, error, search);
    }
    this.collect(first, window, search.found);
    const allFound = [...window.keys].every((key) => search.found.has(key));
    const pages = Math.ceil(first.count / MAX_PAGE_SIZE);
    if (allFound || first.data.length === 0 || pages <= 1) return;
    await this.readPages(window, pages, page, search);
  }

  /** Pages 2…`pages` of `window`, together (the count is known now); a failed one fails the keys still missing. */
  private async readPages(
    window: LocatorWindow,
    pages: number,
    page: (index: number) => Promise<UnpodListBody>,
    search: LocatorSearch,
  ): Promise<void> {
    const rest = await Promise.allSettled(Array.from({ length: pages - 1 }, (_, i) => page(i + 1)));
    for (const body of rest) if (body.status === 'fulfilled') this.collect(body.value, window, search.found);
    const failure = rest.find((body) => body.status === 'rejected');
    if (failure) this.fail(window, failure.reason, search);
  }

  /** Records `error` for the keys of `window` not found (a key may be on the page that failed). */
  private fail(window: LocatorWindow, error: unknown, search: LocatorSearch): void {
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const key of window.keys) if (!search.found.has(key) && !search.failed.has(key)) search.failed.set(key, reason);
  }

  /** Records the rows of `body` that `window` looks for. */
  private collect(body: UnpodListBody, window: LocatorWindow, found: Map<string, CallRecord>): void {
    for (const row of body.data) {
      const key = rowKey(row, this.settings.orgHandle);
      if (window.keys.has(key) && !found.has(key)) found.set(key, this.toRecord(row));
    }
  }

  private async fetchPage(request: PageQuery): Promise<UnpodListBody> {
    const { body } = await this.http.json(
      {
        method: 'GET',
        url: this.url,
        operation: OPERATION,
        headers: {
          accept: 'application/json',
          authorization: `Token ${this.settings.token}`,
          'org-handle': this.settings.orgHandle,
        },
        searchParams: {
          page: request.index + 1,
          page_size: request.pageSize,
          start_date: request.from?.toISOString(),
          end_date: request.until?.toISOString(),
          call_type: request.callType,
          call_status: request.callStatus,
        },
      },
      unpodListSchema,
    );
    // No answer statuses are passed, so every 2xx comes with a parsed body.
    if (!body) throw new UpstreamError(this.http.ref, 'BAD_BODY', { detail: 'no body' });
    return body;
  }

  private toRecord(row: UnpodListBody['data'][number]): CallRecord {
    return toCallRecord(row, { connection: this.connection, orgHandle: this.settings.orgHandle });
  }
}
