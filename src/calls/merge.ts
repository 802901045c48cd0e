/**
 * `calls`: one list across every connection, newest first, paged by the GraphQL Cursor Connections
 * Specification. Each connection is a stream (./streams.ts) positioned after (or before) the cursor;
 * the merge takes the next row from whichever stream holds it, until the page plus one row is full —
 * the extra row is what makes `hasNextPage` (under `first`) and `hasPreviousPage` (under `last`)
 * exact. All streams fetch their first page in parallel; later pages only when the merge reaches them.
 *
 * The scan budget (./budget.ts) may stop a stream before the page is full. The merge then stops at
 * the earliest point it can vouch for — the frontier: every matching call before it is on the page —
 * and the page ends there, short, with a cursor at the frontier to continue from (docs/pagination.md).
 */
import type { InvalidRowError, UpstreamError } from '../errors.js';
import type { ProviderAdapter } from './adapter.js';
import type { ScanBudget } from './budget.js';
import type { CursorPayload } from './cursor.js';
import { type CallQuery, startedWindow } from './filter.js';
import { END_OF_LIST, type Position, comparePositions, connectionLabel } from './model.js';
import { type CallStream, type CallWindow, type SeenInvalidRow, type StreamRow, WindowStream, openStream } from './streams.js';

export interface MergeRequest {
  adapters: readonly ProviderAdapter[];
  query: CallQuery;
  /** `forward` for first/after, `backward` for last/before. */
  direction: 'forward' | 'backward';
  size: number;
  after: CursorPayload | null;
  before: CursorPayload | null;
  onFailure: (error: UpstreamError) => void;
  /** The GraphQL request's list-request budget; unbounded when absent. */
  budget?: ScanBudget;
  /**
   * Watched connections' windows, by label, fresh enough to serve (src/resolvers/callsPage.ts): a
   * forward page whose anchor is inside one starts there (`WindowStream`). Backward pages ignore them.
   */
  windows?: ReadonlyMap<string, CallWindow>;
}

export interface MergedEdge {
  row: StreamRow;
  /** Offset hints of this edge's position, for its cursor. */
  hints: Record<string, number>;
}

