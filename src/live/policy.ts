/**
 * When a connection is watched besides its listeners (docs/live.md, "Cost of watching"): the watch
 * policy (`SWITCHBOARD_WATCH`, or a file connection's `watch`) and the pure rule of `demand`.
 *
 * - `off`: only subscribers and webhooks keep a connection watched;
 * - `always`: every connection with it is watched from start-up (one watcher per connection across
 *   replicas, by the watch lease, src/live/source.ts);
 * - `demand`: a connection is watched once its first page (a `calls` request without a cursor,
 *   forward, whose filter and API key include it) was asked `requests` times within `periodMs`, and
 *   for `quietMs` after the last such request.
 */
import type { ConnectionRef } from '../calls/model.js';

export const WATCH_POLICIES = ['off', 'demand', 'always'] as const;
/** See the top of this file. */
export type WatchPolicy = (typeof WATCH_POLICIES)[number];

/** Why a connection is watched, as /health and /metrics say it. */
export type WatchReason = 'always' | 'webhooks' | 'subscribers' | 'demand' | 'replica';

/** The `demand` policy's thresholds. */
export interface DemandSettings {
  /** First-page requests within `periodMs` that start watching (SWITCHBOARD_WATCH_DEMAND_REQUESTS). */
  requests: number;
  /** The window those requests are counted in, ms (SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS). */
  periodMs: number;
  /** Watching stops this long after the last first-page request, ms (SWITCHBOARD_WATCH_QUIET_SECONDS). */
  quietMs: number;
}

/**
 * 12 first-page requests in a minute: as many as a watcher polls a minute at the default 5 s
 * interval, so a connection is watched once the pages asked of it cost the provider as much as
 * watching it would (and watching is then what keeps those pages fresh). Watching stops after 2
 * quiet minutes: at most 24 polls spent on a page nobody came back to.
 */
export const DEFAULT_DEMAND: DemandSettings = { requests: 12, periodMs: 60_000, quietMs: 120_000 };

/** One connection's first-page demand on this replica: request times (ms) and until when it is watched. */
export interface DemandState {
  /** Times of the latest first-page requests within the period, oldest first; at most `requests` kept. */
  hits: number[];
  /** Watched for demand until this time (ms); 0 when never. */
  until: number;
}

export const emptyDemand = (): DemandState => ({ hits: [], until: 0 });

/**
 * The state after a first-page request at `now` (ms). Pure. Watching starts when this request
 * makes `requests` within `periodMs` (or the connection is already watched for demand), and then
 * lasts `quietMs` from this request.
 */
export function recordFirstPage(state: DemandState, now: number, settings: DemandSettings): DemandState {
  const hits = [...state.hits.filter((t) => t > now - settings.periodMs), now].slice(-settings.requests);
  const until = hits.length >= settings.requests || state.until > now ? now + settings.quietMs : state.until;
  return { hits, until };
}

/** Whether `state` keeps its connection watched at `now` (ms). Pure. */
export const demanded = (state: DemandState, now: number): boolean => state.until > now;

/** The first pages of a `calls` request: what the event source counts as demand (src/live/source.ts). */
export interface FirstPageDemand {
  /**
   * A `calls` request asked the first page of `connections` (those its API key may see and its
   * filter includes). Returns at once; never throws.
   */
  firstPageAsked(connections: readonly ConnectionRef[]): void;
}
