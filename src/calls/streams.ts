/**
 * One connection's rows in merged order, relative to an anchor position, fetched a page at a time
 * only when the merge needs them. Forward streams yield the rows after the anchor, newest first;
 * backward streams yield the rows before the anchor, nearest (oldest) first.
 *
 * Resuming at a position without drift (see docs/pagination.md):
 * - `window` adapters are asked for `startedAt <= anchor time` (forward) or for growing windows
 *   starting at the anchor time (backward), and rows on the wrong side of the anchor are dropped.
 *   New calls are newer than any anchor, so they cannot shift what such a request returns.
 * - `offset` adapters (no time filter upstream) are read from the offset the cursor's hint names,
 *   one row early; if that row is not at or before the anchor, calls were removed or the hint is
 *   stale, and the stream steps back a page until it is. Rows newer than the anchor that arrived
 *   since are skipped by position, so a stale hint costs requests, never correctness.
 *
 * Every list request is counted against the GraphQL request's scan budget (./budget.ts). A stream
 * the budget stops is `blocked`: it has read every row up to its `frontier()`, and the merge ends
 * the page there rather than leave a gap.
 *
 * Rows that did not read (`ListResult.invalid`) are not rows of the stream: they yield nothing and
 * move no cursor. Offsets count them (they are the provider's rows), and each is kept with the
 * positions it can hold — its own when its start and key read, else between the readable rows
 * read around it — so the merge can report it on the pages that would have held it.
 */
import { type InvalidRowError, UpstreamError } from '../errors.js';
import type { InvalidRow, ListResult, PageRef, ProviderAdapter } from './adapter.js';
import type { ScanBudget } from './budget.js';
import { type CallQuery, matches, startedWindow, toDate } from './filter.js';
import {
  type CallRecord,
  type ConnectionRef,
  PROVIDERS,
  type Position,
  comparePositions,
  connectionLabel,
  cutBefore,
  positionOf,
  providerRank,
} from './model.js';

export interface StreamRow {
  call: CallRecord;
  position: Position;
}

export interface StreamOptions {
  adapter: ProviderAdapter;
  query: CallQuery;
  /** Rows the merge wants from this stream at most (page size + 1). */
  want: number;
  anchor: Position | null;
  /** Offset hint for `offset` adapters: the connection's rows up to and including the anchor. */
  hint: number | undefined;
  /** Called once when the connection fails; the stream then ends. */
  onFailure: (error: UpstreamError) => void;
  /** The GraphQL request's list-request budget; unbounded when absent. */
  budget?: ScanBudget;
  /** For `per-party` adapters with a number filter: the party this stream's requests match it on. */
  party?: 'from' | 'to';
  /** Backward window streams: the first window's span (ms), carried by the cursor of a cut page. */
  span?: number;
  /**
   * The page has moved the walk already (a `last` scan reached the end), so this stream gets no
   * request past the budget, even before it moves.
   */
  walkMoved?: boolean;
}

const FAR_FUTURE_MS = 24 * 3600_000; // calls may be stamped slightly ahead of our clock
/**
 * Rows that do not read, one after the other, past which the connection's answer is unreadable as a
 * whole (BAD_BODY): a format the provider changed for every row is its failure, not a reason to read
 * its whole history row by row.
 */
export const MAX_UNREADABLE_RUN = 100;
const FIRST_WINDOW_MS = 3600_000;
const WINDOW_GROWTH = 8;
const MIN_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 2 ** 40; // about 35 years: past any history, and a safe integer in a cursor

/**
 * The next backward window's span after one of `span` ms held `rows` rows: 8× while windows are
 * sparse, less as they near a full page of `pageSize` rows, smaller when one took several pages —
 * so windows stay about one request each, and a budget goes as far as it can.
 */
export function nextSpan(span: number, rows: number, pageSize: number): number {
  const growth = Math.min(WINDOW_GROWTH, Math.max(1 / WINDOW_GROWTH, pageSize / Math.max(rows, 1)));
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, Math.round(span * growth)));
}

/** A raw row with its absolute offset in the connection's unfiltered list (offset adapters). */
interface RawRow extends StreamRow {
  offset: number;
}

