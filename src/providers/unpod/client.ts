/**
 * The Unpod adapter: GET {base}/call-logs/ (docs/providers/unpod.md). Page-number paging with a
 * total `count`; start_date/end_date bound creation_time inclusively, so a walk can resume at a time.
 */
import type { CallRecord, CallStatus } from '../../calls/model.js';
import type { CallQuery } from '../../calls/filter.js';
import { type InvalidRowError, UpstreamError } from '../../errors.js';
import type { ConnectionHttp } from '../http.js';
import {
  singleStatusWord,
  type Capabilities,
  type CallLocator,
  type CallLookup,
  type InvalidRow,
  type ListRequest,
  type ListResult,
  type ProviderAdapter,
} from '../../calls/adapter.js';
import { type RowReader, plausibleId, readField, readRows } from '../rows.js';
import { estimatedRequests, gapForDensity, groupLocators, type LocatorWindow } from './locate.js';
import { STATUS_TABLE, derivedKey, rowKey, toCallRecord } from './map.js';
import { type UnpodRow, unpodListSchema, unpodRowSchema } from './schema.js';

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

/**
 * What a look-up has found so far: calls and unreadable rows by key, the keys whose request failed
 * (by the first failure), and unreadable rows whose key cannot be told.
 */
interface LocatorSearch {
  found: Map<string, CallRecord | InvalidRowError>;
  failed: Map<string, Error>;
  unplaced: UnplacedRow[];
}
/** One list page as read: Unpod's count, how many rows it sent, the readable ones and the others. */
interface UnpodPage {
  count: number;
  /** Rows sent, readable or not: what decides whether a page is the last. */
  sent: number;
  rows: UnpodRow[];
  invalid: InvalidRow[];
}

/** A row of a look-up window that did not read and whose key cannot be told: it may be any call the window was read for. */
interface UnplacedRow {
  window: LocatorWindow;
  row: InvalidRow;
}

/**
 * The rows of one organisation. Of a row that does not read: its id, creation_time and key as far
 * as those fields read (an id-less row's key needs creation_time, source and destination).
 */
