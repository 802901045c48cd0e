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
 */
import { UpstreamError } from '../errors.js';
import type { ListResult, PageRef, ProviderAdapter } from '../providers/provider.js';
import { type CallQuery, matches, startedWindow, toDate } from './filter.js';
import { type CallRecord, type Position, comparePositions, positionOf } from './model.js';

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
}

const FAR_FUTURE_MS = 24 * 3600_000; // calls may be stamped slightly ahead of our clock
const FIRST_WINDOW_MS = 3600_000;
const WINDOW_GROWTH = 8;

/** A raw row with its absolute offset in the connection's unfiltered list (offset adapters). */
interface RawRow extends StreamRow {
  offset: number;
}

export abstract class CallStream {
  protected readonly buffer: StreamRow[] = [];
  protected done = false;
  failed = false;
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

  constructor(protected readonly options: StreamOptions) {}

  get adapter(): ProviderAdapter {
    return this.options.adapter;
  }

  /** The next row, fetching when the buffer is empty; null when the stream has ended. */
  async peek(): Promise<StreamRow | null> {
    while (this.buffer.length === 0 && !this.done && !this.failed) {
      try {
        await this.fill();
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        this.failed = true;
        this.options.onFailure(error);
      }
    }
    return this.buffer[0] ?? null;
  }

  /** What `peek()` would return without fetching; undefined when it would have to fetch. */
  buffered(): StreamRow | null | undefined {
    if (this.buffer.length > 0) return this.buffer[0];
    return this.done || this.failed ? null : undefined;
  }

  shift(): StreamRow {
    const row = this.buffer.shift();
    if (!row) throw new Error('shift() without a row: call peek() first');
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
    }
    this.buffer.push(...this.pending.splice(0, held));
  }

  protected keep(call: CallRecord): boolean {
    return matches(call, this.options.query);
  }

  protected pageSize(rows: number): number {
    return Math.max(1, Math.min(this.adapter.capabilities.maxPageSize, rows));
  }
}

/** Forward over a window adapter: `startedAt <= anchor time`, rows at or before the anchor dropped. */
export class ForwardWindowStream extends CallStream {
  private next: PageRef | null = { index: 0 };

  protected async fill(): Promise<void> {
    const { query, anchor, want } = this.options;
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
    });
    if (anchor === null && 'index' in page && page.index === 0) this.filterTotal = result.total;
    const rows: StreamRow[] = [];
    for (const call of result.calls) {
      const position = positionOf(call);
      if (anchor && comparePositions(position, anchor) <= 0) continue;
      if (this.keep(call)) rows.push({ call, position });
    }
    this.next = result.next;
    if (!result.next) this.done = true;
    const edge = result.calls[result.calls.length - 1];
    this.accept(rows, this.done || !edge ? null : edge.startedAt.getTime(), 1);
  }
}

/**
 * Backward over a window adapter: windows [anchor time, anchor time + Δ], Δ growing 8× each time,
 * each read whole, until enough rows are collected or the windows pass the present.
 */
export class BackwardWindowStream extends CallStream {
  private windowStart: number;
  private span = FIRST_WINDOW_MS;
  private readonly limit: number;

  constructor(options: StreamOptions) {
    super(options);
    const bounds = startedWindow(options.query);
    const anchorTime = options.anchor?.[0] ?? Number.NEGATIVE_INFINITY;
    this.windowStart = Math.max(anchorTime, bounds.from ?? Number.NEGATIVE_INFINITY);
    this.limit = bounds.until ?? Date.now() + FAR_FUTURE_MS;
    if (!Number.isFinite(this.windowStart)) throw new Error('backward window streams need an anchor');
  }

  protected async fill(): Promise<void> {
    const { query, anchor } = this.options;
    if (this.windowStart > this.limit) {
      this.done = true;
      return;
    }
    const from = this.windowStart;
    const until = Math.min(from + this.span - 1, this.limit);
    const rows: StreamRow[] = [];
    let page: PageRef | null = { index: 0 };
    while (page) {
      const result: ListResult = await this.adapter.list({
        query,
        from: new Date(from),
        until: new Date(until),
        pageSize: this.adapter.capabilities.maxPageSize,
        page,
      });
      for (const call of result.calls) {
        const t = call.startedAt.getTime();
        if (t < from || t > until) continue; // a wider window than asked: the next window has it
        const position = positionOf(call);
        if (anchor && comparePositions(position, anchor) >= 0) continue;
        if (this.keep(call)) rows.push({ call, position });
      }
      page = result.next;
    }
    // Nearest to the anchor first.
    rows.sort((a, b) => comparePositions(b.position, a.position));
    this.buffer.push(...rows);
    this.windowStart = until + 1;
    this.span *= WINDOW_GROWTH;
  }
}

/**
 * Reads a whole (filtered) list forward and yields it reversed: `last` without `before` on a
 * provider that lists newest first. Costs the whole list; see docs/pagination.md.
 */
