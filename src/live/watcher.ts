/**
 * Watching one connection (docs/live.md, "Watching"): every interval, read its newest page through
 * its adapter (so the connection's breaker, concurrency cap, retries and Retry-After apply; more
 * pages while a whole page is calls not seen before), re-read the calls seen in progress that have
 * left that page, and diff what came back against what was seen before. The diff (`diffObservation`) is pure: observations in, `CallEvent`s and the next
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
import { hasEnded } from '../calls/cache.js';
import { emptyQuery } from '../calls/filter.js';
import { type CallRecord, type CallStatus, type ConnectionRef, connectionLabel } from '../calls/model.js';
import { UpstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { LiveConnection } from '../providers/index.js';
import type { CallEvent, CallEventType } from './events.js';

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
  /** The window: the newest `windowSize` calls seen. */
  calls: SeenCall[];
  /**
   * The newest `startedAt` (ms) that left the window, or null: an unknown call started at or
   * before it was seen before it left, so it is recorded without being announced again.
   */
  horizon: number | null;
}

/** The state before the first observation: no baseline yet. */
export const emptyWatchState = (): WatchState => ({ baselined: false, calls: [], horizon: null });

/** Bounds of the diff. */
export interface DiffLimits {
  /** Calls the window keeps (it must exceed the page size). */
  windowSize: number;
  /** How long after it was first seen a call in progress is still re-read (ms). */
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
  return { state: { baselined: true, calls: kept, horizon }, events };
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
}

/** What a watcher reports as it goes: for metrics. */
export interface WatchObserver {
  poll(connection: string, outcome: string): void;
  events(connection: string, events: readonly CallEvent[]): void;
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
   */
  private async readNewest(adapter: ProviderAdapter, pageSize: number): Promise<CallRecord[]> {
    const state = this.state!;
    const known = new Set(state.calls.map((c) => c.key));
    const rows: CallRecord[] = [];
    let page: PageRef | null = { index: 0 };
    for (let pages = 0; page && pages < (this.options.maxPages ?? MAX_PAGES); pages++) {
      const result = await adapter.list({ query: emptyQuery, from: null, until: null, pageSize, page });
      rows.push(...result.calls);
      const reachedKnown = result.calls.length === 0 || result.calls.some((c) => known.has(c.key));
      page = state.baselined && !reachedKnown ? result.next : null;
    }
    return rows;
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
        const adapter = this.options.connection.forRequest(() => {}).adapter;
        const read = await adapter.getCalls(locators);
        const calls = read.filter((c): c is CallRecord => c !== null && !(c instanceof Error));
        return (await this.commitObservation(calls)) ?? 0;
      } catch (error) {
        this.options.logger.debug({ err: error, connection: this.label }, 'watch: a pushed change could not be read; the next poll will see it');
        return 0;
      }
    });
  }

  /**
   * Diffs `calls` against the state, commits the result and emits its events: the number of events,
   * or null when the store refused (the lease was lost) and the watcher stopped.
   */
  private async commitObservation(calls: readonly CallRecord[]): Promise<number | null> {
    const { connection, store } = this.options;
    const { state, events } = diffObservation(connection.ref, this.state!, calls, this.now(), this.options.limits);
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

  /** One poll; resolves with the delay before the next. Never rejects. */
  private async poll(): Promise<number> {
    const { connection, store, intervalMs, logger } = this.options;
    let next = intervalMs;
    try {
      this.state ??= (await store.load()) ?? emptyWatchState();
      // One view per poll: the poll's requests share one time budget (SWITCHBOARD_UPSTREAM_BUDGET_MS).
      const adapter = connection.forRequest(() => {}).adapter;
      const pageSize = Math.min(this.options.pageSize ?? WATCH_PAGE_SIZE, adapter.capabilities.maxPageSize);
      const read = await this.readNewest(adapter, pageSize);
      // Rows that did not read are skipped (their calls are announced once they read).
      const onPage = new Set(read.map((c) => c.key));
      const locators = callsToReread(this.state, onPage, this.options.maxRereads ?? MAX_REREADS);
      const reread = locators.length > 0 ? await adapter.getCalls(locators) : [];
      const calls = [...read, ...reread.filter((c): c is CallRecord => c !== null && !(c instanceof Error))];
      if (this.stopped) return next;
      if ((await this.commitObservation(calls)) === null) return next;
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
