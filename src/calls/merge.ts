/**
 * `calls`: one list across every connection, newest first, paged by the GraphQL Cursor Connections
 * Specification. Each connection is a stream (./streams.ts) positioned after (or before) the cursor;
 * the merge takes the next row from whichever stream holds it, until the page plus one row is full —
 * the extra row is what makes `hasNextPage` (under `first`) and `hasPreviousPage` (under `last`)
 * exact: the spec's "more than first/last edges between the cursors" (relay.dev/graphql/
 * connections.htm, PageInfo), so reaching the opposite cursor is not "more". The other flag is the
 * spec's "can efficiently know": true when the opposite cursor is given (its own call lies beyond).
 * All streams fetch their first page in parallel; later pages only when the merge reaches them.
 */
import type { InvalidRowError, UpstreamError } from '../errors.js';
import type { ProviderAdapter } from '../providers/provider.js';
import type { CursorPayload } from './cursor.js';
import { type CallQuery, startedWindow } from './filter.js';
import { type Position, comparePositions, connectionLabel } from './model.js';
import { type CallStream, type SeenInvalidRow, type StreamRow, openStream } from './streams.js';

export interface MergeRequest {
  adapters: readonly ProviderAdapter[];
  query: CallQuery;
  /** `forward` for first/after, `backward` for last/before. */
  direction: 'forward' | 'backward';
  size: number;
  after: CursorPayload | null;
  before: CursorPayload | null;
  onFailure: (error: UpstreamError) => void;
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
  /** Per connection: the provider's count for the filter when a request reported it. */
  streams: readonly CallStream[];
  /**
   * Connections whose calls this walk has skipped: those that failed on this page, plus those the
   * cursors name as failed on earlier pages. Carried in every cursor of the page.
   */
  missing: string[];
  /** Rows that did not read and may belong on this page (see `invalidOnPage`), once each. */
  invalid: InvalidRowError[];
}

/**
 * The positions a page stands for, each end a bound (inclusive or not) or null (unbounded): from
 * the `after` cursor (exclusive) to its last edge, or — when nothing follows — to `before` or the
 * end; backward likewise. Consecutive pages of a walk stand for adjacent ranges, so every position
 * falls on exactly one page of a walk.
 */
interface PageSpan {
  newest: { position: Position; inclusive: boolean } | null;
  oldest: { position: Position; inclusive: boolean } | null;
}

export async function mergePage(request: MergeRequest): Promise<MergedPage> {
  const { direction, size, after, before } = request;
  const forward = direction === 'forward';
  const anchor = forward ? after : before;
  const stop = forward ? before : after; // a bound the page must not cross
  const streams = request.adapters.map((adapter) =>
    openStream(direction, {
      adapter,
      query: request.query,
      want: size + 1,
      anchor: anchor?.position ?? null,
      hint: anchor?.hints[connectionLabel(adapter)],
      onFailure: request.onFailure,
    }),
  );

  const taken: StreamRow[] = [];
  while (taken.length < size + 1) {
    // Awaits only when a stream must fetch: most rows come from buffers (fewer microtasks per row).
    let heads = streams.map((stream) => stream.buffered());
    if (heads.includes(undefined)) heads = await Promise.all(streams.map((stream) => stream.peek()));
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (!head) continue;
      const current = best < 0 ? null : heads[best]!;
      if (!current || (forward ? 1 : -1) * comparePositions(head.position, current.position) < 0) best = i;
    }
    if (best < 0) break;
    const head = heads[best]!;
    if (stop && (forward ? 1 : -1) * comparePositions(head.position, stop.position) >= 0) break;
    taken.push(streams[best]!.shift());
  }

  const more = taken.length > size;
  const rows = taken.slice(0, size);
  if (!forward) rows.reverse();
  const edges = rows.map((row) => ({ row, hints: hintsAt(streams, row.position) }));
  const exclusive = (cursor: CursorPayload | null) => cursor && { position: cursor.position, inclusive: false };
  const edge = (row: StreamRow | undefined) => (row ? { position: row.position, inclusive: true } : null);
  const span: PageSpan = forward
    ? { newest: exclusive(after), oldest: more ? edge(rows[rows.length - 1]) : exclusive(before) }
    : { newest: more ? edge(rows[0]) : exclusive(after), oldest: exclusive(before) };
  return {
    edges,
    hasNextPage: forward ? more : before !== null,
    hasPreviousPage: forward ? after !== null : more,
    streams,
    missing: [
      ...new Set([
        ...(after?.missing ?? []),
        ...(before?.missing ?? []),
        ...streams.filter((s) => s.failed).map((s) => connectionLabel(s.adapter)),
      ]),
    ].sort(),
    // A page of no rows stands for no positions.
    invalid: size === 0 ? [] : invalidOnPage(streams, span, request.query),
  };
}

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
    const hint = stream.hintThrough(position);
    if (hint !== undefined) hints[connectionLabel(stream.adapter)] = hint;
  }
  return hints;
}
