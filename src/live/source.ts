/**
 * The `CallEventSource` (src/live/events.ts): listeners per connection, and a watcher
 * (./watcher.ts) for each connection someone listens to, for as long as someone does.
 *
 * Besides listeners, the watch policy (src/live/policy.ts) may keep a connection watched: `always`,
 * or `demand` once its first page is asked often enough (`firstPageAsked`).
 *
 * In-process (no REDIS_URL): this replica watches what its own listeners listen to and its own
 * policy asks for; its events go to its subscribers and its `observeLocal` listeners alike.
 *
 * With Redis (REDIS_URL), the replicas act as one (docs/live.md, "Watching"):
 * - demand: each replica with listeners for a connection keeps its id in the connection's demand set
 *   (a sorted set scored by expiry on Redis's clock, refreshed every heartbeat), so whoever holds
 *   the lease knows someone, somewhere, listens; first pages asked of any replica are counted in the
 *   connection's `asks` set (scored by Redis's clock), and once they reach the `demand` threshold an
 *   entry `asked` in the demand set, expiring after the quiet period, keeps the connection wanted;
 * - one watcher per connection: the replica that holds the connection's lease (`SET NX PX`, renewed
 *   every heartbeat only by its holder) watches it; when the holder dies its lease expires and
 *   another replica with demand takes it over within `leaseMs` plus a heartbeat;
 * - the watch state (the seen-window), and beside it the window `calls` pages may be served from
 *   (docs/live.md, "Freshness"), are kept in Redis, saved and published in one script that
 *   first checks the lease: a replica that lost its lease neither saves nor publishes, and the new
 *   holder continues from the last state saved, so nothing is announced twice or skipped;
 * - events go out by Redis pub/sub to every replica's subscribers; `observeLocal` listeners get
 *   only the events this replica's own watchers committed;
 * - webhook deliveries (with an outbox attached, `attachOutbox`) are queued in Redis by the same
 *   commit script (./webhookQueue.ts): an event is committed iff its deliveries are queued;
 * - a provider push (src/live/pushes.ts) received by a replica that does not hold the lease is
 *   published on the connection's push channel, which the holder listens to while it watches: only
 *   the holder reads and commits.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisFailure, reviveCall } from '../calls/cache.js';
import type { CallLocator } from '../calls/adapter.js';
import type { CallRecord, ConnectionRef } from '../calls/model.js';
import type { CallWindow } from '../calls/streams.js';
import { connectionLabel } from '../calls/model.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry, LiveConnection } from '../providers/index.js';
import { type CallEvent, type CallEventSource, type Unsubscribe, reviveEvent } from './events.js';
import { DEFAULT_DEMAND, type DemandSettings, type DemandState, type FirstPageDemand, type WatchPolicy, type WatchReason, demanded, emptyDemand, recordFirstPage } from './policy.js';
import { ENQUEUE_LUA, type Outbox } from './webhookQueue.js';
import { ConnectionWatcher, type WatchObserver, type WatchState, type WatchStore, WatchStoreError, type WatcherStatus } from './watcher.js';

type Listener = (event: CallEvent) => void;

/** Timing of the watchers and (with Redis) of leases and demand. */
export interface WatchSettings {
  /** Between two polls of a connection, in ms, by label (SWITCHBOARD_WATCH_INTERVAL, or the file's `watchInterval`). */
  intervalMs: (label: string) => number;
  /** With Redis: how long a lease lasts unless renewed; a dead holder's connection is taken over after it. */
  leaseMs: number;
  /** With Redis: how often leases are renewed and demand refreshed (well under `leaseMs`). */
  heartbeatMs: number;
  /** Each connection's watch policy, by label (SWITCHBOARD_WATCH, or the file's `watch`); absent: `off` for all. */
  policy?: (label: string) => WatchPolicy;
  /** The `demand` policy's thresholds; absent: DEFAULT_DEMAND. */
  demand?: DemandSettings;
}

/** A watch lease lasts 5 s unless renewed: a dead holder's connections are taken over after about that. */
export const DEFAULT_LEASE_MS = 5_000;
/** Leases are renewed, and listeners' demand refreshed, every second. */
export const DEFAULT_HEARTBEAT_MS = 1_000;

