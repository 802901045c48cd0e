/**
 * Watching one connection (docs/live.md, "Watching"): every interval, read its newest page through
 * its adapter (so the connection's breaker, concurrency cap, retries and Retry-After apply; more
 * pages while a whole page is calls not seen before), for a list that shows only ended calls one
 * page of a rolling sweep over the recent past (`sweepRange`), re-read the calls seen in progress
 * that have left that page, and diff what came back against what was seen before. The diff (`diffObservation`) is pure: observations in, `CallEvent`s and the next
 * state out. The state is plain JSON, so that with Redis another replica can take over from it
 * (src/live/source.ts).
 *
 * The rules (the contract, docs/live.md):
 * - the calls of the first observation are the baseline: never announced, nor are their changes,
 *   so that every CALL_UPDATED and CALL_ENDED follows its call's CALL_ADDED;
 * - a call seen for the first time: CALL_ADDED, then CALL_ENDED in the same observation when it is
 *   already in a final status;
 * - a call seen before whose contract fields differ: CALL_ENDED when it is now in a final status
 *   and had not ended, else CALL_UPDATED;
 * - events in `startedAt` order (then key), a call's CALL_ADDED before its CALL_ENDED.
 */
import { createHash } from 'node:crypto';
import type { CallLocator, PageRef, ProviderAdapter } from '../calls/adapter.js';
import type { CallWindow } from '../calls/streams.js';
import { hasEnded, linksServableUntil } from '../calls/cache.js';
import { emptyQuery } from '../calls/filter.js';
import { type CallRecord, type CallStatus, type ConnectionRef, connectionLabel } from '../calls/model.js';
import { UpstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveConnection } from '../providers/index.js';
import type { CallEvent, CallEventType } from './events.js';
import type { WatchReason } from './policy.js';

/** The contract's final statuses: a call first seen in one of them gets its CALL_ENDED. */
export const FINAL_STATUSES: ReadonlySet<CallStatus> = new Set(['COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED']);

/** What the watcher remembers of one call. */
export interface SeenCall {
  key: string;
  /** `startedAt` in ms: the window keeps the newest calls, and re-reads need it (a locator). */
  startedAt: number;
  /** Digest of the contract fields as last observed (`fingerprint`). */
  fingerprint: string;
  /** False for the baseline's calls: nothing about them is announced. */
  announced: boolean;
  /** CALL_ENDED was emitted (or, for the baseline, it was in a final status). */
  ended: boolean;
  /** Still re-read by locator when it is off the newest page: not ended, and not aged out. */
  open: boolean;
  /** When Switchboard first saw it (ms): open calls age out `maxOpenMs` after. */
  firstSeenAt: number;
}

/** A connection's watch state: JSON-safe, saved between polls (in Redis, shared by the replicas). */
export interface WatchState {
  /** Whether the baseline was taken (the first successful observation). */
  baselined: boolean;
  /** The seen-window: the newest `windowSize` calls seen (not `top`, the window pages are served from). */
  calls: SeenCall[];
  /**
   * The newest `startedAt` (ms) that left the window, or null: an unknown call started at or
   * before it was seen before it left, so it is recorded without being announced again.
   */
  horizon: number | null;
  /**
   * Where the sweep of a list that shows only ended calls continues (`sweepRange`); null or absent
   * (a state saved before sweeps existed, or a list that shows calls in progress): the next sweep
   * pass starts just below the newest page.
   */
  sweep?: SweepPosition | null;
  /**
   * The rows of the last successful newest-page read, unfiltered, with when it began: what `calls`
   * pages may be served from (docs/live.md, "Freshness"). Null (or absent, in a state saved before
   * it existed) when that read had rows that did not read: such a window is never served.
   */
  top?: CallWindow | null;
}

/**
 * A sweep pass in progress: it lists, newest first, the calls that started at or before `until` (ms,
 * fixed for the pass) and not before the poll's lower bound; `page` is the next page of that
 * listing. JSON-safe (part of WatchState, saved in Redis with it), so a fail-over continues the pass.
 */
export interface SweepPosition {
  until: number;
  page: PageRef;
}

/** The page a poll's sweep reads: `ListRequest.from`/`until` (ms, inclusive) and `page`. */
export interface SweepRange {
  from: number;
  until: number;
  page: PageRef;
}

/** The state before the first observation: no baseline yet. */
export const emptyWatchState = (): WatchState => ({ baselined: false, calls: [], horizon: null });