export class BackwardFromEndStream extends CallStream {
  protected async fill(): Promise<void> {
    const forward = openStream('forward', {
      ...this.options,
      anchor: null,
      want: this.adapter.capabilities.maxPageSize,
    });
    const rows: StreamRow[] = [];
    for (let row = await forward.peek(); row; row = await forward.peek()) rows.push(forward.shift());
    if (forward.failed) this.failed = true;
    this.filterTotal = forward.filterTotal;
    for (const [offset, row] of forward.raw) this.raw.set(offset, row);
    this.rawSorted = null;
    this.buffer.push(...rows.reverse());
    this.done = true;
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

  protected async fetchPage(index: number): Promise<RawRow[]> {
    const { query } = this.options;
    const result = await this.adapter.list({
      query,
      from: null,
      until: null,
      pageSize: this.size,
      page: { index },
    });
    const rows = result.calls.map((call, i) => {
      const row: RawRow = { call, position: positionOf(call), offset: index * this.size + i };
      this.raw.set(row.offset, row);
      return row;
    });
    this.rawSorted = null;
    if (index === 0 && this.options.anchor === null) this.filterTotal = result.total;
    if (!result.next) this.endOffset = index * this.size + rows.length;
    return rows;
  }
}

/** Forward over an offset adapter, starting one row before the hinted offset. */
export class ForwardOffsetStream extends OffsetStream {
  private started = false;

  protected async fill(): Promise<void> {
    const { anchor, hint, want } = this.options;
    let rows: RawRow[];
    if (!this.started) {
      this.started = true;
      const start = anchor && hint !== undefined ? Math.max(0, hint - 1) : 0;
      this.size = alignedPageSize(start, start + want, this.adapter.capabilities.maxPageSize);
      this.lowPage = this.highPage = Math.floor(start / this.size);
      rows = await this.fetchPage(this.highPage);
      // The row before the hinted offset must be at or before the anchor, or rows were skipped.
      while (anchor && this.lowPage > 0 && (rows.length === 0 || comparePositions(rows[0]!.position, anchor) > 0)) {
        this.lowPage -= 1;
        rows = [...(await this.fetchPage(this.lowPage)), ...rows];
      }
    } else {
      this.highPage += 1;
      rows = await this.fetchPage(this.highPage);
    }
    const kept: StreamRow[] = [];
    for (const row of rows) {
      if (anchor && comparePositions(row.position, anchor) <= 0) continue;
      if (this.keep(row.call)) kept.push({ call: row.call, position: row.position });
    }
    if (this.endOffset !== null && (this.highPage + 1) * this.size >= this.endOffset) this.done = true;
    const edge = rows[rows.length - 1];
    this.accept(kept, this.done || !edge ? null : edge.call.startedAt.getTime(), 1);
  }
}

/**
 * Backward over an offset adapter from an anchor: find where the anchor sits now (the hint, moved
 * down by calls that arrived since), then read pages upward from there.
 */
export class BackwardOffsetStream extends OffsetStream {
  private nextUp: number | null = null; // the next page to read going up

  protected async fill(): Promise<void> {
    const anchor = this.options.anchor as Position;
    if (this.nextUp === null) {
      const hint = this.options.hint ?? 0;
      const top = Math.max(0, hint - 1 - this.options.want);
      this.size = alignedPageSize(top, Math.max(top, hint - 1), this.adapter.capabilities.maxPageSize);
      let index = Math.floor(Math.max(0, hint - 1) / this.size);
      let rows = await this.fetchPage(index);
      // Calls that arrived since push the anchor down: read on until a row after it and after its
      // instant. The provider orders ties its own way: a sibling of the anchor's instant that comes
      // before it in our order may follow it upstream, on the next page.
      const beyond = (row: RawRow) => comparePositions(row.position, anchor) > 0 && row.position[0] !== anchor[0];
      while (
        rows.length > 0 &&
        !beyond(rows[rows.length - 1]!) &&
        (this.endOffset === null || (index + 1) * this.size < this.endOffset)
      ) {
        index += 1;
        rows = await this.fetchPage(index);
      }
      this.take(index);
      this.nextUp = index - 1;
    } else {
      await this.fetchPage(this.nextUp);
      this.take(this.nextUp);
      this.nextUp -= 1;
    }
    if (this.nextUp < 0) this.done = true;
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
    const top = this.raw.get(index * this.size);
    this.accept(rows, index > 0 && top ? top.call.startedAt.getTime() : null, -1);
  }
}

/** The stream for one connection, direction and anchor. */
export function openStream(direction: 'forward' | 'backward', options: StreamOptions): CallStream {
  const resume = options.adapter.capabilities.resume;
  if (direction === 'forward') {
    return resume === 'offset' ? new ForwardOffsetStream(options) : new ForwardWindowStream(options);
  }
  if (options.anchor === null) return new BackwardFromEndStream(options);
  return resume === 'offset' ? new BackwardOffsetStream(options) : new BackwardWindowStream(options);
}