/** What `createEventSource` builds on: the connections, timing, logger, metrics and (optionally) Redis. */
export interface EventSourceOptions {
  registry: ConnectionRegistry;
  settings: WatchSettings;
  logger: Logger;
  observer?: WatchObserver;
  /** With Redis: its URL and each connection's key namespace (src/calls/cache.ts#namespaceOf), by label. */
  redis?: { url: string; namespaces: ReadonlyMap<string, string> } | null;
}

/** Where a push went: see `LiveEvents.push`. */
export type PushOutcome = 'applied' | 'forwarded' | 'unwatched';

/** A `CallEventSource` with the state of its watchers, and a way to stop them. */
export interface LiveEvents extends CallEventSource, FirstPageDemand {
  /** The watchers this replica runs now, each with why it is watched (for /health and /metrics). */
  watchers(): WatcherStatus[];
  /**
   * A verified provider push about these calls of connection `label` (src/live/pushes.ts): handed
   * to the connection's watcher, which reads them and diffs them as it diffs a poll
   * (`ConnectionWatcher.observePushed`). `applied`: this replica watches it; `forwarded` (Redis):
   * published to the replica that holds its lease; `unwatched`: nobody listens, so no event is due.
   * Resolves once handed over, not once read.
   */
  push(label: string, locators: readonly CallLocator[]): Promise<PushOutcome>;
  /**
   * Connection `label`'s window (`WatchState.top`, docs/live.md "Freshness"): its watcher's, on the
   * replica that watches it; with Redis, on the others, the one saved beside the watch state (read
   * at most once per heartbeat). Null when nobody watches it, or none can be read. Never rejects.
   */
  window(label: string): Promise<CallWindow | null>;
  /** Stops every watcher (releasing its lease) and drops every listener. */
  close(): Promise<void>;
}

/** A per-connection setting by label: the connection's own value (`own` of it, when defined), else `fallback`. */
function perConnection<C extends ConnectionRef, T>(connections: readonly C[], own: (connection: C) => T | undefined, fallback: T): (label: string) => T {
  const values = new Map(connections.flatMap((c) => {
    const value = own(c);
    return value === undefined ? [] : [[connectionLabel(c), value] as const];
  }));
  return (label) => values.get(label) ?? fallback;
}

/** Each connection's poll interval in ms: its own `watchInterval` (seconds), else the configured one. */
export function watchIntervals(config: { connections: readonly (ConnectionRef & { watchInterval?: number })[]; watch: { intervalMs: number } }): (label: string) => number {
  return perConnection(config.connections, (c) => (c.watchInterval === undefined ? undefined : c.watchInterval * 1000), config.watch.intervalMs);
}

/** Each connection's largest window age in ms (0: never served from its window): its own `maxDataAge` (seconds), else the configured one. */
export function maxDataAges(config: { connections: readonly (ConnectionRef & { maxDataAge?: number })[]; maxDataAgeMs: number }): (label: string) => number {
  return perConnection(config.connections, (c) => (c.maxDataAge === undefined ? undefined : c.maxDataAge * 1000), config.maxDataAgeMs);
}

/**
 * Each connection's watch policy: its own `watch`, else the configured one (SWITCHBOARD_WATCH), else
 * `off` with providers configured, since watching spends the provider's request quota (docs/live.md,
 * "Cost of watching") and only the operator knows what it may spend, and `demand` in demo mode, where
 * the simulators cost nothing and the first pages asked show it at work.
 */
export function watchPolicies(config: { demo: boolean; connections: readonly (ConnectionRef & { watch?: WatchPolicy })[]; watch: { policy?: WatchPolicy } }): (label: string) => WatchPolicy {
  return perConnection(config.connections, (c) => c.watch, config.watch.policy ?? (config.demo ? 'demand' : 'off'));
}

/**
 * The source the settings ask for: shared through Redis when `redis` is set (connecting only once
 * someone listens, or a policy wants a connection watched), else in-process. Connections whose
 * policy is `always` are watched from here on.
 */