/**
 * A row that did not read, with the positions it can hold, newest and oldest, both inclusive;
 * null where nothing bounds it that way (it came first or last of what was read).
 */
export interface SeenInvalidRow {
  error: InvalidRowError;
  newest: Position | null;
  oldest: Position | null;
}

// "Any position at instant t": before (cutBefore), and after, every position of that instant.
const lastAt = (t: number): Position => [t, PROVIDERS.length, '', ''];

/** A bad row's own place, when its start reads: its position (with its key), else its instant; null otherwise. */
function ownPlace(row: InvalidRow, ref: ConnectionRef): SeenInvalidRow | null {
  if (row.startedAt === null) return null;
  const t = row.startedAt.getTime();
  if (row.key === null) return { error: row.error, newest: cutBefore(t), oldest: lastAt(t) };
  const position: Position = [t, providerRank(ref.provider), ref.connection, row.key];
  return { error: row.error, newest: position, oldest: position };
}

/**
 * Places the bad rows of one contiguous read — upstream pages read one after the other, in the
 * provider's order — between the readable rows around them: no newer than the instant of the
 * readable row before, no older than that of the one after (instants, not positions: the provider
 * orders ties its own way). A bad row still waiting for the row after it is unbounded that way.
 */
class RowRun {
  private newer: Position | null = null;
  private waiting: SeenInvalidRow[] = [];

  constructor(
    private readonly ref: ConnectionRef,
    private readonly seen: SeenInvalidRow[],
  ) {}

  /** One page: `positions` of its readable rows in order, `invalid` placed among them by index. */
  page(positions: readonly Position[], invalid: readonly InvalidRow[] | undefined): void {
    let consumed = 0;
    if (invalid) {
      [...invalid].sort((a, b) => a.index - b.index).forEach((row, k) => {
        this.readable(positions, consumed, row.index - k); // the readable rows before it
        consumed = Math.max(consumed, row.index - k);
        const own = ownPlace(row, this.ref);
        if (own) return void this.seen.push(own);
        const placed: SeenInvalidRow = { error: row.error, newest: this.newer && cutBefore(this.newer[0]), oldest: null };
        this.seen.push(placed);
        this.waiting.push(placed);
      });
    }
    this.readable(positions, consumed, positions.length);
  }

  private readable(positions: readonly Position[], from: number, to: number): void {
    if (to <= from) return;
    const first = positions[from]!;
    for (const row of this.waiting) row.oldest = lastAt(first[0]);
    this.waiting = [];
    this.newer = positions[to - 1]!;
  }
}

export abstract class CallStream {
  protected readonly buffer: StreamRow[] = [];
  protected done = false;
  failed = false;
  /** 1 when the stream reads toward older calls (forward), -1 toward newer ones (backward). */
  protected abstract readonly order: 1 | -1;
  /**
   * Every row of this stream from the anchor up to here (in its direction) has been read and
   * released to the buffer, bar those the filter drops; null until a page is read.
   */
  protected readThrough: Position | null = null;
  /** The provider's count for the filter, when a request without anchor bounds reported one. */
  filterTotal: number | null = null;
  /** Every raw row fetched from an offset adapter, by absolute offset (for cursor hints). */
  readonly raw = new Map<number, RawRow>();
  /**
   * Rows that share `startedAt` with the edge of the last page read: their siblings may be on the
   * next page, and the tie-break (provider, connection, key) is ours, not the provider's, so they
   * wait until that page is read.
   */
  private readonly pending: StreamRow[] = [];
  /** `raw` by offset, sorted once per change rather than once per edge's hint: set `raw`, clear this. */
  protected rawSorted: RawRow[] | null = null;
  /** Rows read that did not read, placed (see RowRun); offset streams place theirs by offset instead. */
  protected readonly seenInvalid: SeenInvalidRow[] = [];
  /** Rows that did not read since the last one that did, in reading order. */
  private unreadableRun = 0;

  /** The connection's label ("unpod/default"), the scan budget's key. */
  readonly label: string;

  constructor(protected readonly options: StreamOptions) {
    this.label = connectionLabel(options.adapter);
  }

