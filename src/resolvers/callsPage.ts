/**
 * `Query.calls`: arguments checked, cursors decoded, the merge run, and the page shaped as a
 * connection. The rules of the GraphQL Cursor Connections Specification plus the contract's:
 * `first`/`last` default to 20, at most 100, never both.
 */
import type { QueryCallsArgs } from '../__generated__/resolvers-types.js';
import type { RequestContext } from '../context.js';
import { BadInputError, UpstreamError, type Warning, WarningCode } from '../errors.js';
import type { CursorBinding, CursorPayload } from '../calls/cursor.js';
import { type CallQuery, includesProvider, queryFingerprint, startedWindow, toCallQuery, toDate } from '../calls/filter.js';
import { mergePage } from '../calls/merge.js';
import type { CallStream, CallWindow } from '../calls/streams.js';
import type { CallEdgeModel, CallPage, CallRecord } from '../calls/model.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function pageSize(name: 'first' | 'last', value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (value < 0 || value > MAX_PAGE_SIZE) {
    throw new BadInputError(name, `must be between 0 and ${MAX_PAGE_SIZE}, got ${value}`);
  }
  return value;
}

/**
 * `countTotal`: the query selects `totalCount`. A page after (or before) a cursor cannot reuse its
 * own responses' counts, so the count requests then go out alongside the page, not after it.
 * `path`: the field's response path (its alias), for the errors and warnings it reports.
 */
export async function callsPage(
  args: QueryCallsArgs,
  ctx: RequestContext,
  options: { countTotal?: boolean; path?: readonly (string | number)[] } = {},
): Promise<CallPage> {
  const path = options.path ?? ['calls'];
  const first = pageSize('first', args.first);
  const last = pageSize('last', args.last);
  if (first !== null && last !== null) {
    throw new BadInputError('first', 'cannot be combined with "last"; page forward with first/after or backward with last/before');
  }
  const query = toCallQuery(args.filter);
  const binding: CursorBinding = { filter: queryFingerprint(query), scope: ctx.scopeId };
  const { cursors } = ctx.services;
  const after = args.after ? cursors.decode(args.after, binding, 'after') : null;
  const before = args.before ? cursors.decode(args.before, binding, 'before') : null;
  // Without a size, page backward only when asked to end before a cursor and nothing else.
  const backward = last !== null || (first === null && before !== null && after === null);
  const size = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;

  const connections = ctx.visible.filter((c) => includesProvider(query, c.ref.provider)).map((c) => ctx.connection(c.ref)!);
  const anchored = (backward ? before : after) !== null;
  // The newest page, of the connections this key may see and this filter includes: what the
  // `demand` watch policy counts (docs/live.md, "Cost of watching").
  if (!backward && after === null && before === null) ctx.services.watchDemand?.firstPageAsked(connections.map((c) => c.ref));
  let total: Promise<number | null> | undefined =
    options.countTotal && anchored ? totalCount(ctx, connections, query, [], path) : undefined;
  total?.catch(() => {}); // awaited by the totalCount resolver; never an unhandled rejection meanwhile
  // Registered before the first await: look-ups of sibling root fields wait for these rows.
  const merged = await ctx.loaders.listing(
    freshWindows(ctx, backward ? [] : connections).then((windows) => mergePage({
      adapters: connections.map((c) => c.adapter),
      query,
      direction: backward ? 'backward' : 'forward',
      size,
      after,
      before,
      onFailure: (error) => ctx.upstreamFailures.push({ error, path }),
      budget: ctx.scanBudget,
      windows,
    })).then((page) => {
      for (const connection of connections) {
        ctx.loaders.prime(
          connection,
          page.edges.map((e) => e.row.call),
        );
      }
      return page;
    }),
  );
  reportEarlierGaps(ctx, connections, [after, before], path);
  const now = Date.now();
  for (const [label, window] of merged.windowed) {
    ctx.dataAge[label] = Math.max(ctx.dataAge[label] ?? 0, Math.max(0, now - window.readAt) / 1000);
  }
  // Rows that did not read: named beside the rows that did, on every page that may have held them.
  for (const error of merged.invalid) ctx.upstreamFailures.push({ error, path });
  const edges = merged.edges.map(
    ({ row, hints }) => new Edge(row.call, () => cursors.encode({ position: row.position, hints, missing: merged.missing }, binding)),
  );
  // A page the scan budget cut short ends at its frontier: the cursor to go on from, on the side the
  // walk was heading (endCursor forward, startCursor backward), with no edge of its own.
  const { frontier } = merged;
  let frontierCursor: string | undefined;
  const atFrontier = () => (frontierCursor ??= cursors.encode({ ...frontier!, missing: merged.missing }, binding));
  if (frontier) ctx.warnings.push(scanLimited(path, backward, merged.limited, ctx.scanBudget.perConnection));

  return {
    edges,
    nodes: edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: merged.hasNextPage,
      hasPreviousPage: merged.hasPreviousPage,
      get startCursor() {
        return frontier && backward ? atFrontier() : (edges[0]?.cursor ?? null);
      },
      get endCursor() {
        return frontier && !backward ? atFrontier() : (edges[edges.length - 1]?.cursor ?? null);
      },
    },
    totalCount: () => (total ??= totalCount(ctx, connections, query, merged.streams, path)),
  };
}