export async function createEventSource(options: EventSourceOptions): Promise<LiveEvents> {
  const source = options.redis ? new RedisEventSource(options, options.redis) : new LocalEventSource(options);
  for (const { label } of options.registry.connections) if (source.policy(label) === 'always') source.wantChanged(label);
  return source;
}

/** The order reasons are reported in: the first is the one a watcher's requests are counted under. */
const REASON_ORDER: readonly WatchReason[] = ['always', 'webhooks', 'subscribers', 'demand', 'replica'];

/** Listeners by connection label: subscribers and `observeLocal` listeners, and the demand they make. */
abstract class ListeningSource implements LiveEvents {
  protected readonly subscribers = new Map<string, Set<Listener>>();
  protected readonly locals = new Map<string, Set<Listener>>();
  protected readonly running = new Map<string, ConnectionWatcher>();
  protected closed = false;
  protected readonly demandSettings: DemandSettings;

  constructor(protected readonly options: EventSourceOptions) {
    this.demandSettings = options.settings.demand ?? DEFAULT_DEMAND;
  }

  /** The watch policy of connection `label`. */
  policy(label: string): WatchPolicy {
    return this.options.settings.policy?.(label) ?? 'off';
  }

  /** Called when something that wants `label` watched changed (listeners, demand, policy). */
  wantChanged(label: string): void {
    this.demandChanged(label);
  }

  /**
   * First pages asked of `connections` (src/resolvers/callsPage.ts), counted for those whose policy
   * is `demand`; the others are left alone, so a key's scope or a filter never makes a connection
   * it does not include watched.
   */
  firstPageAsked(connections: readonly ConnectionRef[]): void {
    if (this.closed) return;
    for (const label of new Set(connections.map(connectionLabel))) {
      if (this.policy(label) !== 'demand' || !this.options.registry.connections.some((c) => c.label === label)) continue;
      this.asked(label);
    }
  }

  /** A first page of `label` (whose policy is `demand`) was asked. */
  protected abstract asked(label: string): void;

  /** Whether first-page demand keeps `label` wanted, as this replica knows it. */
  protected abstract demandedNow(label: string): boolean;

  /** Why `label` is watched (or wanted), strongest first: see REASON_ORDER. */
  protected reasons(label: string): WatchReason[] {
    const reasons = new Set<WatchReason>();
    if (this.policy(label) === 'always') reasons.add('always');
    if (this.locals.has(label)) reasons.add('webhooks');
    if (this.subscribers.has(label)) reasons.add('subscribers');
    if (this.demandedNow(label)) reasons.add('demand');
    if (reasons.size === 0 && this.running.has(label)) reasons.add('replica');
    return REASON_ORDER.filter((r) => reasons.has(r));
  }

  subscribe(connections: readonly ConnectionRef[], listener: Listener): Unsubscribe {
    return this.listen(this.subscribers, connections, listener);
  }

  observeLocal(connections: readonly ConnectionRef[], listener: Listener): Unsubscribe {
    return this.listen(this.locals, connections, listener);
  }

  watchers(): WatcherStatus[] {
    return [...this.running.values()].map((w) => ({ ...w.status(), reasons: this.reasons(w.label) }));
  }

  async window(label: string): Promise<CallWindow | null> {
    return this.running.get(label)?.window() ?? null;
  }

  abstract close(): Promise<void>;

  /** In-process, webhooks queue in memory: no outbox (see RedisEventSource). */
  attachOutbox(_outbox: Outbox): Redis | null {
    return null;
  }

  async push(label: string, locators: readonly CallLocator[]): Promise<PushOutcome> {
    return this.applyPush(label, locators) ? 'applied' : 'unwatched';
  }

  /** Hands a push to this replica's watcher of `label`, if it runs one (its result is not awaited). */
  protected applyPush(label: string, locators: readonly CallLocator[]): boolean {
    const watcher = this.running.get(label);
    if (!watcher) return false;
    void watcher.observePushed(locators);
    return true;
  }

  /** Listeners of this replica for `label`, plus one when its policy is `always`. */
  protected demand(label: string): number {
    return (this.subscribers.get(label)?.size ?? 0) + (this.locals.get(label)?.size ?? 0) + (this.policy(label) === 'always' ? 1 : 0);
  }

  /** Called after the listeners of `label` changed. */
  protected abstract demandChanged(label: string): void;

