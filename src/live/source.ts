/**
 * The `CallEventSource` (src/live/events.ts): listeners per connection, and a watcher
 * (./watcher.ts) for each connection someone listens to, for as long as someone does.
 *
 * In-process (no REDIS_URL): this replica watches what its own listeners listen to; its events go to
 * its subscribers and its `observeLocal` listeners alike.
 *
 * With Redis (REDIS_URL), the replicas act as one (docs/live.md, "Watching"):
 * - demand: each replica with listeners for a connection keeps its id in the connection's demand set
 *   (a sorted set scored by expiry on Redis's clock, refreshed every heartbeat), so whoever holds
 *   the lease knows someone, somewhere, listens;
 * - one watcher per connection: the replica that holds the connection's lease (`SET NX PX`, renewed
 *   every heartbeat only by its holder) watches it; when the holder dies its lease expires and
 *   another replica with demand takes it over within `leaseMs` plus a heartbeat;
 * - the watch state (the seen-window) is kept in Redis, saved and published in one script that
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
import { redisFailure } from '../calls/cache.js';
import type { CallLocator } from '../calls/adapter.js';
import type { CallRecord, ConnectionRef } from '../calls/model.js';
import { connectionLabel } from '../calls/model.js';
import type { Logger } from '../logger.js';
import type { ConnectionRegistry, LiveConnection } from '../providers/index.js';
import { type CallEvent, type CallEventSource, type Unsubscribe, reviveEvent } from './events.js';
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
export interface LiveEvents extends CallEventSource {
  /** The watchers this replica runs now (for /health and /metrics). */
  watchers(): WatcherStatus[];
  /**
   * A verified provider push about these calls of connection `label` (src/live/pushes.ts): handed
   * to the connection's watcher, which reads them and diffs them as it diffs a poll
   * (`ConnectionWatcher.observePushed`). `applied`: this replica watches it; `forwarded` (Redis):
   * published to the replica that holds its lease; `unwatched`: nobody listens, so no event is due.
   * Resolves once handed over, not once read.
   */
  push(label: string, locators: readonly CallLocator[]): Promise<PushOutcome>;
  /** Stops every watcher (releasing its lease) and drops every listener. */
  close(): Promise<void>;
}

/** Each connection's poll interval in ms: its own `watchInterval` (seconds), else the configured one. */
export function watchIntervals(config: { connections: readonly (ConnectionRef & { watchInterval?: number })[]; watch: { intervalMs: number } }): (label: string) => number {
  const own = new Map(config.connections.flatMap((c) => (c.watchInterval === undefined ? [] : [[connectionLabel(c), c.watchInterval * 1000] as const])));
  return (label) => own.get(label) ?? config.watch.intervalMs;
}

/**
 * The source the settings ask for: shared through Redis when `redis` is set (connecting only once
 * someone listens), else in-process.
 */
export async function createEventSource(options: EventSourceOptions): Promise<LiveEvents> {
  if (!options.redis) return new LocalEventSource(options);
  return new RedisEventSource(options, options.redis);
}

/** Listeners by connection label: subscribers and `observeLocal` listeners, and the demand they make. */
abstract class ListeningSource implements LiveEvents {
  protected readonly subscribers = new Map<string, Set<Listener>>();
  protected readonly locals = new Map<string, Set<Listener>>();
  protected readonly running = new Map<string, ConnectionWatcher>();
  protected closed = false;

  constructor(protected readonly options: EventSourceOptions) {}

  subscribe(connections: readonly ConnectionRef[], listener: Listener): Unsubscribe {
    return this.listen(this.subscribers, connections, listener);
  }

  observeLocal(connections: readonly ConnectionRef[], listener: Listener): Unsubscribe {
    return this.listen(this.locals, connections, listener);
  }

  watchers(): WatcherStatus[] {
    return [...this.running.values()].map((w) => w.status());
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

  /** Listeners of this replica for `label`. */
  protected demand(label: string): number {
    return (this.subscribers.get(label)?.size ?? 0) + (this.locals.get(label)?.size ?? 0);
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
    });
    this.running.set(connection.label, watcher);
    this.options.logger.info({ connection: connection.label, intervalMs: this.options.settings.intervalMs(connection.label) }, `watch: watching ${connection.label} for live events`);
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

/** One replica: it watches what its own listeners listen to. */
class LocalEventSource extends ListeningSource {
  protected demandChanged(label: string): void {
    const connection = this.options.registry.connections.find((c) => c.label === label);
    if (!connection || this.closed) return;
    const wanted = this.demand(label) > 0;
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
    this.subscribers.clear();
    this.locals.clear();
    await Promise.all([...this.running.keys()].map((label) => this.stopWatcher(label)));
  }
}

// Saves the state, publishes the events and queues their webhook deliveries (./webhookQueue.ts),
// all or nothing, only while the lease is this replica's. KEYS: lease, state. ARGV: replica, state
// JSON, state TTL (ms), channel, n (events), n event JSONs, then per delivery: queue prefix, bound,
// TTL (ms), event number (1-based), call. Returns 0 when the lease is lost, else
// [1, prefix, dropped, ...] for the queues that dropped deliveries.
const COMMIT = `${ENQUEUE_LUA}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
local n = tonumber(ARGV[5])
for i = 6, 5 + n do redis.call('PUBLISH', ARGV[4], ARGV[i]) end
local now = clock()
local drops = {}
for i = 6 + n, #ARGV, 5 do
  local q = ARGV[i]
  drops[q] = (drops[q] or 0) + enqueue(q, tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 4], ARGV[5 + tonumber(ARGV[i + 3])], now)
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
// replicas that listen. Expiries are on Redis's clock (TIME), so the replicas' clocks may differ.
// KEYS: demand. ARGV: replica, ttl (ms), listening.
const DEMAND = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[3] == '1' then redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) else redis.call('ZREM', KEYS[1], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])`;

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
  private heartbeat: NodeJS.Timeout | null = null;
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
      demand: `${namespace}:watch:demand`,
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
      ({ label }) => this.demand(label) > 0 || this.registered.has(label) || this.running.has(label),
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
      const wanted = Number(await this.redis.eval(DEMAND, 1, keys.demand, this.replica, String(leaseMs), listening ? '1' : '0')) > 0;
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
          return text === null ? null : (JSON.parse(text) as WatchState);
        } catch {
          return null; // a damaged state: start again from a baseline
        }
      },
      commit: async (state, events) => {
        const outbox = this.outbox;
        const deliveries = outbox && events.length > 0 ? outbox.route(events) : [];
        const queued = deliveries.flatMap((d) => [d.queue.prefix, String(d.queue.bound), String(d.queue.ttlMs), String(d.event + 1), d.call]);
        try {
          const saved = await this.redis.eval(COMMIT, 2, keys.lease, keys.state, this.replica, JSON.stringify(state), String(stateTtlMs), keys.channel, String(events.length), ...events.map((e) => JSON.stringify(e)), ...queued);
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