/**
 * The windows of `connections` young enough to serve from (`Services.windows`; docs/live.md,
 * "Freshness"), and whose rows' signed media links are not about to expire, by label. A connection nobody watches has none; one whose watcher has not read
 * successfully for longer than its `maxDataAge` (failing upstream, say) is read upstream instead.
 */
async function freshWindows(ctx: RequestContext, connections: RequestContext['visible']): Promise<Map<string, CallWindow>> {
  const fresh = new Map<string, CallWindow>();
  const source = ctx.services.windows;
  if (!source) return fresh;
  await Promise.all(
    connections.map(async ({ label }) => {
      const maxAgeMs = source.maxAgeMs(label);
      if (maxAgeMs <= 0) return;
      const window = await source.window(label);
      const now = Date.now();
      // A signed media link in it about to expire: read upstream, for links that work.
      if (window && now - window.readAt <= maxAgeMs && (window.servableUntil === null || now < window.servableUntil)) fresh.set(label, window);
    }),
  );
  return fresh;
}

/** The warning of a page the scan budget cut short. */
function scanLimited(path: readonly (string | number)[], backward: boolean, connections: string[], budget: number): Warning {
  const [cursor, argument] = backward ? ['startCursor', 'before'] : ['endCursor', 'after'];
  return {
    code: WarningCode.ScanLimited,
    message:
      `Stopped reading after ${budget} upstream requests to ${connections.join(', ')}: this page may hold fewer calls ` +
      `than asked for, and more may follow. Continue with ${argument}: pageInfo.${cursor}; no call is skipped or repeated.`,
    path,
    connections,
  };
}

/** An edge whose cursor is signed when first read: a page read through `nodes` signs none. */
class Edge implements CallEdgeModel {
  private signed: string | undefined;
  constructor(
    readonly node: CallRecord,
    private readonly sign: () => string,
  ) {}

  get cursor(): string {
    return (this.signed ??= this.sign());
  }
}

/**
 * Exact when every connection involved applies the whole filter upstream and reports a count;
 * otherwise null. Reuses a count the page's own requests reported; else asks for one row.
 */
async function totalCount(
  ctx: RequestContext,
  connections: RequestContext['visible'],
  query: CallQuery,
  streams: readonly CallStream[],
  path: readonly (string | number)[],
): Promise<number | null> {
  const exact = (c: (typeof connections)[number]) => c.adapter.capabilities.reportsTotal && c.adapter.appliesExactly(query);
  if (!connections.every(exact)) return null;
  const window = startedWindow(query);
  const counts = await Promise.all(
    connections.map(async (connection) => {
      const known = streams.find((s) => s.adapter === connection.adapter)?.filterTotal;
      if (known !== null && known !== undefined) return known;
      try {
        const result = await connection.adapter.list({
          query,
          from: toDate(window.from),
          until: toDate(window.until),
          pageSize: 1,
          page: { index: 0 },
        });
        return result.total;
      } catch (error) {
        if (error instanceof UpstreamError) {
          ctx.upstreamFailures.push({ error, path: [...path, 'totalCount'] });
          return null;
        }
        throw error;
      }
    }),
  );
  return counts.every((c) => c !== null) ? counts.reduce((a, b) => a + (b as number), 0) : null;
}

/**
 * A cursor naming connections that failed on an earlier page of the walk: their calls before the
 * cursor were never returned, so this page says so (PROVIDER_UNAVAILABLE naming the connection)
 * rather than letting the walk end looking complete.
 */
function reportEarlierGaps(
  ctx: RequestContext,
  connections: RequestContext['visible'],
  cursors: readonly (CursorPayload | null)[],
  path: readonly (string | number)[],
): void {
  const labels = new Set(cursors.flatMap((c) => c?.missing ?? []));
  for (const connection of connections) {
    if (!labels.has(connection.label)) continue;
    const ref = { provider: connection.adapter.provider, connection: connection.adapter.connection };
    ctx.upstreamFailures.push({ error: new UpstreamError(ref, 'EARLIER_PAGE_FAILED'), path });
  }
}