  get adapter(): ProviderAdapter {
    return this.options.adapter;
  }

  /** Every unreadable row this stream has read, with the positions it can hold. */
  invalidRows(): readonly SeenInvalidRow[] {
    return this.seenInvalid;
  }

  /**
   * Reads on: one more upstream page (for backward window streams, one more window), or learns
   * that the stream has ended or that the budget stops it. A failure ends the stream; it is
   * reported once through `onFailure`.
   */
  async advance(): Promise<void> {
    try {
      await this.fill();
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      this.failed = true;
      this.options.onFailure(error);
    }
  }

  /** The next row; null when the stream has ended (or is blocked); undefined when it must `advance()`. */
  buffered(): StreamRow | null | undefined {
    if (this.buffer.length > 0) return this.buffer[0];
    return this.done || this.failed || this.blocked ? null : undefined;
  }

  /**
   * Where a walk continued after this stream stopped resumes: every row of the stream before this
   * position (in its direction) has been read. The anchor until the stream reads past it; null
   * for a stream without an anchor that has read nothing.
   */
  frontier(): Position | null {
    const { anchor } = this.options;
    if (this.readThrough === null) return anchor;
    if (anchor === null || this.order * comparePositions(this.readThrough, anchor) > 0) return this.readThrough;
    return anchor;
  }

  /** Backward window streams: the span (ms) a walk resumed at this stream's frontier should start with. */
  resumeSpan(): number | undefined {
    return undefined;
  }

  /**
   * The scan budget stops this stream: its connection's budget is spent and the stream has read
   * past its anchor (one that has not may always read on, so every page moves the walk). Its rows
   * past `frontier()` are unread.
   */
  get blocked(): boolean {
    const { budget } = this.options;
    return budget !== undefined && !this.done && !this.failed && budget.spent(this.label) && this.moved();
  }

  /** Read past its anchor, or need not (`walkMoved`). */
  private moved(): boolean {
    return (this.readThrough !== null && this.frontier() !== this.options.anchor) || this.options.walkMoved === true;
  }

  /** Counts one list request against the budget; false when the stream is blocked instead. */
  protected mayFetch(): boolean {
    const { budget } = this.options;
    return !budget || budget.take(this.label, !this.moved());
  }

  shift(): StreamRow {
    const row = this.buffer.shift();
    if (!row) throw new Error('shift() without a row: check buffered() first');
    return row;
  }

  /**
   * For offset adapters: how many of the connection's rows (unfiltered) come at or before
   * `position`, judged from the rows fetched; undefined for window adapters.
   */
  hintThrough(position: Position): number | undefined {
    if (this.raw.size === 0) return undefined;
    let last = -1;
    this.rawSorted ??= [...this.raw.values()].sort((a, b) => a.offset - b.offset);
    for (const row of this.rawSorted) {
      if (comparePositions(row.position, position) > 0) return row.offset;
      last = row.offset;
    }
    return last + 1;
  }

  /** Fetches at least one more page; sets `done` at the end. */
  protected abstract fill(): Promise<void>;

  /**
   * Queues rows read in this stream's direction and releases every row except those at
   * `boundaryTime` (the edge of the page just read; null when no page follows).
   */
  protected accept(rows: StreamRow[], boundaryTime: number | null, order: 1 | -1): void {
    this.pending.push(...rows);
    this.pending.sort((a, b) => order * comparePositions(a.position, b.position));
    let held = this.pending.length;
    if (boundaryTime !== null) {
      while (held > 0 && this.pending[held - 1]!.call.startedAt.getTime() === boundaryTime) held--;
      // Read: every row on the far side of the held instant (newer going forward, older going back).
      this.readThrough = cutBefore(order === 1 ? boundaryTime : boundaryTime - 1);
    }
    this.buffer.push(...this.pending.splice(0, held));
  }

