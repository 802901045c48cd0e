/**
 * Call events: what the live side of Switchboard (watchers, subscriptions, webhooks) passes around.
 * The contract (GraphQL `Subscription.callEvents`, `CallEvent`, `CallEventType`) is in docs/live.md.
 *
 * Flow: a watcher per watched connection (src/live/watcher.ts) observes the connection's newest
 * calls and emits `CallEvent`s; a `CallEventSource` fans them out to the subscribers of this
 * replica (and, with Redis, of every replica); webhooks (src/live/webhooks.ts) deliver the events
 * observed by this replica's own watchers from a queue in memory or, with Redis, from a queue in
 * Redis that the watchers' commits fill and every replica delivers from (src/live/webhookQueue.ts).
 */
import type { Redis } from 'ioredis';
import { reviveCall } from '../calls/cache.js';
import type { CallRecord, ConnectionRef } from '../calls/model.js';
import type { Outbox } from './webhookQueue.js';

/** The GraphQL `CallEventType` values, in the contract's order. */
export const CALL_EVENT_TYPES = ['CALL_ADDED', 'CALL_UPDATED', 'CALL_ENDED'] as const;
export type CallEventType = (typeof CALL_EVENT_TYPES)[number];

/** One observed change of one call. */
export interface CallEvent {
  /**
   * Stable for the same change whichever replica observed it (an idempotency key, and the
   * Standard Webhooks `webhook-id`): derived from the call's key, the event type and the observed
   * contract fields, never from a clock or a replica.
   */
  id: string;
  type: CallEventType;
  /** The call as observed; detail fields resolve lazily from it, as in `calls`. */
  call: CallRecord;
  /** When Switchboard observed the change. */
  occurredAt: Date;
}

/** Stops a listener; calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * Where call events come from. Listening to a connection keeps it watched (by this replica or,
 * with Redis, by whichever replica holds its watch lease) for as long as the listener stays.
 */
export interface CallEventSource {
  /**
   * Every event of `connections`, whichever replica observed it, in `startedAt` order per
   * connection. For subscriptions: filters and scopes are the caller's to apply.
   */
  subscribe(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void): Unsubscribe;
  /**
   * The events this replica's own watchers observe, for `connections`, each exactly once across
   * replicas. For webhooks: without Redis they queue these; with Redis (`attachOutbox`) the commit
   * has queued them already, and listening only keeps the connections watched.
   */
  observeLocal(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void): Unsubscribe;
  /**
   * With Redis: every later commit of this replica's watchers also queues the deliveries `outbox`
   * routes its events to, in the same atomic step; returns the Redis client to claim them with.
   * Null (or absent) when events are not committed to Redis: webhooks then queue in memory.
   */
  attachOutbox?(outbox: Outbox): Redis | null;
}

/** An event as it travels through Redis (pub/sub, the webhook queue): JSON, its dates as ISO strings; null when damaged. */
export function reviveEvent(text: string): CallEvent | null {
  try {
    const value = JSON.parse(text) as { id: string; type: CallEvent['type']; occurredAt: string; call: CallRecord };
    return { id: value.id, type: value.type, occurredAt: new Date(value.occurredAt), call: reviveCall(value.call) };
  } catch {
    return null;
  }
}