  /** Calls each listener; one that throws is logged and the others still get the event. */
  protected deliver(book: Map<string, Set<Listener>>, label: string, events: readonly CallEvent[]): void {
    const listeners = book.get(label);
    if (!listeners) return;
    for (const event of events) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch (error) {
          this.options.logger.error({ err: error, connection: label }, 'watch: a call-event listener failed');
        }
      }
    }
  }

  protected startWatcher(connection: LiveConnection, store: WatchStore, emit: (events: readonly CallEvent[]) => void, onLost?: () => void): void {
    const watcher = new ConnectionWatcher({
      connection,
      store,
      emit,
      onLost,
      intervalMs: this.options.settings.intervalMs(connection.label),
      logger: this.options.logger,
      observer: this.options.observer,
      reason: () => this.reasons(connection.label)[0] ?? 'replica',
    });
    this.running.set(connection.label, watcher);
    const reasons = this.reasons(connection.label);
    this.options.logger.info({ connection: connection.label, intervalMs: this.options.settings.intervalMs(connection.label), reasons }, `watch: watching ${connection.label} for live events (${reasons.join(', ')})`);
    watcher.start();
  }

  protected async stopWatcher(label: string): Promise<void> {
    const watcher = this.running.get(label);
    if (!watcher) return;
    this.running.delete(label);
    this.options.logger.info({ connection: label }, `watch: no longer watching ${label}`);
    await watcher.stop();
  }

  private listen(book: Map<string, Set<Listener>>, connections: readonly ConnectionRef[], listener: Listener): Unsubscribe {
    if (this.closed) return () => {};
    // Each listener registration is its own entry, so the same function listening twice counts twice.
    const entry: Listener = (event) => listener(event);
    const labels = [...new Set(connections.map(connectionLabel))];
    for (const label of labels) {
      let listeners = book.get(label);
      if (!listeners) book.set(label, (listeners = new Set()));
      listeners.add(entry);
      this.demandChanged(label);
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const label of labels) {
        const listeners = book.get(label);
        listeners?.delete(entry);
        if (listeners?.size === 0) book.delete(label);
        this.demandChanged(label);
      }
    };
  }
}

/** One replica: it watches what its own listeners listen to and its own policy asks for. */
class LocalEventSource extends ListeningSource {
  /** First-page demand by label (connections whose policy is `demand`). */
  private readonly asks = new Map<string, DemandState>();
  /** By label: checks again when demand may have lapsed. */
  private readonly lapse = new Map<string, NodeJS.Timeout>();

  protected asked(label: string): void {
    const now = Date.now();
    const before = this.asks.get(label) ?? emptyDemand();
    const after = recordFirstPage(before, now, this.demandSettings);
    this.asks.set(label, after);
    if (demanded(after, now) && !demanded(before, now)) {
      this.demandChanged(label);
      this.checkLapse(label);
    }
  }

  protected demandedNow(label: string): boolean {
    const state = this.asks.get(label);
    return state !== undefined && demanded(state, Date.now());
  }

  /** Once the quiet period has passed without a first page asked, the demand lapses. */
  private checkLapse(label: string): void {
    const left = (this.asks.get(label)?.until ?? 0) - Date.now();
    if (left > 0) {
      const timer = setTimeout(() => this.checkLapse(label), left);
      timer.unref();
      this.lapse.set(label, timer);
      return;
    }
    this.lapse.delete(label);
    this.demandChanged(label);
  }

  protected demandChanged(label: string): void {
    const connection = this.options.registry.connections.find((c) => c.label === label);
    if (!connection || this.closed) return;
    const wanted = this.demand(label) > 0 || this.demandedNow(label);
    if (wanted && !this.running.has(label)) {
      // A fresh state each time watching starts: calls from while nobody listened are the new baseline.
      let saved: WatchState | null = null;
      const store: WatchStore = {
        load: async () => saved,
        commit: async (state) => ((saved = state), true),
      };
      this.startWatcher(connection, store, (events) => {
        this.deliver(this.subscribers, label, events);
        this.deliver(this.locals, label, events);
      });
    } else if (!wanted && this.running.has(label)) {
      void this.stopWatcher(label);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.lapse.values()) clearTimeout(timer);
    this.subscribers.clear();
    this.locals.clear();
    await Promise.all([...this.running.keys()].map((label) => this.stopWatcher(label)));
  }
}

