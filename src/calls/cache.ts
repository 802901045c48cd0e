/**
 * A cache of what cannot change: calls that have ended. A finished call's record and its detail
 * fields (recordings, transcript, parameters) are final at the provider, so a by-id lookup or a
 * detail request answered once can be answered again without asking. List pages are never cached
 * (new calls arrive), and neither is a call still in flight (its status and duration will move).
 *
 * Two stores behind one small interface: an in-process LRU by default, and Redis when REDIS_URL is
 * set, so every replica behind a load balancer shares what any of them fetched. Keys carry the
 * connection's label and a fingerprint of its non-secret settings (base URL, account), so two
 * tenants, or two deployments sharing one Redis, never read each other's entries.
 *
 * The cache is an optimisation only: a store that fails or times out is a miss, never an error.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.js';
import type { CallLocator, CallLookup } from './adapter.js';
import { type CallDetails, type CallRecord, type CallStatus, type MediaLink, type ConnectionRef, connectionLabel } from './model.js';

export interface CacheSettings {
  /** redis:// or rediss:// URL of a shared store; null for the in-process LRU. */
  redisUrl: string | null;
  /** Longest an entry lives (SWITCHBOARD_CACHE_TTL_SECONDS). */
  ttlSeconds: number;
  /** Entries the in-process LRU holds; 0 turns the cache off unless Redis is set. */
  maxEntries: number;
}

