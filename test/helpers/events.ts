/**
 * A CallEventSource that tests drive by hand (`SwitchboardOptions.events`): it records which
 * connections each listener asked for and delivers the events a test emits to the listeners of
 * the event's connection, as the watchers' source does.
 */
import { createHash } from 'node:crypto';
import { type CallRecord, type ConnectionRef, connectionLabel } from '../../src/calls/model.js';
import type { CallEvent, CallEventSource, CallEventType, Unsubscribe } from '../../src/live/events.js';

interface Listener {
  labels: string[];
  listener: (event: CallEvent) => void;
}

export class ManualEventSource implements CallEventSource {
  /** The connection labels each `subscribe` asked for, in call order (sorted within a call). */
  readonly requested: string[][] = [];
  private readonly listeners = new Set<Listener>();
  private waiters: Array<() => void> = [];

  subscribe(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void): Unsubscribe {
    const entry = { labels: connections.map(connectionLabel).sort(), listener };
    this.requested.push(entry.labels);
    this.listeners.add(entry);
    for (const wake of this.waiters.splice(0)) wake();
    return () => {
      this.listeners.delete(entry);
      for (const wake of this.waiters.splice(0)) wake();
    };
  }

  observeLocal(connections: readonly ConnectionRef[], listener: (event: CallEvent) => void): Unsubscribe {
    return this.subscribe(connections, listener);
  }

  /** Listeners attached now. */
  get listening(): number {
    return this.listeners.size;
  }

  /** Resolves once `count` listeners are attached (polling nothing: woken by (un)subscribes). */
  async untilListening(count: number): Promise<void> {
    while (this.listeners.size !== count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Delivers `event` to every listener of its call's connection; returns how many got it. */
  emit(event: CallEvent): number {
    const label = connectionLabel(event.call);
    let delivered = 0;
    for (const { labels, listener } of this.listeners) {
      if (!labels.includes(label)) continue;
      listener(event);
      delivered += 1;
    }
    return delivered;
  }
}

/** An event of `call`, with a deterministic id as the watchers make them (connection, key, type, fields). */
export function eventOf(type: CallEventType, call: CallRecord, occurredAt = new Date('2026-11-30T00:00:00Z')): CallEvent {
  const digest = createHash('sha256').update(JSON.stringify([connectionLabel(call), call.key, type, call.status])).digest('base64url');
  return { id: `evt_${digest.slice(0, 22)}`, type, call, occurredAt };
}