  /**
   * Counts the page's unreadable rows that follow one another (across pages too); throws BAD_BODY
   * for the connection once MAX_UNREADABLE_RUN of them came in a row.
   */
  protected countUnreadable(result: ListResult): void {
    const invalid = result.invalid ?? [];
    if (invalid.length === 0) {
      if (result.calls.length > 0) this.unreadableRun = 0;
      return;
    }
    const total = result.calls.length + invalid.length;
    const bad = new Set(invalid.map((row) => row.index));
    let leading = 0;
    while (leading < total && bad.has(leading)) leading++;
    this.unreadableRun += leading;
    if (leading < total) {
      if (this.unreadableRun < MAX_UNREADABLE_RUN) this.unreadableRun = 0;
      while (bad.has(total - 1 - this.unreadableRun) && this.unreadableRun < total) this.unreadableRun++;
    }
    if (this.unreadableRun >= MAX_UNREADABLE_RUN) {
      throw new UpstreamError(this.adapter, 'BAD_BODY', { detail: `${MAX_UNREADABLE_RUN} rows in a row could not be read` });
    }
  }

  protected keep(call: CallRecord): boolean {
    return matches(call, this.options.query);
  }

  protected pageSize(rows: number): number {
    return Math.max(1, Math.min(this.adapter.capabilities.maxPageSize, rows));
  }

  /** Whether a row started before the filter's `startedAfter`: every row after it in a forward read does too. */
  protected beforeWindow(call: CallRecord | undefined): boolean {
    const { startedAfter } = this.options.query;
    return call !== undefined && startedAfter !== null && call.startedAt.getTime() < startedAfter.getTime();
  }
}

/** Forward over a window adapter: `startedAt <= anchor time`, rows at or before the anchor dropped. */
export class ForwardWindowStream extends CallStream {
  protected readonly order = 1;
  private next: PageRef | null = { index: 0 };
  private readonly run = new RowRun(this.options.adapter, this.seenInvalid);

  protected async fill(): Promise<void> {
    const { query, anchor, want, party } = this.options;
    if (!this.mayFetch()) return;
    const bounds = startedWindow(query);
    const until =
      anchor === null ? bounds.until : Math.min(anchor[0], bounds.until ?? Number.POSITIVE_INFINITY);
    const page = this.next as PageRef;
    const result = await this.adapter.list({
      query,
      from: toDate(bounds.from),
      until: toDate(until),
      pageSize: this.pageSize(want),
      page,
      ...(party ? { party } : {}),
    });
    if (anchor === null && 'index' in page && page.index === 0) this.filterTotal = result.total;
    const rows: StreamRow[] = [];
    const positions: Position[] = [];
    for (const call of result.calls) {
      const position = positionOf(call);
      positions.push(position);
      if (anchor && comparePositions(position, anchor) <= 0) continue;
      if (this.keep(call)) rows.push({ call, position });
    }
    this.countUnreadable(result);
    this.run.page(positions, result.invalid);
    this.next = result.next;
    const edge = result.calls[result.calls.length - 1];
    // A provider may answer a wider window (TalkStack: whole days): past `startedAfter`, stop.
    if (!result.next || this.beforeWindow(edge)) this.done = true;
    this.accept(rows, this.done || !edge ? null : edge.startedAt.getTime(), 1);
  }
}

/**
 * Backward over a window adapter: windows [anchor time, anchor time + Δ], Δ growing up to 8× each
 * time (see `nextSpan`), each read whole, until enough rows are collected or the windows pass the
 * present.
 */
export class BackwardWindowStream extends CallStream {
  protected readonly order = -1;
  private windowStart: number;
  private span: number;
  private readonly limit: number;

  constructor(options: StreamOptions) {
    super(options);
    this.span = options.span ?? FIRST_WINDOW_MS;
    const bounds = startedWindow(options.query);
    const anchorTime = options.anchor?.[0] ?? Number.NEGATIVE_INFINITY;
    this.windowStart = Math.max(anchorTime, bounds.from ?? Number.NEGATIVE_INFINITY);
    this.limit = bounds.until ?? Date.now() + FAR_FUTURE_MS;
    if (!Number.isFinite(this.windowStart)) throw new Error('backward window streams need an anchor');
  }

