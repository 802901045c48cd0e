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
 * Rows that did not read (`ListResult.invalid`) are not rows of the stream: they yield nothing and
 * move no cursor. Offsets count them (they are the provider's rows), and each is kept with the
 * positions it can hold — its own when its start and key read, else between the readable rows
 * read around it — so the merge can report it on the pages that would have held it.
 */
import { type InvalidRowError, UpstreamError } from '../errors.js';
import type { InvalidRow, ListResult, PageRef, ProviderAdapter } from '../providers/provider.js';
import { type CallQuery, matches, startedWindow, toDate } from './filter.js';
import { type CallRecord, type ConnectionRef, PROVIDERS, type Position, comparePositions, positionOf, providerRank } from './model.js';

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
/**
 * Rows that do not read, one after the other, past which the connection's answer is unreadable as a
 * whole (BAD_BODY): a format the provider changed for every row is its failure, not a reason to read
 * its whole history row by row.
 */
export const MAX_UNREADABLE_RUN = 100;
const FIRST_WINDOW_MS = 3600_000;
const WINDOW_GROWTH = 8;

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

// "Any position at instant t": before, and after, every position of that instant.
const firstAt = (t: number): Position => [t, -1, '', ''];
const lastAt = (t: number): Position => [t, PROVIDERS.length, '', ''];

/** A bad row's own place, when its start reads: its position (with its key), else its instant; null otherwise. */
function ownPlace(row: InvalidRow, ref: ConnectionRef): SeenInvalidRow | null {
  if (row.startedAt === null) return null;
  const t = row.startedAt.getTime();
  if (row.key === null) return { error: row.error, newest: firstAt(t), oldest: lastAt(t) };
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
        const placed: SeenInvalidRow = { error: row.error, newest: this.newer && firstAt(this.newer[0]), oldest: null };
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

  constructor(protected readonly options: StreamOptions) {}

  get adapter(): ProviderAdapter {
    return this.options.adapter;
  }

  /** Every unreadable row this stream has read, with the positions it can hold. */
  invalidRows(): readonly SeenInvalidRow[] {
    return this.seenInvalid;
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
}

/** Forward over a window adapter: `startedAt <= anchor time`, rows at or before the anchor dropped. */
export class ForwardWindowStream extends CallStream {
  private next: PageRef | null = { index: 0 };
  private readonly run = new RowRun(this.options.adapter, this.seenInvalid);

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
    // Each window is its own read: windows wider than asked overlap, so rows are placed within one.
    const run = new RowRun(this.adapter, this.seenInvalid);
    let page: PageRef | null = { index: 0 };
    while (page) {
      const result: ListResult = await this.adapter.list({
        query,
        from: new Date(from),
        until: new Date(until),
        pageSize: this.adapter.capabilities.maxPageSize,
        page,
      });
      const positions: Position[] = [];
      for (const call of result.calls) {
        const position = positionOf(call);
        positions.push(position);
        const t = call.startedAt.getTime();
        if (t < from || t > until) continue; // a wider window than asked: the next window has it
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
    this.windowStart = until + 1;
    this.span *= WINDOW_GROWTH;
  }
}

/**
 * Reads a whole (filtered) list forward and yields it reversed: `last` without `before` on a
 * provider that lists newest first. Costs the whole list; see docs/pagination.md.
 */
export class BackwardFromEndStream extends CallStream {
  private forward: CallStream | null = null;

  override invalidRows(): readonly SeenInvalidRow[] {
    return this.forward?.invalidRows() ?? [];
  }

  protected async fill(): Promise<void> {
    const forward = openStream('forward', {
      ...this.options,
      anchor: null,
      want: this.adapter.capabilities.maxPageSize,
    });
    this.forward = forward;
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
  /** Rows that did not read, by absolute offset: they hold their offset like any row. */
  private readonly rawInvalid = new Map<number, InvalidRow>();

  protected async fetchPage(index: number): Promise<RawRow[]> {
    const { query } = this.options;
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
      seen.push({ error: row.error, newest: newer && firstAt(newer[0]), oldest: older && lastAt(older[0]) });
    }
    return seen;
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
    // The page's first readable row marks its edge (a row above it that did not read has no time).
    let top: RawRow | undefined;
    for (let offset = index * this.size; !top && offset < (index + 1) * this.size; offset++) top = this.raw.get(offset);
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