// Saves the state and the window, publishes the events and queues their webhook deliveries
// (./webhookQueue.ts), all or nothing, only while the lease is this replica's. The window has its
// own key so that the replicas serving from it read it alone (docs/live.md, "Freshness").
// KEYS: lease, state, window. ARGV: replica, state JSON, TTL (ms), channel, window JSON, n (events),
// n event JSONs, then per delivery: queue prefix, bound, TTL (ms), event number (1-based), call.
// Returns 0 when the lease is lost, else [1, prefix, dropped, ...] for the queues that dropped deliveries.
const COMMIT = `${ENQUEUE_LUA}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[3])
local n = tonumber(ARGV[6])
for i = 7, 6 + n do redis.call('PUBLISH', ARGV[4], ARGV[i]) end
local now = clock()
local drops = {}
for i = 7 + n, #ARGV, 5 do
  local q = ARGV[i]
  drops[q] = (drops[q] or 0) + enqueue(q, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 4], ARGV[6 + tonumber(ARGV[i + 3])], now)
end
local out = { 1 }
for q, d in pairs(drops) do if d > 0 then out[#out + 1] = q out[#out + 1] = d end end
return out`;
// Renews (ARGV[2] = ms) or, without ARGV[2], releases the lease, only when it is this replica's. KEYS: lease.
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('DEL', KEYS[1])`;

// Refreshes (ARGV[3] = '1') or withdraws this replica's demand, forgets expired ones, and counts the
// entries left (replicas that listen, and `asked` while first pages keep it wanted), and whether
// `asked` is one. Expiries are on Redis's clock (TIME), so the replicas' clocks may differ; the set
// lives as long as its latest entry. KEYS: demand. ARGV: replica, ttl (ms), listening.
const DEMAND = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[2]), math.floor(tonumber(last[2]) - now))) end
return {redis.call('ZCARD', KEYS[1]), redis.call('ZSCORE', KEYS[1], 'asked') and 1 or 0}`;