  protected async fill(): Promise<void> {
    const { query, anchor, party } = this.options;
    if (this.windowStart > this.limit) {
      this.done = true;
      return;
    }
    const from = this.windowStart;
    const until = Math.min(from + this.span - 1, this.limit);
    const rows: StreamRow[] = [];
    let inWindow = 0;
    // Each window is its own read: windows wider than asked overlap, so rows are placed within one.
    const run = new RowRun(this.adapter, this.seenInvalid);
    let page: PageRef | null = { index: 0 };
    while (page) {
      // Pages of a window come newest first, and this stream needs its oldest rows first: a window
      // the budget cuts short gives nothing, and the walk resumes at the window's start.
      if (!this.mayFetch()) return;
      const result: ListResult = await this.adapter.list({
        query,
        from: new Date(from),
        until: new Date(until),
        pageSize: this.adapter.capabilities.maxPageSize,
        page,
        ...(party ? { party } : {}),
      });
      const positions: Position[] = [];
      for (const call of result.calls) {
        const position = positionOf(call);
        positions.push(position);
        const t = call.startedAt.getTime();
        if (t < from || t > until) continue; // a wider window than asked: the next window has it
        inWindow++;
        if (anchor && comparePositions(position, anchor) >= 0) continue;
        if (this.keep(call)) rows.push({ call, position });
      }
      this.countUnreadable(result);
      run.page(positions, result.invalid);
      page = result.next;
    }
    // Nearest to the anchor first.
    rows.sort((a, b) => comparePositions(b.position, a.position));
    this.buffer.push(...rows);
    this.readThrough = cutBefore(until);
    this.windowStart = until + 1;
    this.span = nextSpan(this.span, inWindow, this.adapter.capabilities.maxPageSize);
    if (this.windowStart > this.limit) this.done = true;
  }

  override resumeSpan(): number {
    return this.span;
  }
}

/** Smallest page size ≤ max whose grid puts offsets `a`..`b` on one page (one request), else max. */
export function alignedPageSize(a: number, b: number, max: number): number {
  for (let size = Math.max(1, b - a + 1); size <= max; size++) {
    if (Math.floor(a / size) === Math.floor(b / size)) return size;
  }
  return max;
}

/** Shared by both directions of an offset adapter: contiguous pages of one fixed size. */
abstract class OffsetStream extends CallStream {
  protected size = 1;
  protected lowPage = 0; // the lowest page fetched
  protected highPage = -1; // the highest page fetched
  protected endOffset: number | null = null; // offsets at or past this do not exist
  private readonly fetched = new Map<number, RawRow[]>();
  /** Rows that did not read, by absolute offset: they hold their offset like any row. */
  private readonly rawInvalid = new Map<number, InvalidRow>();

  /** Page `index` (read once per stream), or null when the budget is spent (the stream is then blocked). */
  protected async fetchPage(index: number): Promise<RawRow[] | null> {
    const { query } = this.options;
    const known = this.fetched.get(index);
    if (known) return known;
    if (!this.mayFetch()) return null;
    const result = await this.adapter.list({
      query,
      from: null,
      until: null,
      pageSize: this.size,
      page: { index },
    });
    this.countUnreadable(result);
    const base = index * this.size;
    // Readable rows take the page's places the unreadable ones leave.
    const taken = new Set<number>();
    for (const row of result.invalid ?? []) {
      this.rawInvalid.set(base + row.index, row);
      taken.add(row.index);
    }
    let place = 0;
    const rows = result.calls.map((call) => {
      while (taken.has(place)) place++;
      const row: RawRow = { call, position: positionOf(call), offset: base + place++ };
      this.raw.set(row.offset, row);
      return row;
    });
    this.rawSorted = null;
    if (index === 0 && this.options.anchor === null) this.filterTotal = result.total;
    if (!result.next) this.endOffset = base + rows.length + taken.size;
    this.fetched.set(index, rows);
    return rows;
  }