function rowReader(orgHandle: string): RowReader<UnpodRow> {
  const shape = unpodRowSchema.shape;
  return {
    schema: unpodRowSchema,
    id: (raw) => plausibleId(readField(shape.id, raw.id)),
    startedAt: (raw) => readField(shape.creation_time, raw.creation_time),
    key: (raw, startedAt) => {
      const id = readField(shape.id, raw.id);
      if (id !== null && String(id).trim() !== '') return String(id);
      const source = shape.source_number.safeParse(raw.source_number);
      const destination = shape.destination_number.safeParse(raw.destination_number);
      if (!startedAt || !source.success || !destination.success) return null;
      return derivedKey(
        { creation_time: startedAt, source_number: source.data, destination_number: destination.data },
        orgHandle,
      );
    },
  };
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
  readonly capabilities: Capabilities = { maxPageSize: MAX_PAGE_SIZE, resume: 'window', reportsTotal: true, listsOngoing: false };
  private readonly url: string;
  private readonly rowReader: RowReader<UnpodRow>;

  constructor(
    readonly connection: string,
    private readonly settings: UnpodSettings,
    private readonly http: ConnectionHttp,
  ) {
    this.url = `${settings.baseUrl.replace(/\/+$/, '')}/call-logs/`;
    this.rowReader = rowReader(settings.orgHandle);
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
    const page = await this.fetchPage({
      index,
      pageSize,
      from: request.from,
      until: request.until,
      callType: query.direction ? (query.direction === 'INBOUND' ? 'inbound' : 'outbound') : undefined,
      callStatus: (query.statuses && statusWordFor(query.statuses)) ?? undefined,
    });
    const more = page.sent > 0 && (index + 1) * pageSize < page.count;
    return {
      calls: page.rows.map((row) => this.toRecord(row)),
      next: more ? { index: index + 1 } : null,
      total: page.count,
      ...(page.invalid.length > 0 ? { invalid: page.invalid } : {}),
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
   *
   * A row that does not read fails the look-up of its key. One whose key cannot be told (no readable
   * id, and creation_time, source or destination unreadable) fails every look-up it may be: those
   * of its window not found otherwise, at its creation_time when that reads. Never a silent null
   * for a call Unpod may have sent.
   */
  async getCalls(locators: readonly CallLocator[]): Promise<CallLookup[]> {
    const search: LocatorSearch = { found: new Map(), failed: new Map(), unplaced: [] };
    let windows = groupLocators(locators);
    if (windows.length >= PROBE_FROM_WINDOWS) windows = await this.probeSpan(locators, windows, search);
    await Promise.all(windows.map((window) => this.scanWindow(window, search)));
    return locators.map(
      (locator) =>
        search.found.get(locator.key) ?? search.failed.get(locator.key) ?? unplacedFor(locator, search.unplaced) ?? null,
    );
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
    let first: UnpodPage;
    try {
      first = await page(0);
    } catch (error) {
      this.fail(span, error, search);
      return [];
    }
    this.collect(first, span, search);
    const pages = Math.ceil(first.count / MAX_PAGE_SIZE);
    if (first.sent === 0 || pages <= 1 || [...span.keys].every((key) => search.found.has(key))) return [];
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
    let first: UnpodPage;
    try {
      first = await page(0);
    } catch (error) {
      return this.fail(window, error, search);
    }
    this.collect(first, window, search);
    const allFound = [...window.keys].every((key) => search.found.has(key));
    const pages = Math.ceil(first.count / MAX_PAGE_SIZE);
    if (allFound || first.sent === 0 || pages <= 1) return;
    await this.readPages(window, pages, page, search);
  }

  /**
   * Pages 2…`pages` of `window`, together (the count is known now); a failed one fails the keys
   * still missing.
   */
  private async readPages(
    window: LocatorWindow,
    pages: number,
    page: (index: number) => Promise<UnpodPage>,
    search: LocatorSearch,
  ): Promise<void> {
    const rest = await Promise.allSettled(Array.from({ length: pages - 1 }, (_, i) => page(i + 1)));
    for (const body of rest) if (body.status === 'fulfilled') this.collect(body.value, window, search);
    const failure = rest.find((body) => body.status === 'rejected');
    if (failure) this.fail(window, failure.reason, search);
  }

  /** Records `error` for the keys of `window` not found (a key may be on the page that failed). */
  private fail(window: LocatorWindow, error: unknown, search: LocatorSearch): void {
    const reason = error instanceof Error ? error : new Error(String(error));
    for (const key of window.keys) if (!search.found.has(key) && !search.failed.has(key)) search.failed.set(key, reason);
  }

  /** Records the rows of `page` that `window` looks for, and the unreadable ones that may be among them. */
  private collect(page: UnpodPage, window: LocatorWindow, { found, unplaced }: LocatorSearch): void {
    for (const row of page.rows) {
      const key = rowKey(row, this.settings.orgHandle);
      if (window.keys.has(key) && !found.has(key)) found.set(key, this.toRecord(row));
    }
    for (const row of page.invalid) {
      if (row.key === null) unplaced.push({ window, row });
      else if (window.keys.has(row.key) && !found.has(row.key)) found.set(row.key, row.error);
    }
  }

  private async fetchPage(request: PageQuery): Promise<UnpodPage> {
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
    const { rows, invalid } = readRows(body.data, this.rowReader, { ref: this, path: 'data' });
    return { count: body.count, sent: body.data.length, rows, invalid };
  }

  private toRecord(row: UnpodRow): CallRecord {
    return toCallRecord(row, { connection: this.connection, orgHandle: this.settings.orgHandle });
  }
}

/**
 * The error of an unreadable, unplaceable row that may be the call `locator` names: read in a
 * window holding the locator's instant, at that instant when its creation_time reads.
 */
function unplacedFor(locator: CallLocator, unplaced: readonly UnplacedRow[]): InvalidRowError | undefined {
  const at = locator.startedAt.getTime();
  return unplaced.find(
    ({ window, row }) =>
      window.from.getTime() <= at &&
      at <= window.until.getTime() &&
      (row.startedAt === null || row.startedAt.getTime() === at),
  )?.row.error;
}