/** A string store with per-entry time-to-live. */
export interface CacheStore {
  get(keys: readonly string[]): Promise<(string | null)[]>;
  set(entries: readonly { key: string; value: string; ttlMs: number }[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryStore implements CacheStore {
  private readonly lru: LRUCache<string, string>;
  constructor(maxEntries: number) {
    this.lru = new LRUCache({ max: maxEntries });
  }
  async get(keys: readonly string[]): Promise<(string | null)[]> {
    return keys.map((key) => this.lru.get(key) ?? null);
  }
  async set(entries: readonly { key: string; value: string; ttlMs: number }[]): Promise<void> {
    for (const { key, value, ttlMs } of entries) this.lru.set(key, value, { ttl: ttlMs });
  }
  async close(): Promise<void> {
    this.lru.clear();
  }
}

/**
 * What a Redis failure was, for the log: its code (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, a
 * Redis error such as `WRONGPASS`, else the error's name) and its message, with REDIS_URL and each
 * part of it (user, password, host and port) replaced: the URL may carry a password.
 */
export function redisFailure(error: Error, url: string): { code: string; reason: string } {
  const code = (error as NodeJS.ErrnoException).code ?? /^[A-Z]{3,}(?= )/.exec(error.message)?.[0] ?? error.name;
  const parts: Array<[string, string]> = [[url, '<REDIS_URL>']];
  if (URL.canParse(url)) {
    const { username, password, hostname, port } = new URL(url);
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    parts.push([decodeURIComponent(password), '<password>'], [decodeURIComponent(username), '<user>']);
    if (port) parts.push([`${hostname}:${port}`, '<host>:<port>'], [`${host}:${port}`, '<host>:<port>']);
    parts.push([hostname, '<host>'], [host, '<host>']);
  }
  let reason = error.message;
  for (const [secret, placeholder] of parts) if (secret) reason = reason.split(secret).join(placeholder);
  return { code, reason: reason.slice(0, 200) };
}

/** Redis through ioredis. Commands fail fast while it is unreachable, so a request never waits on it. */
export class RedisStore implements CacheStore {
  private readonly redis: Redis;
  private healthy = true;

  constructor(
    private readonly url: string,
    private readonly logger?: Logger,
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false, // no queueing behind a dead connection: fail, count a miss
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      connectTimeout: 2_000,
      disconnectTimeout: 200, // shutting down waits this long at most for the socket to close
      lazyConnect: true,
    });
    // The URL may hold a password: logs name the store, never the URL.
    this.redis.on('error', (error: Error) => this.unhealthy(error));
    this.redis.on('ready', () => {
      if (!this.healthy) this.logger?.info('cache: Redis reachable again');
      this.healthy = true;
    });
  }

  private unhealthy(error: Error): void {
    if (this.healthy) {
      const { code, reason } = redisFailure(error, this.url);
      this.logger?.warn({ code, reason }, `cache: Redis unavailable (${code}: ${reason}); answering without the shared cache`);
    }
    this.healthy = false;
  }

  /** Connects, waiting at most `timeoutMs`; start-up goes on without the cache when it cannot. */
  async connect(timeoutMs = 2_000): Promise<void> {
    const connected = this.redis.connect().catch((error: Error) => this.unhealthy(error));
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([connected, timeout]);
  }

  async get(keys: readonly string[]): Promise<(string | null)[]> {
    try {
      return await this.redis.mget(...keys);
    } catch (error) {
      this.unhealthy(error as Error);
      return keys.map(() => null);
    }
  }

  async set(entries: readonly { key: string; value: string; ttlMs: number }[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      const pipeline = this.redis.pipeline();
      for (const { key, value, ttlMs } of entries) pipeline.set(key, value, 'PX', ttlMs);
      await pipeline.exec();
    } catch (error) {
      this.unhealthy(error as Error);
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

/** Statuses a call can still leave. UNKNOWN (a provider word outside the table) counts as ended only with an end time. */
const IN_FLIGHT: ReadonlySet<CallStatus> = new Set(['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS']);

export function hasEnded(call: Pick<CallRecord, 'status' | 'endedAt'>): boolean {
  if (IN_FLIGHT.has(call.status)) return false;
  return call.status !== 'UNKNOWN' || call.endedAt !== null;
}

/** A signed media link must not be served after it expires: entries live at most until a minute before. */
const MEDIA_MARGIN_MS = 60_000;

function mediaLinks(details: CallDetails | null): MediaLink[] {
  if (!details) return [];
  const recordings = details.recordings ?? [];
  return details.transcript ? [...recordings, details.transcript] : recordings;
}

/**
 * Until when (ms since the epoch) `details` may be served again: a minute before its earliest signed
 * media link expires; +Infinity when no link expires. Also bounds a watcher's window (src/live/watcher.ts).
 */
export function linksServableUntil(details: CallDetails | null): number {
  let until = Number.POSITIVE_INFINITY;
  for (const link of mediaLinks(details)) {
    if (!link.expiresAt) continue;
    const expires = new Date(link.expiresAt).getTime();
    if (Number.isFinite(expires)) until = Math.min(until, expires - MEDIA_MARGIN_MS);
  }
  return until;
}

/** How long an entry may live: the TTL, cut short by the earliest media link expiry; 0 for "do not store". */
function lifetime(ttlMs: number, details: CallDetails | null, now: number): number {
  return Math.max(0, Math.floor(Math.min(ttlMs, linksServableUntil(details) - now)));
}

// Dates travel as ISO strings; these put them back (explicitly: parameters may hold date-like text).
const date = (value: unknown): Date | null => (typeof value === 'string' ? new Date(value) : null);
const link = (value: MediaLink): MediaLink => ({ ...value, expiresAt: date(value.expiresAt) });

function reviveDetails(value: CallDetails | null): CallDetails | null {
  if (!value) return null;
  return { ...value, ...(value.recordings ? { recordings: value.recordings.map(link) } : {}), transcript: value.transcript ? link(value.transcript) : null };
}

/** A CallRecord back from JSON: its dates (and its details' link expiries) as Dates again. */
export function reviveCall(value: CallRecord): CallRecord {
  return {
    ...value,
    startedAt: new Date(value.startedAt),
    answeredAt: date(value.answeredAt),
    endedAt: date(value.endedAt),
    details: reviveDetails(value.details),
  };
}

function parse<T>(text: string | null, revive: (value: T) => T): T | undefined {
  if (text === null) return undefined;
  try {
    return revive(JSON.parse(text) as T);
  } catch {
    return undefined; // a damaged entry is a miss
  }
}

/** Bumped whenever CallRecord or CallDetails change shape, so old entries are never read. */
const FORMAT = 'v1';
/**
 * A connection as the cache keys it: which one, and its settings minus the secrets (never part of
 * a key, not even hashed), so that pointing a connection elsewhere starts a fresh namespace.
 * src/providers/index.ts#cacheIdentity builds it from each provider module's `secrets`.
 */
export interface CacheConnection extends ConnectionRef {
  publicSettings: Readonly<Record<string, unknown>>;
}

/** `sb:v1:twenty2/default:<fingerprint>`: the label plus a hash of the connection's non-secret settings. */
export function namespaceOf(config: CacheConnection): string {
  const identity = Object.entries(config.publicSettings).sort(([a], [b]) => a.localeCompare(b));
  const fingerprint = createHash('sha256').update(JSON.stringify([config.provider, config.connection, identity])).digest('base64url').slice(0, 16);
  return `sb:${FORMAT}:${connectionLabel(config)}:${fingerprint}`;
}

/** Counts lookups for metrics: how many keys were answered from the cache and how many were not. */
export type CacheObserver = (lookup: { hits: number; misses: number }) => void;

export class CallCache {
  private readonly namespaces: ReadonlyMap<string, string>;
  private readonly ttlMs: number;

  constructor(
    readonly store: CacheStore,
    connections: readonly CacheConnection[],
    ttlSeconds: number,
    private readonly observe: CacheObserver = () => {},
  ) {
    this.namespaces = new Map(connections.map((c) => [connectionLabel(c), namespaceOf(c)]));
    this.ttlMs = ttlSeconds * 1000;
  }

  private key(label: string, kind: 'call' | 'details', callKey: string): string | null {
    const namespace = this.namespaces.get(label);
    return namespace ? `${namespace}:${kind}:${callKey}` : null;
  }

  /**
   * Calls by locator: cached ones from the store, the rest from `fetch` (in the same order); ended
   * calls that come back are stored. A failed look-up (an Error in its place) is passed on and never
   * stored, so the next request asks again; so is an unknown call (null).
   */
  async calls(
    label: string,
    locators: readonly CallLocator[],
    fetch: (missing: readonly CallLocator[]) => Promise<CallLookup[]>,
  ): Promise<CallLookup[]> {
    const keys = locators.map((l) => this.key(label, 'call', l.key));
    const cached = await this.read(keys, reviveCall);
    const missing = locators.filter((_, i) => cached[i] === undefined);
    if (missing.length === 0) return cached as CallRecord[];
    const fetched = await fetch(missing);
    this.storeCalls(label, fetched.filter((c): c is CallRecord => c !== null && !(c instanceof Error)));
    let next = 0;
    return cached.map((hit) => (hit === undefined ? (fetched[next++] ?? null) : hit));
  }

  /**
   * Details of calls: cached ones from the store, the rest from `fetch`; those of ended calls are
   * stored. A failed fetch (an Error in its place) is passed on and never stored.
   */
  async details(
    label: string,
    calls: readonly CallRecord[],
    fetch: (missing: readonly CallRecord[]) => Promise<(CallDetails | Error)[]>,
  ): Promise<(CallDetails | Error)[]> {
    const keys = calls.map((c) => (hasEnded(c) ? this.key(label, 'details', c.key) : null));
    const cached = await this.read(keys, reviveDetails);
    const missing = calls.filter((_, i) => cached[i] === undefined);
    if (missing.length === 0) return cached as CallDetails[];
    const fetched = await fetch(missing);
    const now = Date.now();
    const entries: { key: string; value: string; ttlMs: number }[] = [];
    missing.forEach((call, i) => {
      const details = fetched[i];
      if (!details || details instanceof Error || !hasEnded(call)) return;
      const ttlMs = lifetime(this.ttlMs, details, now);
      const detailsKey = this.key(label, 'details', call.key);
      const callKey = this.key(label, 'call', call.key);
      if (ttlMs <= 0 || !detailsKey || !callKey) return;
      entries.push({ key: detailsKey, value: JSON.stringify(details), ttlMs });
      // The row plus its details answers a later call(id) on any replica too.
      entries.push({ key: callKey, value: JSON.stringify({ ...call, details }), ttlMs });
    });
    void this.store.set(entries);
    let next = 0;
    return cached.map((hit) => (hit === undefined ? (fetched[next++] as CallDetails | Error) : (hit as CallDetails)));
  }

  private storeCalls(label: string, calls: readonly CallRecord[]): void {
    const now = Date.now();
    const entries = calls.flatMap((call) => {
      const key = this.key(label, 'call', call.key);
      const ttlMs = lifetime(this.ttlMs, call.details, now);
      return key && hasEnded(call) && ttlMs > 0 ? [{ key, value: JSON.stringify(call), ttlMs }] : [];
    });
    void this.store.set(entries);
  }

  /** Entries for `keys` (undefined for a miss or a null key), read in one round trip. */
  private async read<T>(keys: readonly (string | null)[], revive: (value: T) => T): Promise<(T | undefined)[]> {
    const present = keys.filter((k): k is string => k !== null);
    const texts = present.length > 0 ? await this.store.get(present) : [];
    let next = 0;
    const entries = keys.map((key) => (key === null ? undefined : parse(texts[next++] ?? null, revive)));
    const hits = entries.filter((e) => e !== undefined).length;
    this.observe({ hits, misses: entries.length - hits });
    return entries;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** The cache the settings ask for: Redis when REDIS_URL is set, else an LRU; null when turned off. */
export async function createCallCache(
  settings: CacheSettings,
  connections: readonly CacheConnection[],
  logger?: Logger,
  observe?: CacheObserver,
): Promise<CallCache | null> {
  if (settings.redisUrl) {
    const store = new RedisStore(settings.redisUrl, logger);
    await store.connect();
    return new CallCache(store, connections, settings.ttlSeconds, observe);
  }
  if (settings.maxEntries <= 0) return null;
  return new CallCache(new MemoryStore(settings.maxEntries), connections, settings.ttlSeconds, observe);
}