  /** Placed by offset: between the nearest readable rows fetched on either side, unbounded past what was fetched. */
  override invalidRows(): readonly SeenInvalidRow[] {
    const seen: SeenInvalidRow[] = [];
    for (const [offset, row] of this.rawInvalid) {
      const own = ownPlace(row, this.adapter);
      if (own) {
        seen.push(own);
        continue;
      }
      const near = (step: 1 | -1): Position | null => {
        for (let at = offset + step; ; at += step) {
          const readable = this.raw.get(at);
          if (readable) return readable.position;
          if (!this.rawInvalid.has(at)) return null; // not fetched, or past either end
        }
      };
      const newer = near(-1);
      const older = near(1);
      seen.push({ error: row.error, newest: newer && cutBefore(newer[0]), oldest: older && lastAt(older[0]) });
    }
    return seen;
  }
}

/** Forward over an offset adapter, starting one row before the hinted offset. */
export class ForwardOffsetStream extends OffsetStream {
  protected readonly order = 1;
  private started = false;

  protected async fill(): Promise<void> {
    const { anchor, hint, want } = this.options;
    let rows: RawRow[];
    if (!this.started) {
      const start = anchor && hint !== undefined ? Math.max(0, hint - 1) : 0;
      this.size = alignedPageSize(start, start + want, this.adapter.capabilities.maxPageSize);
      this.lowPage = this.highPage = Math.floor(start / this.size);
      const first = await this.fetchPage(this.highPage);
      if (!first) return; // blocked before it began (only with `walkMoved`)
      this.started = true;
      rows = first;
      // The row before the hinted offset must be at or before the anchor, or rows were skipped.
      while (anchor && this.lowPage > 0 && (rows.length === 0 || comparePositions(rows[0]!.position, anchor) > 0)) {
        const earlier = await this.fetchPage(this.lowPage - 1);
        if (!earlier) return; // likewise
        this.lowPage -= 1;
        rows = [...earlier, ...rows];
      }
    } else {
      const next = await this.fetchPage(this.highPage + 1);
      if (!next) return;
      this.highPage += 1;
      rows = next;
    }
    const kept: StreamRow[] = [];
    for (const row of rows) {
      if (anchor && comparePositions(row.position, anchor) <= 0) continue;
      if (this.keep(row.call)) kept.push({ call: row.call, position: row.position });
    }
    const edge = rows[rows.length - 1];
    // No time filter upstream: once past `startedAfter`, nothing further can match.
    if ((this.endOffset !== null && (this.highPage + 1) * this.size >= this.endOffset) || this.beforeWindow(edge?.call)) {
      this.done = true;
    }
    this.accept(kept, this.done || !edge ? null : edge.call.startedAt.getTime(), 1);
  }
}

/**
 * Backward over an offset adapter from an anchor: find where the anchor sits now (the hint, moved
 * down by calls that arrived since), then read pages upward from there.
 */
export class BackwardOffsetStream extends OffsetStream {
  protected readonly order = -1;
  private nextUp: number | null = null; // the next page to read going up

  protected async fill(): Promise<void> {
    const anchor = this.options.anchor as Position;
    if (this.nextUp === null) {
      // The budget stops this part only with `walkMoved`: the stream has not moved past its anchor yet.
      const { hint } = this.options;
      const max = this.adapter.capabilities.maxPageSize;
      // The first row at or after the anchor: the anchor's own (hint - 1), or for a frontier
      // between instants (rank -1), the row after it. Without a hint, search from the top in full pages.
      const at = hint === undefined ? 0 : Math.max(0, anchor[1] < 0 ? hint : hint - 1);
      const top = Math.max(0, at - this.options.want);
      this.size = hint === undefined ? max : alignedPageSize(top, at, max);
      let index = Math.floor(at / this.size);
      let rows = await this.fetchPage(index);
      if (!rows) return;
      // Calls that arrived since push the anchor down: read on until a row after it and after its
      // instant. The provider orders ties its own way: a sibling of the anchor's instant that comes
      // before it in our order may follow it upstream, on the next page.
      const beyond = (row: RawRow) => comparePositions(row.position, anchor) > 0 && row.position[0] !== anchor[0];
      while (
        rows.length > 0 &&
        !beyond(rows[rows.length - 1]!) &&
        (this.endOffset === null || (index + 1) * this.size < this.endOffset)
      ) {
        const below = await this.fetchPage(index + 1);
        if (!below) return;
        index += 1;
        rows = below;
      }
      this.take(index);
      this.nextUp = index - 1;
    } else {
      if (!(await this.fetchPage(this.nextUp))) return;
      this.take(this.nextUp);
      this.nextUp -= 1;
    }
    // No time filter upstream: once past `startedBefore`, nothing newer can match.
    const { startedBefore } = this.options.query;
    const top = this.raw.get((this.nextUp + 1) * this.size);
    if (this.nextUp < 0 || (startedBefore && top && top.call.startedAt.getTime() >= startedBefore.getTime())) this.done = true;
  }

