/**
 * Load shedding, as Apollo Router's traffic shaping does it: past a bound on GraphQL requests in
 * flight or on event-loop delay, a new GraphQL request is answered at once with 503 and
 * `Retry-After` instead of being taken on and left to queue where nothing measures it (socket
 * buffers, the accept queue, the event loop itself). Only `/graphql` is shed; `/health`, `/metrics`
 * and the rest are cheap and always answered.
 *
 * Event-loop delay is measured only while requests are in flight: a timer due every `SAMPLE_MS`
 * notes how late it fired and is not re-armed once the server is idle, so an idle server runs no
 * timer at all. (Node's `monitorEventLoopDelay`, which prom-client's default metrics use, wakes the
 * process every 10 ms for ever: 0.4 % of a core at rest, measured.) The delay used is the larger of
 * how late the last sample fired and how late the pending one already is, so a long turn of the
 * loop sheds the requests read after the bound was crossed, within that same turn.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';

export interface OverloadLimits {
  /** GraphQL requests being answered at once before more are refused (SWITCHBOARD_MAX_IN_FLIGHT); 0: no bound. */
  maxInFlight: number;
  /** Event-loop delay, ms, past which new requests are refused (SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS); 0: no bound. */
  maxEventLoopDelayMs: number;
  /** Seconds a refused client is asked to wait (`Retry-After`, RFC 9110 §10.2.3; SWITCHBOARD_OVERLOAD_RETRY_AFTER_SECONDS). */
  retryAfterSeconds: number;
}

export const defaultOverloadLimits: OverloadLimits = {
  maxInFlight: 256,
  maxEventLoopDelayMs: 100,
  retryAfterSeconds: 1,
};

/** How long a refused request's connection is not read from, ms: under Node's 5 s keep-alive time-out, which would close it. */
export const HOLD_MS = 1_000;

/**
 * Reads nothing more from a refused request's connection for HOLD_MS: a client that retries at
 * once waits a second, as if it had honoured `Retry-After`. Without this, clients retrying at once
 * keep every turn of the event loop busy with refusals, and since libuv accepts one new connection
 * per turn (libuv 1.45, PR #3696; Node 20 has 1.46) new connections wait in the kernel's accept
 * queue for seconds, unmeasured: what shedding is meant to end (bench scenario f,
 * docs/benchmark.md).
 */
export function holdConnection(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  // Once the response is done and Node has resumed the socket to discard the unread request body
  // (`req._dump()` on 'finish', whose resume runs on the next tick): a pause before would be undone.
  res.once('close', () =>
    setImmediate(() => {
      if (socket.destroyed) return;
      socket.pause();
      setTimeout(() => socket.resume(), HOLD_MS).unref();
    }),
  );
}

/** How often the loop is sampled while requests are in flight, ms. */
const SAMPLE_MS = 20;

/** At most one warning per this many ms while shedding, with the count since the last. */
const LOG_EVERY_MS = 10_000;

export type ShedReason = 'in_flight' | 'event_loop_delay';

/** Why a request was refused, for the client's message. */
export interface Shed {
  reason: ShedReason;
  message: string;
}

export class LoadMonitor {
  private inFlightCount = 0;
  /** How late the last sample fired, ms. */
  private lateMs = 0;
  /** When the pending sample is due (performance.now() ms); null when none is (idle). */
  private dueAt: number | null = null;
  private shedSinceLog = 0;
  private lastLogAt = -Infinity;

  constructor(
    private readonly limits: OverloadLimits,
    /** Counts each refusal (metrics). */
    private readonly onShed: (reason: ShedReason) => void = () => {},
    private readonly logger?: Logger,
  ) {}

  /** GraphQL requests admitted and not yet answered. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** The event loop's delay now, ms: 0 when no request is in flight (nothing is sampled then). */
  eventLoopDelayMs(): number {
    if (this.dueAt === null) return 0;
    return Math.max(this.lateMs, performance.now() - this.dueAt);
  }

  /**
   * Admits a request, counting it in flight until `res` closes (answered or abandoned), or returns
   * why it must be refused. With nothing in flight a request is always admitted: a late timer then
   * means the process was paused (GC, the machine), not that work of ours is queued.
   */
  admit(res: ServerResponse): Shed | null {
    const shed = this.check();
    if (shed) {
      this.onShed(shed.reason);
      this.warn(shed);
      return shed;
    }
    this.inFlightCount += 1;
    res.once('close', this.release);
    if (this.dueAt === null) this.arm(performance.now());
    return null;
  }

  /**
   * Why a long-lived subscription (an SSE stream, a WebSocket) must be refused now, or null: the
   * same bounds as `admit`, but an admitted stream is not counted in flight, since it stays open
   * for as long as its subscriber does and would otherwise shed every query.
   */
  admitStream(): Shed | null {
    const shed = this.check();
    if (shed) {
      this.onShed(shed.reason);
      this.warn(shed);
    }
    return shed;
  }

  private check(): Shed | null {
    const { maxInFlight, maxEventLoopDelayMs } = this.limits;
    if (maxInFlight > 0 && this.inFlightCount >= maxInFlight) {
      return { reason: 'in_flight', message: `${this.inFlightCount} requests are in flight` };
    }
    if (maxEventLoopDelayMs > 0 && this.inFlightCount > 0) {
      const delay = this.eventLoopDelayMs();
      if (delay > maxEventLoopDelayMs) return { reason: 'event_loop_delay', message: `its event loop is ${Math.round(delay)} ms behind` };
    }
    return null;
  }

  private readonly release = (): void => {
    this.inFlightCount -= 1;
  };

  private arm(now: number): void {
    this.dueAt = now + SAMPLE_MS;
    // unref: a sample never keeps the process alive (the requests' sockets do).
    setTimeout(this.sample, SAMPLE_MS).unref();
  }

  private readonly sample = (): void => {
    const now = performance.now();
    this.lateMs = Math.max(0, now - this.dueAt!);
    if (this.inFlightCount > 0) return this.arm(now);
    this.dueAt = null;
    this.lateMs = 0;
  };

  /** One warning when shedding starts, then at most one per LOG_EVERY_MS with the count. */
  private warn(shed: Shed): void {
    this.shedSinceLog += 1;
    const now = performance.now();
    if (!this.logger || now - this.lastLogAt < LOG_EVERY_MS) return;
    this.logger.warn(
      { event: 'load_shed', reason: shed.reason, refused: this.shedSinceLog, inFlight: this.inFlightCount, eventLoopDelayMs: Math.round(this.eventLoopDelayMs()) },
      `overloaded: refusing GraphQL requests with 503 (${shed.message}); ${this.shedSinceLog} refused since the last warning`,
    );
    this.shedSinceLog = 0;
    this.lastLogAt = now;
  }
}