/** Bounds of the diff. */
export interface DiffLimits {
  /** Calls the window keeps (it must exceed the page size). */
  windowSize: number;
  /**
   * The longest a call is assumed to run (ms): a call in progress is re-read for this long after
   * it was first seen, and a list that shows only ended calls is swept this far back.
   */
  maxOpenMs: number;
}

/** 1 000 calls seen per connection; calls in progress re-read for six hours after first seen. */
export const DEFAULT_DIFF_LIMITS: DiffLimits = { windowSize: 1000, maxOpenMs: 6 * 3600_000 };

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('base64url');

/**
 * A digest of the call's contract fields as a list row carries them (`details` are fetched lazily
 * and carry signed links that change with every request, so they are left out).
 */
export function fingerprint(call: CallRecord): string {
  const ms = (date: Date | null) => (date === null ? null : date.getTime());
  return digest([
    call.providerCallId,
    call.direction,
    call.status,
    call.providerStatus,
    call.from,
    call.to,
    ms(call.startedAt),
    ms(call.answeredAt),
    ms(call.endedAt),
    call.durationSeconds,
    call.cost,
    call.endReason,
    call.agentId,
  ]).slice(0, 22);
}

/**
 * The event id (`evt_` and 24 base64url characters): from the connection's label, the call's key and
 * the type, and for CALL_UPDATED the fingerprint of the fields observed too. Never from a clock or a
 * replica, so every replica that observes the same change names it alike (an idempotency key).
 */
export function eventId(ref: ConnectionRef, key: string, type: CallEventType, observed?: string): string {
  const parts = type === 'CALL_UPDATED' ? [connectionLabel(ref), key, type, observed] : [connectionLabel(ref), key, type];
  return `evt_${digest(parts).slice(0, 24)}`;
}

/**
 * One observation of a connection against its state: the events it yields, in `startedAt` order,
 * and the next state. Pure. `calls` are the newest page and the re-read calls, in any order; a key
 * given twice counts once (its last row).
 */
export function diffObservation(
  ref: ConnectionRef,
  state: WatchState,
  calls: readonly CallRecord[],
  now: number,
  limits: DiffLimits = DEFAULT_DIFF_LIMITS,
): { state: WatchState; events: CallEvent[] } {
  const seen = new Map(state.calls.map((c) => [c.key, { ...c }]));
  const observed = new Map(calls.map((c) => [c.key, c]));
  const ordered = [...observed.values()].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const events: CallEvent[] = [];
  const occurredAt = new Date(now);
  const emit = (call: CallRecord, type: CallEventType, fp: string) =>
    events.push({ id: eventId(ref, call.key, type, fp), type, call, occurredAt });

  for (const call of ordered) {
    const fp = fingerprint(call);
    const final = FINAL_STATUSES.has(call.status);
    const open = !hasEnded(call);
    const before = seen.get(call.key);
    if (!before) {
      // The baseline, or a call that left the window and came back: recorded, not announced.
      const silent = !state.baselined || (state.horizon !== null && call.startedAt.getTime() <= state.horizon);
      seen.set(call.key, { key: call.key, startedAt: call.startedAt.getTime(), fingerprint: fp, announced: !silent, ended: final, open: open && !silent, firstSeenAt: now });
      if (!silent) {
        emit(call, 'CALL_ADDED', fp);
        if (final) emit(call, 'CALL_ENDED', fp);
      }
      continue;
    }
    if (before.fingerprint === fp) continue;
    if (before.announced) emit(call, final && !before.ended ? 'CALL_ENDED' : 'CALL_UPDATED', fp);
    before.fingerprint = fp;
    before.startedAt = call.startedAt.getTime();
    before.ended ||= final;
    before.open = before.open && open;
  }

  // Calls in progress for too long are no longer re-read (the provider may never end them).
  for (const call of seen.values()) if (call.open && now - call.firstSeenAt > limits.maxOpenMs) call.open = false;
  // The window keeps the newest calls; what leaves it moves the horizon.
  let kept = [...seen.values()].sort((a, b) => b.startedAt - a.startedAt || (a.key < b.key ? -1 : 1));
  let horizon = state.horizon;
  if (kept.length > limits.windowSize) {
    const dropped = kept.slice(limits.windowSize);
    kept = kept.slice(0, limits.windowSize);
    horizon = Math.max(horizon ?? -Infinity, ...dropped.map((c) => c.startedAt));
  }
  return { state: { ...state, baselined: true, calls: kept, horizon }, events };
}