  /** Buffers page `index`'s rows before the anchor, nearest first. */
  private take(index: number): void {
    const anchor = this.options.anchor as Position;
    const rows: StreamRow[] = [];
    for (let offset = (index + 1) * this.size - 1; offset >= index * this.size; offset--) {
      const row = this.raw.get(offset);
      if (!row || comparePositions(row.position, anchor) >= 0) continue;
      if (this.keep(row.call)) rows.push({ call: row.call, position: row.position });
    }
    // The page's first readable row marks its edge (a row above it that did not read has no time).
    let top: RawRow | undefined;
    for (let offset = index * this.size; !top && offset < (index + 1) * this.size; offset++) top = this.raw.get(offset);
    this.accept(rows, index > 0 && top ? top.call.startedAt.getTime() : null, -1);
  }
}

/**
 * A filter its provider cannot apply drops most rows it reads: such streams read pages of at least
 * this many rows (capped by the provider's largest), so the scan budget goes further.
 */
const MIN_SCAN_PAGE = 100;

/**
 * The stream for one connection, direction and anchor. Backward streams need an anchor: the
 * oldest calls are found by reading forward (src/calls/merge.ts). With the connection's `window`, a
 * forward stream whose anchor is inside it starts there (`WindowStream`).
 */
export function openStream(direction: 'forward' | 'backward', options: StreamOptions, window?: CallWindow | null): CallStream {
  const { adapter, query } = options;
  const { resume, maxPageSize } = adapter.capabilities;
  const want = Math.min(maxPageSize, adapter.appliesExactly(query) ? options.want : Math.max(options.want, MIN_SCAN_PAGE));
  const sized = { ...options, want };
  if (direction === 'forward') {
    if (window && windowCovers(window, options.anchor, query)) return new WindowStream(sized, window);
    return resume === 'offset' ? new ForwardOffsetStream(sized) : new ForwardWindowStream(sized);
  }
  if (options.anchor === null) throw new Error('backward streams start at an anchor');
  return resume === 'offset' ? new BackwardOffsetStream(sized) : new BackwardWindowStream(sized);
}

/**
 * What a watched connection's watcher last read of the top of its provider's list (src/live/watcher.ts,
 * docs/live.md "Freshness"): the rows of its last successful newest-page read, exactly as the
 * provider listed them then, unfiltered. Complete for every position newer than its oldest row's
 * instant (the provider lists newest `startedAt` first; it orders ties its own way, so siblings of
 * that instant may be on the next page), or for the whole list when the read reached its end.
 */
export interface CallWindow {
  /** The rows, newest first, each call once. */
  calls: readonly CallRecord[];
  /** When the read began (ms since the epoch): how old the window is. */
  readAt: number;
  /** The read reached the end of the provider's list: the window is the whole list. */
  complete: boolean;
  /** Not served from this instant (ms) on: a row's signed media link expires a minute later; null: no such link. */
  servableUntil: number | null;
}

/**
 * A forward stream that starts in a connection's window (`CallWindow`): the window's rows after the
 * anchor, filtered exactly as an upstream read is (`matches`, and for a `per-party` stream its
 * party's number, as its provider would), with no request; past the window's oldest instant it
 * continues upstream with the plain stream anchored there (offset adapters with the window's row
 * count as the hint). Only the upstream part counts against the scan budget. Opened only when the
 * anchor is inside the window (`windowCovers`).
 */