export interface MergedPage {
  /** Newest first. */
  edges: MergedEdge[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  /** Every stream the page read (a connection's count for the filter, when a request reported it). */
  streams: readonly CallStream[];
  /**
   * Connections whose calls this walk has skipped: those that failed on this page, plus those the
   * cursors name as failed on earlier pages. Carried in every cursor of the page.
   */
  missing: string[];
  /**
   * Set when the scan budget stopped the page short: where to continue (the page's `endCursor`
   * forward, its `startCursor` backward), with no edge of its own.
   */
  frontier: Omit<CursorPayload, 'missing'> | null;
  /** Labels of the connections whose budget ran out on this page. */
  limited: string[];
  /** Rows that did not read and may belong on this page (see `invalidOnPage`), once each. */
  invalid: InvalidRowError[];
  /** The windows this page was served from (in part), by connection label. */
  windowed: Map<string, CallWindow>;
}

/**
 * The positions a page stands for, each end a bound (inclusive or not) or null (unbounded): from
 * the `after` cursor (exclusive) to its last edge, or — when nothing follows — to `before`, the
 * frontier of a page the scan budget cut (inclusive: no call sits there) or the end; backward
 * likewise. Consecutive pages of a walk stand for adjacent ranges, so every position falls on
 * exactly one page of a walk.
 */
interface PageSpan {
  newest: { position: Position; inclusive: boolean } | null;
  oldest: { position: Position; inclusive: boolean } | null;
}

type SpanEnd = PageSpan['newest'];
const exclusive = (cursor: { position: Position } | null): SpanEnd => cursor && { position: cursor.position, inclusive: false };
const inclusive = (at: { position: Position } | null | undefined): SpanEnd => (at ? { position: at.position, inclusive: true } : null);

export async function mergePage(request: MergeRequest): Promise<MergedPage> {
  const { direction, size, after, before } = request;
  // `last` without `before` (or with the end-of-list cursor of such a scan): the oldest calls.
  if (direction === 'backward' && (before === null || before.resume)) return lastPage(request);
  const forward = direction === 'forward';
  const anchor = forward ? after : before;
  const stop = forward ? before : after; // a bound the page must not cross
  // Nothing follows the end of the list.
  const streams = forward && after?.resume ? [] : openStreams(request, direction, anchor, size + 1, false, forward);
  const walked = await walk(streams, forward, stop?.position ?? null, size + 1);

  const more = walked.count > size;
  const rows = walked.rows.slice(0, size);
  if (!forward) rows.reverse();
  const short = walked.cut !== null;
  // Where the page ends, away from its anchor: its last row when more follow, else the cut or the bound.
  const far = more ? inclusive(forward ? rows[rows.length - 1] : rows[0]) : short ? inclusive(walked.cut) : exclusive(stop);
  const span: PageSpan = forward ? { newest: exclusive(after), oldest: far } : { newest: far, oldest: exclusive(before) };
  return {
    edges: rows.map((row) => ({ row, hints: hintsAt(streams, row.position) })),
    // Reaching the other cursor is not "more": the Cursor Connections algorithm counts only calls
    // past `first`/`last` (docs/pagination.md). A page the budget cut short has more.
    hasNextPage: forward ? more || short : before !== null,
    hasPreviousPage: forward ? after !== null : more || short,
    streams,
    missing: missingOf(request, streams),
    frontier: walked.cut && frontierAt(streams, walked.cut),
    limited: limitedOf(streams),
    // A page of no rows stands for no positions.
    invalid: size === 0 ? [] : invalidOnPage(streams, span, request.query),
    windowed: windowedBy(streams),
  };
}

/** The windows the streams served rows from, by connection label. */
function windowedBy(streams: readonly CallStream[]): Map<string, CallWindow> {
  const windowed = new Map<string, CallWindow>();
  for (const stream of streams) if (stream instanceof WindowStream && stream.servedFromWindow) windowed.set(stream.label, stream.window);
  return windowed;
}

/**
 * The oldest calls (after `after`, when given). Providers list newest first, so the tail is found by
 * reading forward to the end, keeping the last `size + 1` rows. When the budget stops that read,
 * the page is empty and its `startCursor` is the end of the list carrying where the read got to
 * (`resume`); `last`/`before` with it reads on from there. Should the rows past that point be too
 * few for the page, the rest are the nearest ones before it, read backward from it.
 */
async function lastPage(request: MergeRequest): Promise<MergedPage> {
  const { size, after, before } = request;
  const resume = before?.resume ? { position: before.resume, hints: before.hints } : null;
  const fromResume = resume !== null && (after === null || comparePositions(resume.position, after.position) > 0);
  const forward = openStreams(request, 'forward', fromResume ? resume : after, Number.POSITIVE_INFINITY);
  const tail = await walk(forward, true, null, size + 1, true);
  if (tail.cut) {
    return {
      edges: [],
      hasNextPage: false,
      hasPreviousPage: true,
      streams: forward,
      missing: missingOf(request, forward),
      frontier: { position: END_OF_LIST, hints: hintsAt(forward, tail.cut.position), resume: tail.cut.position },
      limited: limitedOf(forward),
      // What the read covered, from where it started to where the budget stopped it.
      invalid: invalidOnPage(forward, { newest: exclusive(fromResume ? resume : after), oldest: inclusive(tail.cut) }, request.query),
      windowed: new Map(),
    };
  }
  let rows = tail.rows; // newest first
  let count = tail.count;
  let streams = forward;
  let frontier: MergedPage['frontier'] = null;
  if (fromResume && count <= size) {
    // The tail is on this page: these streams move the walk no further than the budget lets them.
    const backward = openStreams(request, 'backward', resume, size + 1 - count, true);
    const head = await walk(backward, false, after?.position ?? null, size + 1 - count);
    rows = [...head.rows.reverse(), ...rows];
    count += head.count;
    streams = [...forward, ...backward];
    if (head.cut) frontier = frontierAt(streams, head.cut);
  }
  const page = rows.slice(Math.max(0, rows.length - size));
  // From the page's first row (more precede it), else from where the reads began, to the end.
  const newest = count > size ? inclusive(page[0]) : frontier ? inclusive(frontier) : exclusive(after);
  return {
    edges: page.map((row) => ({ row, hints: hintsAt(streams, row.position) })),
    hasNextPage: false,
    hasPreviousPage: count > size || frontier !== null,
    streams,
    missing: missingOf(request, streams),
    frontier,
    limited: limitedOf(streams),
    invalid: size === 0 ? [] : invalidOnPage(streams, { newest, oldest: null }, request.query),
    windowed: new Map(),
  };
}

/**
 * One stream per connection (two for a `per-party` adapter with a number filter: one per party),
 * at `anchor`, wanting `want` rows; `windowed`: starting in the connection's window where it has one.
 */
function openStreams(
  request: MergeRequest,
  direction: 'forward' | 'backward',
  anchor: Omit<CursorPayload, 'missing'> | null,
  want: number,
  walkMoved = false,
  windowed = false,
): CallStream[] {
  return request.adapters.flatMap((adapter) => {
    const parties =
      request.query.phoneNumber !== null && adapter.capabilities.numberFilter === 'per-party' ? (['from', 'to'] as const) : [undefined];
    return parties.map((party) =>
      openStream(direction, {
        adapter,
        query: request.query,
        want,
        anchor: anchor?.position ?? null,
        hint: anchor?.hints[connectionLabel(adapter)],
        onFailure: request.onFailure,
        ...(request.budget ? { budget: request.budget } : {}),
        ...(party ? { party } : {}),
        ...(anchor?.span ? { span: anchor.span } : {}),
        ...(walkMoved ? { walkMoved } : {}),
      }, windowed ? request.windows?.get(connectionLabel(adapter)) : null),
    );
  });
}

interface Walked {
  /** Rows taken, in walk order; with `keepLast`, only the last `limit` of them. */
  rows: StreamRow[];
  /** Rows taken in all. */
  count: number;
  /** Where a blocked stream stopped the walk (every matching row before it was taken), and that stream. */
  cut: { position: Position; stream: CallStream } | null;
}

/**
 * Takes rows in merged order (newest first forward, oldest first backward) until `limit` rows,
 * the `stop` bound, the end of every stream, or a blocked stream's frontier — whichever comes
 * first. With `keepLast` it reads to the end, keeping the last `limit` rows.
 *
 * A stream reads on only when it may hold the next row: when it has not read as far as the
 * nearest row buffered elsewhere. Those streams read at once, in parallel (all of them on the
 * first round); a stream already ahead waits, so a sparse filter does not make one connection
 * read far past the others, only to read it again on the next page.
 */
async function walk(
  streams: readonly CallStream[],
  forward: boolean,
  stop: Position | null,
  limit: number,
  keepLast = false,
): Promise<Walked> {
  const order = forward ? 1 : -1;
  const rows: StreamRow[] = [];
  let count = 0;
  let last: Position | null = null;
  while (keepLast || count < limit) {
    const heads = streams.map((stream) => stream.buffered());
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head && (best < 0 || order * comparePositions(head.position, heads[best]!.position) < 0)) best = i;
    }
    // How far the walk may go now: the nearest row, a blocked stream's frontier, or the stop bound.
    let bound: Position | null = best < 0 ? null : heads[best]!.position;
    let reason: 'row' | 'end' | 'stop' | 'cut' = best < 0 ? 'end' : 'row';
    let blocked: CallStream | null = null;
    for (let i = 0; i < heads.length; i++) {
      const stream = streams[i]!;
      if (heads[i] !== null || !stream.blocked) continue;
      const frontier = stream.frontier() as Position; // set: a stream is blocked only once it has moved
      if (bound === null || order * comparePositions(frontier, bound) < 0) {
        bound = frontier;
        reason = 'cut';
        blocked = stream;
      }
    }
    if (stop && bound !== null && order * comparePositions(bound, stop) >= 0) {
      bound = stop;
      reason = 'stop';
    }
    // Streams that have not read that far may hold a nearer row: they read on first.
    const reading: Promise<void>[] = [];
    for (let i = 0; i < heads.length; i++) {
      if (heads[i] !== undefined) continue;
      const frontier = streams[i]!.frontier();
      if (frontier === null || bound === null || order * comparePositions(frontier, bound) < 0) reading.push(streams[i]!.advance());
    }
    if (reading.length > 0) {
      await Promise.all(reading);
      continue;
    }
    if (reason === 'end') break;
    if (reason === 'stop') return { rows, count, cut: null };
    if (reason === 'cut') return { rows, count, cut: { position: bound!, stream: blocked! } };
    const row = streams[best]!.shift();
    // The same call from both party streams of one connection.
    if (last && comparePositions(row.position, last) === 0) continue;
    last = row.position;
    rows.push(row);
    count++;
    if (keepLast && rows.length > limit) rows.shift();
  }
  return { rows, count, cut: null };
}