/**
 * The page of the sweep a poll reads, for a list that shows only ended calls, each at the place of
 * its start (`Capabilities.listsOngoing` false): a call that ends after more than a page of newer
 * calls were listed appears below the newest page, where only the sweep finds it. A pass lists the
 * calls that started from `from` to `until`, newest first, one page per poll; it starts just below
 * `newest` (the rows this poll read from the top: its oldest start, else `now`) and continues where
 * the last poll's sweep stopped (`state.sweep`, see `sweepAfter`). Offsets from the top of a pass
 * stay put as calls are listed (a row listed above the position only moves a row into the next page
 * again), so no row is skipped; one listed above the position is found by the next pass.
 *
 * `from` is the later of two bounds. `maxOpenMs` (no call runs longer) before the newest start the
 * window holds, or before `now` if that is earlier: on the provider's own timeline, so a provider
 * clock behind Switchboard's narrows nothing. And the start of the oldest call the window holds: an
 * older row may be one the window has forgotten, which must not be announced again, so a connection
 * with more calls in that span than the window holds is swept only as far as the window reaches.
 * Null when there is nothing to sweep (before the baseline, or the newest rows reach back past
 * `from`). Pure.
 */
export function sweepRange(state: WatchState, newest: readonly CallRecord[], now: number, limits: DiffLimits = DEFAULT_DIFF_LIMITS): SweepRange | null {
  if (!state.baselined || state.calls.length === 0) return null;
  const starts = state.calls.map((c) => c.startedAt);
  const from = Math.max(Math.min(now, Math.max(...starts)) - limits.maxOpenMs, Math.min(...starts));
  const at = state.sweep;
  if (at && at.until >= from) return { from, until: at.until, page: at.page };
  const until = newest.length > 0 ? Math.min(...newest.map((c) => c.startedAt.getTime())) : now;
  // Nothing below the newest rows (a quiet connection whose window is its newest page): no request.
  return until > from ? { from, until, page: { index: 0 } } : null;
}

/** Where the sweep continues after reading `range`, whose next page is `next`: null (the last page read) starts a new pass. Pure. */
export function sweepAfter(range: SweepRange, next: PageRef | null): SweepPosition | null {
  return next === null ? null : { until: range.until, page: next };
}

/**
 * The window of one newest-page read: its rows in the provider's order, each call once (a call that
 * moved to the next page between two page requests is read twice; its first row is kept).
 */
export function windowOf(rows: readonly CallRecord[], readAt: number, complete: boolean): CallWindow {
  const seen = new Set<string>();
  const calls = rows.filter((c) => !seen.has(c.key) && (seen.add(c.key), true));
  return { calls, readAt, complete, servableUntil: servableUntil(calls) };
}

/** The earliest instant a row's signed media link must no longer be served (src/calls/cache.ts); null: none. */
function servableUntil(calls: readonly CallRecord[]): number | null {
  const until = Math.min(...calls.map((c) => linksServableUntil(c.details)));
  return Number.isFinite(until) ? until : null;
}

/**
 * The window after a push: a pushed call already in it takes its new fields there; a call not in
 * it changes nothing (the window stays what the provider listed at the read). A pushed call whose
 * start moved would move its row: then no window, until the next poll reads one.
 */
export function pushedInto(top: CallWindow | null, pushed: readonly CallRecord[]): CallWindow | null {
  if (!top) return null;
  const byKey = new Map(pushed.map((c) => [c.key, c]));
  let moved = false;
  const calls = top.calls.map((row) => {
    const now = byKey.get(row.key);
    if (!now) return row;
    if (now.startedAt.getTime() !== row.startedAt.getTime()) moved = true;
    return now;
  });
  return moved ? null : { ...top, calls, servableUntil: servableUntil(calls) };
}

/** The calls to re-read by locator: open, announced, and not on the page just read. */
export function callsToReread(state: WatchState, onPage: ReadonlySet<string>, max: number): CallLocator[] {
  return state.calls
    .filter((c) => c.open && c.announced && !onPage.has(c.key))
    .slice(0, max)
    .map((c) => ({ key: c.key, startedAt: new Date(c.startedAt) }));
}

