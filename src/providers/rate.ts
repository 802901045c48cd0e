/**
 * Each connection's upstream request rate (SWITCHBOARD_UPSTREAM_RATE_PER_SECOND, a file
 * connection's `upstreamRatePerSecond`), with rate-limiter-flexible. Providers limit an account,
 * not a replica: with REDIS_URL every replica draws on one budget per connection in Redis
 * (RateLimiterRedis), keyed by the connection's cache namespace (its label and non-secret settings,
 * src/calls/cache.ts#namespaceOf) so that deployments sharing a Redis do not share budgets. While
 * Redis is unreachable each replica falls back to its own in-memory budget of the same size (the
 * library's insurance limiter). Without Redis, an in-memory budget per process.
 */
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { namespaceOf, redisFailure } from '../calls/cache.js';
import type { ConnectionRef } from '../calls/model.js';
import type { ConnectionConfig } from '../config.js';
import { UpstreamError } from '../errors.js';
import type { Logger } from '../logger.js';
import { cacheIdentity } from './index.js';

/** What `UpstreamRate` needs of a limiter: rate-limiter-flexible's `consume` (rejects with a RateLimiterRes when over). */
export type RateConsumer = Pick<RateLimiterAbstract, 'consume'>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One connection's request budget: `take` waits for a turn, within the calling request's deadline. */
export class UpstreamRate {
  /**
   * `perSecond`: requests a second (for messages); `limiter`: the budget; `key`: this connection's
   * key in it; `now`/`wait`: performance.now() and a timer, replaceable in tests.
   */
  constructor(
    private readonly ref: ConnectionRef,
    readonly perSecond: number,
    private readonly limiter: RateConsumer,
    private readonly key: string,
    private readonly now: () => number = () => performance.now(),
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {}

  /**
   * Takes one request's turn, waiting while the budget is used up. `deadline` is the request's end
   * (performance.now() scale): when the next turn comes at or after it, throws `UpstreamError`
   * RATE_LIMITED naming the connection, with `retryAfter` (seconds). A limiter that fails other than
   * by refusing (a bug, not Redis: its failures go to the insurance limiter) lets the request go.
   */
  async take(deadline: number): Promise<void> {
    for (;;) {
      try {
        await this.limiter.consume(this.key);
        return;
      } catch (refusal) {
        if (!(refusal instanceof RateLimiterRes)) return;
        const next = Math.max(1, refusal.msBeforeNext);
        if (this.now() + next >= deadline) {
          throw new UpstreamError(this.ref, 'RATE_LIMITED', {
            detail: `its budget of ${this.perSecond} requests a second is used up for longer than this request can wait`,
            retryAfter: Math.ceil(next / 1000),
          });
        }
        await this.wait(next);
      }
    }
  }
}

/** The budgets of all connections, and the one Redis client they share (if any). */
export interface UpstreamRates {
  /** The budget of `config` at its own rate or `defaultPerSecond`; undefined when that is 0 (unlimited). */
  forConnection(config: ConnectionConfig, defaultPerSecond: number): UpstreamRate | undefined;
  close(): Promise<void>;
}

/**
 * Budgets in Redis at `redisUrl` (shared by replicas), or in memory when it is null. Redis failures
 * are logged once per outage without the URL; requests meanwhile use the in-memory budgets.
 */
export function createUpstreamRates(redisUrl: string | null, logger?: Logger): UpstreamRates {
  let redis: Redis | null = null;
  // Opened with the first connection that has a rate: without one, no second Redis connection
  // (beside the call cache's) and no second outage warning.
  const shared = (url: string): Redis => {
    if (redis) return redis;
    let healthy = true;
    // As the call cache's client (src/calls/cache.ts): no queue behind a dead connection, fail fast.
    const client = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 500,
      connectTimeout: 2_000,
      disconnectTimeout: 200,
      lazyConnect: true,
    });
    client.on('error', (error: Error) => {
      if (!healthy) return;
      healthy = false;
      const { code, reason } = redisFailure(error, url);
      logger?.warn({ code, reason }, `upstream rate: Redis unavailable (${code}: ${reason}); each replica keeps its own budget meanwhile`);
    });
    client.on('ready', () => {
      if (!healthy) logger?.info('upstream rate: Redis reachable again');
      healthy = true;
    });
    client.connect().catch(() => {}); // the 'error' handler logs it
    return (redis = client);
  };
  return {
    forConnection(config, defaultPerSecond) {
      const perSecond = config.upstreamRatePerSecond ?? defaultPerSecond;
      if (perSecond <= 0) return undefined;
      const ref = { provider: config.provider, connection: config.connection };
      const budget = { points: perSecond, duration: 1 };
      const limiter = redisUrl
        ? new RateLimiterRedis({
            ...budget,
            storeClient: shared(redisUrl),
            keyPrefix: `${namespaceOf(cacheIdentity(config))}:rate`,
            rejectIfRedisNotReady: true, // to the insurance limiter at once, not after a time-out
            insuranceLimiter: new RateLimiterMemory(budget),
          })
        : new RateLimiterMemory(budget);
      return new UpstreamRate(ref, perSecond, limiter, 'upstream');
    },
    async close() {
      redis?.disconnect();
    },
  };
}