// A first page asked (src/live/policy.ts, recordFirstPage, on Redis's clock): counts it in the asks
// set (the latest ARGV[2] within the period), and when they reach ARGV[2], or `asked` is still
// in the demand set, (re)sets `asked` to expire after the quiet period. Returns 1 when wanted.
// KEYS: asks, demand. ARGV: request id, requests, period (ms), quiet (ms).
const ASK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local asked = tonumber(redis.call('ZSCORE', KEYS[2], 'asked') or '0')
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) and asked <= now then return 0 end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), 'asked')
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return 1`;

/** A window as Redis keeps it (JSON, beside the watch state), its dates revived; null when damaged or none. */
function reviveWindow(text: string): CallWindow | null {
  try {
    const window = JSON.parse(text) as CallWindow | null;
    return window && { ...window, calls: window.calls.map(reviveCall) };
  } catch {
    return null;
  }
}

/** Pushed locators as they travel over pub/sub: `[{ key, startedAt: ms }]`; [] when damaged. */
function reviveLocators(text: string): CallLocator[] {
  try {
    const value = JSON.parse(text) as { key: unknown; startedAt: unknown }[];
    return value.filter((l) => typeof l.key === 'string' && typeof l.startedAt === 'number').map((l) => ({ key: l.key as string, startedAt: new Date(l.startedAt as number) }));
  } catch {
    return [];
  }
}

/** Many replicas as one, through Redis (see the top of this file). */
class RedisEventSource extends ListeningSource {
  private readonly redis: Redis;
  private readonly pubsub: Redis;
  /** This replica in leases and demand sets: random per process, never reused. */
  private readonly replica = randomUUID();
  private readonly channels = new Map<string, string>();
  /** Each connection's channel of pushes for its lease holder, to its label. */
  private readonly pushChannels = new Map<string, string>();
  private connecting: Promise<void> | null = null;
  /** The pub/sub channels this replica's subscribers need. */
  private readonly listeningOn = new Set<string>();
  /** Connections whose demand set holds this replica (until a heartbeat takes it out). */
  private readonly registered = new Set<string>();
  /** Connections first pages were asked of here until their `asked` entry lapses (the heartbeat sees to them). */
  private readonly askedHere = new Set<string>();
  /** Connections whose demand set held `asked` at the last heartbeat (any replica's first pages). */
  private readonly askedShared = new Set<string>();
  /** When this replica last sent a connection's first page to Redis (ASK), ms. */
  private readonly lastAsked = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | null = null;
  /** Windows read from Redis (connections another replica watches), by label, with when they were read. */
  private readonly sharedWindows = new Map<string, { at: number; window: Promise<CallWindow | null> }>();
  private beating: Promise<void> | null = null;
  private beatAgain = false;
  private healthy = true;
  /** The webhooks' queues, when they are in Redis: filled by the watchers' commits. */
  private outbox: Outbox | null = null;

  constructor(
    options: EventSourceOptions,
    private readonly redisOptions: { url: string; namespaces: ReadonlyMap<string, string> },
  ) {
    super(options);
    const common = { connectTimeout: 2_000, disconnectTimeout: 200, lazyConnect: true } as const;
    // Commands fail fast while Redis is away: a heartbeat that fails is retried by the next one.
    this.redis = new Redis(redisOptions.url, { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 1_000 });
    this.pubsub = new Redis(redisOptions.url, common);
    for (const client of [this.redis, this.pubsub]) {
      client.on('error', (error: Error) => this.unhealthy(error));
      client.on('ready', () => {
        if (!this.healthy) this.options.logger.info('watch: Redis reachable again');
        this.healthy = true;
      });
    }
    this.pubsub.on('message', (channel: string, text: string) => {
      const pushedTo = this.pushChannels.get(channel);
      if (pushedTo) return void this.applyPush(pushedTo, reviveLocators(text));
      const label = this.channels.get(channel);
      const event = label ? reviveEvent(text) : null;
      if (label && event) this.deliver(this.subscribers, label, [event]);
    });
    for (const connection of options.registry.connections) {
      this.channels.set(this.keys(connection.label).channel, connection.label);
      this.pushChannels.set(this.keys(connection.label).pushes, connection.label);
    }
    this.heartbeat = setInterval(() => this.beat(), options.settings.heartbeatMs);
    this.heartbeat.unref();
  }

  /**
   * Connects both clients the first time someone listens (a replica nobody listens to opens no
   * connection for live events); after that ioredis reconnects by itself.
   */
  private connected(): Promise<void> {
    this.connecting ??= Promise.all([this.redis, this.pubsub].map((client) => client.connect().catch((error: Error) => this.unhealthy(error)))).then(() => {});
    return this.connecting;
  }

  private unhealthy(error: Error): void {
    if (this.healthy) {
      const { code, reason } = redisFailure(error, this.redisOptions.url);
      this.options.logger.warn({ code, reason }, `watch: Redis unavailable (${code}: ${reason}); connections are not watched until it is back`);
    }
    this.healthy = false;
  }

  private keys(label: string) {
    const namespace = this.redisOptions.namespaces.get(label) ?? `sb:v1:${label}`;
    return {
      lease: `${namespace}:watch:lease`,
      state: `${namespace}:watch:state`,
      window: `${namespace}:watch:window`,
      demand: `${namespace}:watch:demand`,
      asks: `${namespace}:watch:asks`,
      channel: `${namespace}:watch:events`,
      pushes: `${namespace}:watch:pushes`,
    };
  }

  protected demandChanged(label: string): void {
    if (this.closed) return;
    const { channel } = this.keys(label);
    // Subscribers of this replica hear every replica's events for the connection.
    if (this.subscribers.has(label) && !this.listeningOn.has(channel)) {
      this.listeningOn.add(channel);
      void this.connected().then(() => this.pubsub.subscribe(channel)).catch(() => {});
    } else if (!this.subscribers.has(label) && this.listeningOn.delete(channel)) {
      void this.pubsub.unsubscribe(channel).catch(() => {});
    }
    this.beat();
  }

  protected asked(label: string): void {
    // Already wanted: one ASK per heartbeat keeps `asked` alive as well as one per page would, so a
    // client asking first pages in a loop does not cost Redis a script per page and connection.
    const now = Date.now();
    if (this.askedShared.has(label) && now - (this.lastAsked.get(label) ?? 0) < this.options.settings.heartbeatMs) return;
    this.lastAsked.set(label, now);
    const { requests, periodMs, quietMs } = this.demandSettings;
    const keys = this.keys(label);
    void this.connected()
      .then(() => this.redis.eval(ASK, 2, keys.asks, keys.demand, randomUUID(), String(requests), String(periodMs), String(quietMs)))
      .then((wanted) => {
        if (Number(wanted) !== 1 || this.closed) return;
        this.askedShared.add(label);
        if (!this.askedHere.has(label) || !this.running.has(label)) {
          this.askedHere.add(label);
          this.beat();
        }
      })
      .catch((error: unknown) => this.unhealthy(error as Error));
  }

  protected demandedNow(label: string): boolean {
    return this.askedShared.has(label);
  }

  /** A heartbeat now (one at a time; one asked for while one runs follows it). */
  private beat(): void {
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    this.beating = this.beatOnce()
      .catch((error: unknown) => this.unhealthy(error as Error))
      .finally(() => {
        this.beating = null;
        if (this.beatAgain && !this.closed) {
          this.beatAgain = false;
          this.beat();
        }
      });
  }

  /**
   * For each connection this replica listens to, listened to until now, or watches: refresh its
   * demand, then take, keep or give up the lease. Other connections are left alone: a replica that
   * listens to one takes its lease itself, so an idle replica sends Redis nothing.
   */
  private async beatOnce(): Promise<void> {
    const { leaseMs } = this.options.settings;
    const concerned = this.options.registry.connections.filter(
      ({ label }) => this.demand(label) > 0 || this.registered.has(label) || this.running.has(label) || this.askedHere.has(label),
    );
    if (concerned.length === 0) return;
    await this.connected();
    // Away (ioredis reconnects by itself, and said why once): nothing to do until it is back.
    if (this.redis.status !== 'ready') return;
    for (const connection of concerned) {
      if (this.closed) return;
      const label = connection.label;
      const listening = this.demand(label) > 0;
      if (listening) this.registered.add(label);
      else this.registered.delete(label);
      const keys = this.keys(label);
      const [count, asked] = (await this.redis.eval(DEMAND, 1, keys.demand, this.replica, String(leaseMs), listening ? '1' : '0')) as [number, number];
      const wanted = Number(count) > 0;
      if (Number(asked) === 1) this.askedShared.add(label);
      else (this.askedShared.delete(label), this.askedHere.delete(label));
      const holding = this.running.has(label);
      if (wanted && holding) {
        if (!(await this.redis.eval(RENEW, 1, keys.lease, this.replica, String(leaseMs)))) await this.stopWatcher(label);
      } else if (wanted) {
        if ((await this.redis.set(keys.lease, this.replica, 'PX', leaseMs, 'NX')) === 'OK') this.watch(connection);
      } else if (holding) {
        await this.stopWatcher(label);
        await this.redis.eval(RENEW, 1, keys.lease, this.replica);
      }
    }
  }

  /**
   * From now on, each commit of a watcher of this replica also queues the webhook deliveries
   * `outbox` routes its events to, in the same script (./webhookQueue.ts): the webhooks then claim
   * them with this Redis client, which is returned.
   */
  override attachOutbox(outbox: Outbox): Redis {
    this.outbox = outbox;
    return this.redis;
  }

  /**
   * Applied here when this replica holds the lease; else published to the holder, which listens on
   * the connection's push channel while it watches (only the holder commits under the lease).
   */
  override async push(label: string, locators: readonly CallLocator[]): Promise<PushOutcome> {
    if (this.applyPush(label, locators)) return 'applied';
    if (this.redis.status !== 'ready') return 'unwatched';
    const text = JSON.stringify(locators.map((l) => ({ key: l.key, startedAt: l.startedAt.getTime() })));
    const heard = await this.redis.publish(this.keys(label).pushes, text).catch(() => 0);
    return heard > 0 ? 'forwarded' : 'unwatched';
  }

  /**
   * This replica's watcher's window, else the one saved in Redis beside the watch state, read at most
   * once per heartbeat per connection (a fresh replica serves from it at once; its age tells
   * whether it is still fresh enough). Null while Redis is away or nothing is saved.
   */
  override async window(label: string): Promise<CallWindow | null> {
    const own = this.running.get(label);
    if (own) return own.window();
    const now = Date.now();
    const cached = this.sharedWindows.get(label);
    if (cached && now - cached.at < this.options.settings.heartbeatMs) return cached.window;
    const window = this.readWindow(label);
    this.sharedWindows.set(label, { at: now, window });
    return window;
  }

  private async readWindow(label: string): Promise<CallWindow | null> {
    await this.connected();
    if (this.redis.status !== 'ready') return null;
    try {
      const text = await this.redis.get(this.keys(label).window);
      return text === null ? null : reviveWindow(text);
    } catch {
      return null; // Redis away: the page is read upstream; the heartbeat reports Redis
    }
  }

  protected override async stopWatcher(label: string): Promise<void> {
    await super.stopWatcher(label);
    void this.pubsub.unsubscribe(this.keys(label).pushes).catch(() => {});
  }

  /** Watches `connection` under its lease, from the state in Redis. */
  private watch(connection: LiveConnection): void {
    const label = connection.label;
    const keys = this.keys(label);
    const stateTtlMs = Math.max(60_000, 3 * this.options.settings.intervalMs(label));
    const store: WatchStore = {
      load: async () => {
        let text: string | null;
        try {
          text = await this.redis.get(keys.state);
        } catch (error) {
          this.unhealthy(error as Error);
          throw new WatchStoreError('the watch state could not be read from Redis');
        }
        try {
          // The window is read again by the next poll (it is saved apart, for the replicas serving from it).
          return text === null ? null : { ...(JSON.parse(text) as WatchState), top: null };
        } catch {
          return null; // a damaged state: start again from a baseline
        }
      },
      commit: async (state, events) => {
        const outbox = this.outbox;
        const deliveries = outbox && events.length > 0 ? outbox.route(events) : [];
        const queued = deliveries.flatMap((d) => [d.queue.prefix, String(d.queue.bound), String(d.queue.ttlMs), String(d.event + 1), d.call]);
        try {
          const { top = null, ...rest } = state;
          const saved = await this.redis.eval(COMMIT, 3, keys.lease, keys.state, keys.window, this.replica, JSON.stringify(rest), String(stateTtlMs), keys.channel, JSON.stringify(top), String(events.length), ...events.map((e) => JSON.stringify(e)), ...queued);
          if (!Array.isArray(saved)) return false;
          if (outbox && saved.length > 1) {
            const drops = new Map<string, number>();
            for (let i = 1; i + 1 < saved.length; i += 2) drops.set(String(saved[i]), Number(saved[i + 1]));
            outbox.dropped(drops);
          }
          return true;
        } catch (error) {
          this.unhealthy(error as Error);
          return false;
        }
      },
    };
    this.startWatcher(connection, store, (events) => this.deliver(this.locals, label, events), () => {
      // The lease went elsewhere (or Redis went away): stop; the next heartbeat tries again.
      if (this.running.get(label)) this.running.delete(label);
      void this.pubsub.unsubscribe(keys.pushes).catch(() => {});
    });
    // Pushes received by other replicas come here while this replica holds the lease.
    void this.pubsub.subscribe(keys.pushes).catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.beating;
    const labels = [...this.running.keys()];
    await Promise.all(labels.map((label) => this.stopWatcher(label)));
    // Give the leases and demand back at once, so another replica takes over without waiting.
    try {
      if (this.redis.status === 'ready') {
        for (const connection of this.options.registry.connections) {
          const keys = this.keys(connection.label);
          await this.redis.zrem(keys.demand, this.replica);
          if (labels.includes(connection.label)) await this.redis.eval(RENEW, 1, keys.lease, this.replica);
        }
      }
    } catch {
      // Leases expire by themselves.
    }
    this.subscribers.clear();
    this.locals.clear();
    this.redis.disconnect();
    this.pubsub.disconnect();
  }
}
