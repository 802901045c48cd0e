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
import type { UpstreamError } from '../errors.js';
import type { ProviderAdapter } from '../providers/provider.js';
import type { CursorPayload } from './cursor.js';
import type { CallQuery } from './filter.js';
import { type Position, comparePositions, connectionLabel } from './model.js';
import { type CallStream, type StreamRow, openStream } from './streams.js';

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
  };
}

function hintsAt(streams: readonly CallStream[], position: Position): Record<string, number> {
  const hints: Record<string, number> = {};
  for (const stream of streams) {
    const hint = stream.hintThrough(position);
    if (hint !== undefined) hints[connectionLabel(stream.adapter)] = hint;
  }
  return hints;
}