/** A watcher's own failure kinds, beside the upstream ones (`WatcherStatus.lastError`). */
export const WATCH_FAILURES = ['STORE_UNAVAILABLE', 'INTERNAL'] as const;

/** The store could not be read (Redis away): the poll fails without a request; the store logged why. */
export class WatchStoreError extends Error {
  override name = 'WatchStoreError';
}

/**
 * Where a watcher keeps its state and hands over its events: in memory, or in Redis under the
 * connection's watch lease (src/live/source.ts).
 */
export interface WatchStore {
  /** The state saved last, or null (watching starts with a baseline). Rejects with WatchStoreError when it cannot tell. */
  load(): Promise<WatchState | null>;
  /**
   * Saves `state` and passes `events` on, both or neither: false when this watcher may no longer
   * (its lease was lost), and then it stops.
   */
  commit(state: WatchState, events: readonly CallEvent[]): Promise<boolean>;
}

/** A watcher's state for /health and /metrics. */
export interface WatcherStatus {
  /** "twenty2/default". */
  connection: string;
  /**
   * `starting` before its first poll ended, `watching` after a successful one, `failing` after a
   * failed one (an event-free gap: the connection's own health says why).
   */
  state: 'starting' | 'watching' | 'failing';
  intervalSeconds: number;
  /** ISO times of the last poll (either outcome) and the last successful one. */
  lastPollAt: string | null;
  lastSuccessAt: string | null;
  /** Seconds since the last successful poll (since watching started, before one): how stale events may be. */
  lagSeconds: number;
  /** Events emitted by this watcher, by type. */
  events: Record<CallEventType, number>;
  /**
   * The failure kind of the last failed poll, null after a success: an upstream failure kind
   * (TIMEOUT, RATE_LIMITED, CIRCUIT_OPEN, ...), STORE_UNAVAILABLE (Redis away) or INTERNAL (a bug, logged).
   */
  lastError: string | null;
  /** Why the connection is watched, strongest first (set by the event source, src/live/source.ts). */
  reasons?: WatchReason[];
}

/** What a watcher reports as it goes: for metrics. */
export interface WatchObserver {
  poll(connection: string, outcome: string): void;
  events(connection: string, events: readonly CallEvent[]): void;
  /** One upstream request (each retry counts) made by the watcher, and the strongest reason it watches now: the cost of watching. */
  request?(connection: string, reason: WatchReason): void;
}

/** What a `ConnectionWatcher` watches, where its state goes and how often it polls. */
export interface WatcherOptions {
  connection: LiveConnection;
  store: WatchStore;
  /** Events committed, in order: the source fans them out. */
  emit: (events: readonly CallEvent[]) => void;
  /** Between two polls, in ms (a Retry-After may make one gap longer). */
  intervalMs: number;
  logger: Logger;
  observer?: WatchObserver;
  /** Called when the store refuses a commit (the lease was lost): the watcher has stopped. */
  onLost?: () => void;
  /** The strongest reason the connection is watched now, for `observer.request`; absent: `subscribers`. */
  reason?: () => WatchReason;
  limits?: DiffLimits;
  /** Rows read per poll (capped at the adapter's largest page). */
  pageSize?: number;
  /** Open calls re-read per poll at most. */
  maxRereads?: number;
  /** Pages read per poll at most, while none holds a call seen before. */
  maxPages?: number;
  now?: () => number;
}

/** The longest a provider's Retry-After holds a watcher's next poll back: an hour, the longest watchInterval. */
export const MAX_RETRY_AFTER_WAIT_MS = 3600_000;

/** Newest rows read per poll: enough that a burst between two polls still fits one page. */
export const WATCH_PAGE_SIZE = 50;
const MAX_REREADS = 50;
/** 4 pages: a burst of up to 200 calls between two polls is announced whole. */
const MAX_PAGES = 4;

/** Polls one connection until stopped. */
export class ConnectionWatcher {
  private state: WatchState | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  /** The observation running now (a poll or a push), which the next one waits for. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Keys of calls pushed and not yet read: a push about only those adds no read (see observePushed). */
  private readonly pushedWaiting = new Set<string>();
  private readonly startedAt: number;
  private lastPollAt: number | null = null;
  private lastSuccessAt: number | null = null;
  private lastError: string | null = null;
  private readonly counts: Record<CallEventType, number> = { CALL_ADDED: 0, CALL_UPDATED: 0, CALL_ENDED: 0 };
  private readonly now: () => number;

