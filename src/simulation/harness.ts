/**
 * The HTTP server every provider simulator runs on: a real server on 127.0.0.1 with knobs for
 * latency and faults, and a log of the requests it served so tests can count them. The provider's
 * own behaviour (routes, auth, pagination, quirks) lives in `src/providers/<name>/simulator.ts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { LosslessNumber, stringify } from 'lossless-json';

/**
 * What a test can make the next request (or every request) meet: failures, and answers that are
 * normal but sent oddly — `gzip` (gzip-encoded), `bom` (a UTF-8 byte order mark before the JSON,
 * RFC 8259 §8.1; gzip-encoded too when asked).
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  | { kind: 'hang' }
  | { kind: 'slowBody'; delayMs: number }
  | { kind: 'reset' }
  | { kind: 'invalidJson' }
  | { kind: 'html' }
  | { kind: 'oversized'; bytes: number; gzip?: boolean }
  | { kind: 'wrongShape' }
  | { kind: 'gzip' }
  | { kind: 'bom'; gzip?: boolean };

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface SimulatorReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export type SimulatorHandler = (request: RecordedRequest) => SimulatorReply;

export class SimulatorServer {
  /** Every request served, oldest first. */
  readonly requests: RecordedRequest[] = [];
  /** Added before every answer. */
  latencyMs = 0;
  /** Faults for the next requests, one each, in order. */
  readonly faultQueue: Fault[] = [];
  /** A fault for every request while set. */
  persistentFault: Fault | null = null;
  /**
   * Keys whose digit-only string values are sent as bare JSON numbers, at any depth (e.g. "id"):
   * how a test serves a provider that numbers its ids, past 2^53 too, which a JS number cannot hold.
   */
  numericKeys: ReadonlySet<string> = new Set();
  /** Requests received and not yet answered (or abandoned), and the most seen at once since the last reset. */
  inFlight = 0;
  maxInFlight = 0;
  /** TCP connections accepted since the last reset: with keep-alive, far fewer than requests. */
  connectionsOpened = 0;
  private server: http.Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(
    readonly name: string,
    private readonly handler: SimulatorHandler,
  ) {}

  /** Requests whose path ends with `pathSuffix` (all when omitted). */
  count(pathSuffix?: string): number {
    return pathSuffix === undefined
      ? this.requests.length
      : this.requests.filter((r) => r.path.endsWith(pathSuffix)).length;
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
    this.connectionsOpened = 0;
  }

  clearFaults(): void {
    this.faultQueue.length = 0;
    this.persistentFault = null;
  }

  async start(port = 0): Promise<string> {
    const server = http.createServer((req, res) => void this.serve(req, res));
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket) => {
      this.connectionsOpened += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    return this.url;
  }

  get url(): string {
    if (!this.server) throw new Error(`simulator ${this.name} is not started`);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Counted from arrival until the response is finished or the socket goes: what a provider sees.
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => {
      this.inFlight -= 1;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://simulator');
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const request: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    };
    this.requests.push(request);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fault = this.faultQueue.shift() ?? this.persistentFault;
    if (fault && fault.kind !== 'gzip' && fault.kind !== 'bom') return this.fail(fault, res);
    let reply: SimulatorReply;
    try {
      reply = this.handler(request);
    } catch (error) {
      reply = { status: 500, body: { message: `simulator error: ${(error as Error).message}` } };
    }
    const json = this.serialise(reply.body);
    const gzip = fault?.kind === 'gzip' || (fault?.kind === 'bom' && fault.gzip === true);
    sendJson(res, reply.status, fault?.kind === 'bom' ? `\uFEFF${json}` : json, gzip, reply.headers);
  }

  /** The reply body as JSON text, with `numericKeys` values as bare numbers. */
  private serialise(body: unknown): string {
    if (this.numericKeys.size === 0) return JSON.stringify(body);
    return stringify(body, (key, value) =>
      this.numericKeys.has(key) && typeof value === 'string' && /^-?\d+(?:\.\d+)?$/.test(value)
        ? new LosslessNumber(value)
        : value,
    ) as string;
  }

  private fail(fault: Fault, res: http.ServerResponse): void {
    switch (fault.kind) {
      case 'status':
        return sendJson(
          res,
          fault.status,
          fault.body ?? JSON.stringify({ message: 'simulated failure' }),
          false,
          fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {},
        );
      case 'hang':
        return; // never answers; the client's time-out must fire
      case 'slowBody':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"calls": [');
        setTimeout(() => res.end(']}'), fault.delayMs).unref();
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'invalidJson':
        return sendJson(res, 200, '{"calls": [ {"call_id": ');
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html><body><h1>Maintenance</h1></body></html>');
        return;
      case 'oversized':
        return sendJson(res, 200, JSON.stringify({ padding: 'x'.repeat(fault.bytes) }), fault.gzip);
      case 'wrongShape':
        return sendJson(res, 200, JSON.stringify({ unexpected: true, items: 'none' }));
    }
  }
}

/** Answers `text` as JSON, gzip-encoded when asked (as a provider does for a client that accepts it). */
function sendJson(res: http.ServerResponse, status: number, text: string, gzip = false, headers: Record<string, string> = {}): void {
  const payload = gzip ? gzipSync(text) : text;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    ...headers,
  });
  res.end(payload);
}