/** The cursor payload of a cut: its position, the offset hints there, and (backward) the window span. */
function frontierAt(streams: readonly CallStream[], cut: NonNullable<Walked['cut']>): NonNullable<MergedPage['frontier']> {
  const span = cut.stream.resumeSpan();
  return { position: cut.position, hints: hintsAt(streams, cut.position), ...(span ? { span } : {}) };
}

function missingOf(request: MergeRequest, streams: readonly CallStream[]): string[] {
  return [
    ...new Set([
      ...(request.after?.missing ?? []),
      ...(request.before?.missing ?? []),
      ...streams.filter((s) => s.failed).map((s) => s.label),
    ]),
  ].sort();
}

const limitedOf = (streams: readonly CallStream[]): string[] =>
  [...new Set(streams.filter((s) => s.blocked).map((s) => s.label))].sort();

/**
 * The unreadable rows the streams read that may belong on this page: those whose possible positions
 * overlap the page's span and the filter's time window. A bad row without a start of its own may
 * lie anywhere between the readable rows around it, so every page standing for part of that stretch
 * reports it; a walk over every page reports each at least once (docs/pagination.md).
 */
function invalidOnPage(streams: readonly CallStream[], span: PageSpan, query: CallQuery): InvalidRowError[] {
  const window = startedWindow(query);
  const found = new Map<string, InvalidRowError>();
  for (const stream of streams) {
    // A connection that failed is named as such (PROVIDER_UNAVAILABLE); its rows are not listed too.
    if (stream.failed) continue;
    for (const row of stream.invalidRows()) {
      const key = `${row.error.provider}|${row.error.connection}|${row.error.fingerprint}`;
      if (!found.has(key) && overlaps(row, span, window)) found.set(key, row.error);
    }
  }
  return [...found.values()];
}

function overlaps(row: SeenInvalidRow, span: PageSpan, window: { from: number | null; until: number | null }): boolean {
  const { newest, oldest } = row;
  // Its instants, [oldest, newest], against the filter's (the core's own time filter, inclusive).
  if (oldest && window.until !== null && oldest[0] > window.until) return false;
  if (newest && window.from !== null && newest[0] < window.from) return false;
  // Its positions against the page's: its oldest not before the page's newest end, its newest not past the oldest end.
  if (oldest && span.newest) {
    const order = comparePositions(oldest, span.newest.position);
    if (order < 0 || (order === 0 && !span.newest.inclusive)) return false;
  }
  if (newest && span.oldest) {
    const order = comparePositions(newest, span.oldest.position);
    if (order > 0 || (order === 0 && !span.oldest.inclusive)) return false;
  }
  return true;
}

function hintsAt(streams: readonly CallStream[], position: Position): Record<string, number> {
  const hints: Record<string, number> = {};
  for (const stream of streams) {
    const { label } = stream;
    if (label in hints) continue;
    const hint = stream.hintThrough(position);
    if (hint !== undefined) hints[label] = hint;
  }
  return hints;
}