export class WindowStream extends CallStream {
  protected readonly order = 1;
  /** The positions the window vouches for end just before this instant's; null: the whole list. */
  private readonly edge: Position | null;
  /** The window's rows before `edge`, in merged order. */
  private readonly rows: StreamRow[];
  /** Every row's position, in the provider's order (for offset hints). */
  private readonly positions: Position[];
  private released = false;
  private upstream: CallStream | null = null;

  constructor(
    options: StreamOptions,
    readonly window: CallWindow,
  ) {
    super(options);
    this.edge = windowEdge(window);
    const rows = window.calls.map((call) => ({ call, position: positionOf(call) }));
    this.positions = rows.map((row) => row.position);
    this.rows = rows
      .filter((row) => this.edge === null || comparePositions(row.position, this.edge) < 0)
      .sort((a, b) => comparePositions(a.position, b.position));
  }

  /** Whether any row came from the window (the page reports the window's age). */
  get servedFromWindow(): boolean {
    return this.released;
  }

  protected async fill(): Promise<void> {
    const { anchor, query } = this.options;
    if (!this.released) {
      this.released = true;
      for (const row of this.rows) {
        if (anchor && comparePositions(row.position, anchor) <= 0) continue;
        if (this.keep(row.call)) this.buffer.push(row);
      }
      // The whole list, or nothing older can match `startedAfter`: no request at all.
      if (this.edge === null || (query.startedAfter !== null && this.edge[0] < query.startedAfter.getTime())) this.done = true;
      else this.readThrough = this.edge;
      return;
    }
    // The walk has moved past its anchor already (through the window), so the upstream part is
    // stopped by a spent budget like any stream that has moved.
    this.upstream ??= openStream('forward', { ...this.options, anchor: this.edge, hint: this.hintThrough(this.edge as Position), walkMoved: true });
    await this.upstream.advance();
    for (let row = this.upstream.buffered(); row; row = this.upstream.buffered()) this.buffer.push(this.upstream.shift());
    this.readThrough = this.upstream.frontier();
    if (this.upstream.failed) this.failed = true;
    else if (this.upstream.buffered() === null && !this.upstream.blocked) this.done = true;
  }

  protected override keep(call: CallRecord): boolean {
    const { party, query } = this.options;
    // A per-party stream gets from its provider the calls with the number on its party only.
    if (party && query.phoneNumber !== null && call[party].phoneNumber !== query.phoneNumber) return false;
    return super.keep(call);
  }

  /** Offset adapters: rows at or before `position` in the window as read (a stale count costs requests, never rows). */
  override hintThrough(position: Position): number | undefined {
    if (this.adapter.capabilities.resume !== 'offset') return undefined;
    if (this.edge !== null && comparePositions(position, this.edge) > 0) return this.upstream?.hintThrough(position);
    let count = 0;
    for (const at of this.positions) if (comparePositions(at, position) <= 0) count++;
    return count;
  }

  override invalidRows(): readonly SeenInvalidRow[] {
    return this.upstream?.invalidRows() ?? [];
  }
}

/** Where a window's vouched-for positions end: before its oldest row's instant; null when it is the whole list. */
function windowEdge(window: CallWindow): Position | null {
  if (window.complete) return null;
  if (window.calls.length === 0) return END_BEFORE_ALL;
  return cutBefore(Math.min(...window.calls.map((call) => call.startedAt.getTime())));
}
// A window with no row that is not the whole list vouches for nothing.
const END_BEFORE_ALL: Position = [Number.MAX_SAFE_INTEGER, -1, '', ''];

/**
 * Whether a forward stream at `anchor` starts inside `window` (the first page: always, unless it
 * vouches for nothing), and `query` may match a row the window vouches for: a `startedBefore` at or
 * before its oldest instant (+1 ms: the bound is exclusive) leaves only calls the window does not
 * vouch for, so the page is read upstream and reports no data age (docs/live.md, "Freshness").
 */
export function windowCovers(window: CallWindow, anchor: Position | null, query?: CallQuery): boolean {
  const edge = windowEdge(window);
  if (edge === null) return true;
  if (edge === END_BEFORE_ALL) return false;
  if (query?.startedBefore && query.startedBefore.getTime() <= edge[0] + 1) return false;
  return anchor === null || comparePositions(anchor, edge) < 0;
}
