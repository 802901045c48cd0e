/**
 * `Subscription.callEvents`: the events of the connections the API key may see (and the filter's
 * providers), filtered exactly as `calls` filters, as payloads `{ callEvents: CallEvent }` (the
 * graphql-js convention; no custom `resolve`, so webhooks render an event by executing the same
 * document with the event as root value). Transports: src/live/transports.ts.
 */
import type { SubscriptionResolvers } from '../__generated__/resolvers-types.js';
import { type CallQuery, includesProvider, matches, toCallQuery } from '../calls/filter.js';
import { connectionLabel } from '../calls/model.js';
import type { RequestContext } from '../context.js';
import type { CallEvent, CallEventSource } from '../live/events.js';

/**
 * Events buffered for one subscriber that reads slower than they come. Past it the subscription
 * completes (the subscriber re-queries `calls`, as after any disconnect: docs/live.md) rather than
 * growing memory without bound.
 */
export const MAX_BUFFERED_EVENTS = 1_000;

export interface CallEventsPayload {
  callEvents: CallEvent;
}

/**
 * The events of `ctx.visible` connections that can match `query`, as an async iterator that
 * listens from the first call (so no event is missed between the subscription's start and the
 * client's first read) and unsubscribes from `source` when it is returned (client left, drain) or
 * overflows.
 */
export function callEventStream(
  source: CallEventSource,
  ctx: RequestContext,
  query: CallQuery,
  maxBuffered = MAX_BUFFERED_EVENTS,
): AsyncIterableIterator<CallEventsPayload> {
  // Exactly the connections the key may see and the filter asks for: no other becomes watched.
  const connections = ctx.visible.filter((c) => includesProvider(query, c.ref.provider)).map((c) => c.ref);
  const labels = new Set(connections.map(connectionLabel));
  const buffered: CallEventsPayload[] = [];
  let waiting: ((result: IteratorResult<CallEventsPayload>) => void) | null = null;
  let done = false;

  const finish = (): IteratorResult<CallEventsPayload> => {
    if (!done) {
      done = true;
      unsubscribe();
      buffered.length = 0;
      waiting?.({ value: undefined, done: true });
      waiting = null;
    }
    return { value: undefined, done: true };
  };
  const listener = (event: CallEvent) => {
    // The source is asked for these connections only; checked again so that no other tenant's
    // event can pass whatever the source does.
    if (done || !labels.has(connectionLabel(event.call)) || !matches(event.call, query)) return;
    const payload = { callEvents: event };
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      return resolve({ value: payload, done: false });
    }
    if (buffered.length >= maxBuffered) return void finish();
    buffered.push(payload);
  };
  const unsubscribe = connections.length > 0 ? source.subscribe(connections, listener) : () => {};

  return {
    next() {
      if (buffered.length > 0) return Promise.resolve({ value: buffered.shift()!, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      return Promise.resolve(finish());
    },
    throw(error?: unknown) {
      finish();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export const Subscription: SubscriptionResolvers = {
  callEvents: {
    // Validated before anything is watched: a bad filter is a BAD_USER_INPUT to the subscriber.
    subscribe: (_root, { filter }, ctx) => callEventStream(ctx.services.events, ctx, toCallQuery(filter)),
  },
};