  constructor(private readonly options: WatcherOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Polls now, then every interval. */
  start(): void {
    this.schedule(0);
  }

  /** Stops polling; a poll or push in flight finishes without committing. Resolves once it has. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.queue;
  }

  get label(): string {
    return this.options.connection.label;
  }

  status(): WatcherStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      connection: this.label,
      state: this.lastPollAt === null ? 'starting' : this.lastError === null ? 'watching' : 'failing',
      intervalSeconds: this.options.intervalMs / 1000,
      lastPollAt: iso(this.lastPollAt),
      lastSuccessAt: iso(this.lastSuccessAt),
      lagSeconds: Math.max(0, (this.now() - (this.lastSuccessAt ?? this.startedAt)) / 1000),
      events: { ...this.counts },
      lastError: this.lastError,
    };
  }

  /**
   * The newest page, and the pages after it while a whole page holds no call seen before (a burst
   * bigger than a page since the last poll), up to `maxPages` pages. The baseline reads one page.
   * Also the window those pages make (`WatchState.top`): null when a row did not read.
   */
  private async readNewest(adapter: ProviderAdapter, pageSize: number): Promise<{ rows: CallRecord[]; top: CallWindow | null }> {
    const state = this.state!;
    const known = new Set(state.calls.map((c) => c.key));
    const rows: CallRecord[] = [];
    const readAt = this.now();
    let unreadable = false;
    let complete = false;
    let page: PageRef | null = { index: 0 };
    for (let pages = 0; page && pages < (this.options.maxPages ?? MAX_PAGES); pages++) {
      const result = await adapter.list({ query: emptyQuery, from: null, until: null, pageSize, page });
      rows.push(...result.calls);
      unreadable ||= (result.invalid?.length ?? 0) > 0;
      complete = result.next === null;
      const reachedKnown = result.calls.length === 0 || result.calls.some((c) => known.has(c.key));
      page = state.baselined && !reachedKnown ? result.next : null;
    }
    return { rows, top: unreadable ? null : windowOf(rows, readAt, complete) };
  }

  /**
   * This poll's page of the sweep (`sweepRange`) for a list that shows only ended calls: its rows
   * within the range (an adapter may answer a wider one; an older row may be one the window forgot)
   * and where the sweep continues. A list that shows calls in progress costs nothing here.
   */
  private async sweep(adapter: ProviderAdapter, pageSize: number, newest: readonly CallRecord[]): Promise<{ calls: CallRecord[]; position: SweepPosition | null }> {
    const state = this.state!;
    if (adapter.capabilities.listsOngoing) return { calls: [], position: state.sweep ?? null };
    const range = sweepRange(state, newest, this.now(), this.options.limits);
    if (!range) return { calls: [], position: null };
    const result = await adapter.list({ query: emptyQuery, from: new Date(range.from), until: new Date(range.until), pageSize, page: range.page });
    const calls = result.calls.filter((c) => c.startedAt.getTime() >= range.from && c.startedAt.getTime() <= range.until);
    return { calls, position: sweepAfter(range, result.next) };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.serially(() => this.poll()).then((next) => {
        this.running = null;
        this.schedule(next);
      });
    }, delayMs);
    this.timer.unref();
  }

  /** Runs `task` after every poll and push before it: one observation at a time, each from the state the last committed. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /**
   * A provider pushed a change of these calls (src/live/pushes.ts): reads them now by locator,
   * through the adapter as a poll re-reads an open call, and diffs that observation like a poll's,
   * so a push and the poll that later sees the same change yield one event, and a replayed or
   * out-of-order push, which reads the call as it is now, yields none. Before the baseline it does
   * nothing (the first poll's calls are not announced). Resolves with the events committed; never
   * rejects (a failed read is logged at debug: the next poll still sees the change).
   */
  observePushed(pushed: readonly CallLocator[]): Promise<number> {
    // A call already waiting for its read is read once, for every push about it that came
    // meanwhile: a flood of copies of one signed push (Twilio signs no timestamp; the others allow
    // five minutes) costs a read per read in progress, not an upstream request and a queued task each.
    const locators = pushed.filter((l) => !this.pushedWaiting.has(l.key));
    if (locators.length === 0) return Promise.resolve(0);
    for (const l of locators) this.pushedWaiting.add(l.key);
    return this.serially(async () => {
      for (const l of locators) this.pushedWaiting.delete(l.key);
      if (this.stopped || locators.length === 0) return 0;
      try {
        this.state ??= (await this.options.store.load()) ?? emptyWatchState();
        if (!this.state.baselined) return 0;
        const adapter = this.upstreamView().adapter;
        const read = await adapter.getCalls(locators);
        const calls = read.filter((c): c is CallRecord => c !== null && !(c instanceof Error));
        return (await this.commitObservation(calls, { top: pushedInto(this.state.top ?? null, calls) })) ?? 0;
      } catch (error) {
        this.options.logger.debug({ err: error, connection: this.label }, 'watch: a pushed change could not be read; the next poll will see it');
        return 0;
      }
    });
  }

  /** The window to serve `calls` pages from: that of the last successful read, or null. */
  window(): CallWindow | null {
    return this.state?.top ?? null;
  }

  /**
   * Diffs `calls` against the state, commits the result with `update` (the poll's window `top` and
   * sweep position, the window after a push; fields not given keep their values) and emits its
   * events: the number of events, or null when the store refused (the lease was lost) and the
   * watcher stopped.
   */
  private async commitObservation(calls: readonly CallRecord[], update: Partial<Pick<WatchState, 'top' | 'sweep'>>): Promise<number | null> {
    const { connection, store } = this.options;
    const diffed = diffObservation(connection.ref, this.state!, calls, this.now(), this.options.limits);
    const { events } = diffed;
    const state: WatchState = { ...diffed.state, ...update };
    if (this.stopped) return 0;
    if (!(await store.commit(state, events))) {
      this.stopped = true;
      this.options.onLost?.();
      return null;
    }
    this.state = state;
    for (const event of events) this.counts[event.type] += 1;
    if (events.length > 0) {
      this.options.observer?.events(this.label, events);
      this.options.emit(events);
    }
    return events.length;
  }

  /** A view of the connection for one poll or push whose upstream requests are counted as the watcher's. */
  private upstreamView(): LiveConnection {
    const { observer, reason } = this.options;
    return this.options.connection.forRequest(() => observer?.request?.(this.label, reason?.() ?? 'subscribers'));
  }

  /** One poll; resolves with the delay before the next. Never rejects. */
  private async poll(): Promise<number> {
    const { store, intervalMs, logger } = this.options;
    let next = intervalMs;
    try {
      this.state ??= (await store.load()) ?? emptyWatchState();
      // One view per poll: the poll's requests share one time budget (SWITCHBOARD_UPSTREAM_BUDGET_MS).
      const adapter = this.upstreamView().adapter;
      const pageSize = Math.min(this.options.pageSize ?? WATCH_PAGE_SIZE, adapter.capabilities.maxPageSize);
      const { rows: read, top } = await this.readNewest(adapter, pageSize);
      const swept = await this.sweep(adapter, pageSize, read);
      // Rows that did not read are skipped (their calls are announced once they read).
      const onPage = new Set([...read, ...swept.calls].map((c) => c.key));
      const locators = callsToReread(this.state, onPage, this.options.maxRereads ?? MAX_REREADS);
      const reread = locators.length > 0 ? await adapter.getCalls(locators) : [];
      const calls = [...swept.calls, ...read, ...reread.filter((c): c is CallRecord => c !== null && !(c instanceof Error))];
      if (this.stopped) return next;
      if ((await this.commitObservation(calls, { top, sweep: swept.position })) === null) return next;
      this.lastSuccessAt = this.now();
      this.lastError = null;
      this.options.observer?.poll(this.label, 'ok');
    } catch (error) {
      const upstream = error instanceof UpstreamError ? error : null;
      this.lastError = upstream?.failure ?? (error instanceof WatchStoreError ? 'STORE_UNAVAILABLE' : 'INTERNAL');
      this.options.observer?.poll(this.label, this.lastError);
      if (this.lastError === 'INTERNAL') logger.error({ err: error, connection: this.label }, 'watch: poll failed unexpectedly');
      // The provider asked to wait: the next poll waits at least that long (RFC 9110 §10.2.3), up
      // to an hour (the longest interval); setTimeout would take more than 2^31-1 ms as 1 ms.
      const retryAfter = upstream?.details.retryAfter;
      if (retryAfter !== undefined) next = Math.max(next, Math.min(retryAfter * 1000, MAX_RETRY_AFTER_WAIT_MS));
    } finally {
      this.lastPollAt = this.now();
    }
    return next;
  }
}
