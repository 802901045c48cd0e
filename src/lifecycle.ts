/**
 * The HTTP server's lifecycle: starting → ready → draining. Readiness (`GET /ready`) is 200 only
 * while ready; liveness (`GET /health`) does not depend on it. Draining is the graceful shutdown a
 * SIGTERM starts (src/index.ts): new requests are refused with 503, requests in flight are let
 * finish within a grace period, and every connection is closed as soon as it has nothing left to
 * answer, so an idle keep-alive connection never holds the process open.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCode } from './errors.js';
import { HttpError } from './graphqlOverHttp.js';

export type LifecycleState = 'starting' | 'ready' | 'draining';

/** How a drain ended: `graceful` when every request in flight finished within the grace period. */
export interface DrainResult {
  graceful: boolean;
  /** Requests still unanswered when the grace period ran out (their connections were destroyed). */
  abandoned: number;
}

export class Lifecycle {
  private current: LifecycleState = 'starting';
  /** Requests being answered on each open connection (0: idle keep-alive). */
  private readonly sockets = new Map<Socket, number>();
  /** Responses not yet sent. */
  private readonly inFlight = new Set<http.ServerResponse>();
  private drained: Promise<DrainResult> | null = null;
  private onIdle: (() => void) | null = null;

  /** Call before any other 'request' listener: it must count every request, refused ones too. */
  constructor(private readonly server: http.Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.set(socket, 0);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const socket = req.socket;
      this.sockets.set(socket, (this.sockets.get(socket) ?? 0) + 1);
      this.inFlight.add(res);
      // While draining every answer says the connection ends with it (RFC 9112 §9.6), so that no
      // client sends another request on a connection about to close.
      if (this.current === 'draining') res.setHeader('connection', 'close');
      // 'close' fires once the response is sent or the client went away: either way it is over.
      res.once('close', () => {
        const pending = (this.sockets.get(socket) ?? 1) - 1;
        this.sockets.set(socket, pending);
        this.inFlight.delete(res);
        if (this.current === 'draining') {
          if (pending === 0) socket.end();
          if (this.inFlight.size === 0) this.onIdle?.();
        }
      });
    });
  }

  get state(): LifecycleState {
    return this.current;
  }

  /**
   * An upgraded connection (a WebSocket) leaves this bookkeeping: it carries no HTTP request, so a
   * drain would take it for an idle keep-alive and end it at once. Its owner (src/live/transports.ts)
   * completes its subscriptions and closes it.
   */
  detach(socket: Socket): void {
    this.sockets.delete(socket);
  }

  /** Start-up is done: readiness answers 200 and /graphql serves. */
  markReady(): void {
    if (this.current === 'starting') this.current = 'ready';
  }

  /**
   * The refusal for a request that arrives while not ready (503, with `Retry-After` in seconds):
   * another replica, or this one in a moment, will take it. Null while ready.
   */
  refusal(): HttpError | null {
    if (this.current === 'ready') return null;
    const message =
      this.current === 'starting'
        ? 'Switchboard is starting and not ready to serve yet; retry shortly'
        : 'Switchboard is shutting down and takes no new requests; retry on another instance';
    return new HttpError(503, message, ErrorCode.NotReady, { 'retry-after': '1' });
  }

  /**
   * Stops taking requests and waits for those in flight, at most `graceMs`: readiness turns 503,
   * idle connections are closed at once and the others as soon as their last response is sent;
   * once nothing is in flight (or the grace period has run out, when the remaining connections are
   * destroyed) the listening socket is closed. Calling it again returns the same result.
   */
  drain(graceMs: number): Promise<DrainResult> {
    this.drained ??= this.drainOnce(graceMs);
    return this.drained;
  }

  private async drainOnce(graceMs: number): Promise<DrainResult> {
    this.current = 'draining';
    for (const [socket, pending] of this.sockets) if (pending === 0) socket.end();
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    let timer: NodeJS.Timeout | undefined;
    const graceful = await new Promise<boolean>((resolve) => {
      if (this.inFlight.size === 0) return resolve(true);
      this.onIdle = () => resolve(true);
      timer = setTimeout(() => resolve(false), graceMs);
    });
    clearTimeout(timer);
    this.onIdle = null;
    const abandoned = graceful ? 0 : this.inFlight.size;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Whatever is left (requests past the grace period, connections mid-request) is cut.
    for (const socket of this.sockets.keys()) socket.destroy();
    await closed;
    return { graceful, abandoned };
  }
}
