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
  /** No answer until the client gives up, or until `releaseHung()` lets the normal answer go. */
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

/**
 * Rows a simulator sends the way a provider sends a row Switchboard cannot read: with some fields
 * replaced (a field set to undefined is left out of the JSON), or replaced whole. The simulator
 * still files, orders and filters the row by its real data, as a provider does by its own.
 */
export class UnreadableRows<R extends object> {
  private readonly replacements = new Map<R, (sent: object) => unknown>();

  /** From now on `row` is sent with `fields` in place of its own, or as `replace` makes it. */
  set(row: R, replace: Record<string, unknown> | ((sent: object) => unknown)): void {
    this.replacements.set(row, typeof replace === 'function' ? replace : (sent) => ({ ...sent, ...replace }));
  }

  has(row: R): boolean {
    return this.replacements.has(row);
  }

  clear(): void {
    this.replacements.clear();
  }

  /** What is sent for `row`: `sent` (the row's JSON, or a body built from it), replaced when it is set. */
  serve(row: R, sent: object = row): unknown {
    const replace = this.replacements.get(row);
    return replace ? replace(sent) : sent;
  }

  /** `rows` as sent. */
  serveAll(rows: readonly R[]): unknown[] {
    return this.replacements.size === 0 ? [...rows] : rows.map((row) => this.serve(row));
  }
}

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
   * Faults for the requests `match` picks (e.g. one call's detail request), every time, until
   * `clearFaults`; checked before the queue, which they leave alone.
   */
  readonly targetedFaults: { match: (request: RecordedRequest) => boolean; fault: Fault }[] = [];
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
  /** Requests a `hang` fault holds: each resolves true when released, false when the client gave up. */
  private readonly held = new Set<(released: boolean) => void>();
  private readonly sockets = new Set<import('node:net').Socket>();

  /**
   * `isAuxiliary` marks the requests for resources other than calls that the simulator serves
   * (Vapi's phone-number look-ups): neither list pages nor look-ups of calls.
   */
  constructor(
    readonly name: string,
    private readonly handler: SimulatorHandler,
    private readonly options: { isAuxiliary?: (request: RecordedRequest) => boolean } = {},
  ) {}

  /** Requests whose path ends with `pathSuffix` (all when omitted). */
  count(pathSuffix?: string): number {
    return pathSuffix === undefined
      ? this.requests.length
      : this.requests.filter((r) => r.path.endsWith(pathSuffix)).length;
  }

  /** Requests for resources other than calls (see the constructor); no scan budget counts them. */
  countAuxiliary(): number {
    const { isAuxiliary } = this.options;
    return isAuxiliary ? this.requests.filter(isAuxiliary).length : 0;
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.maxInFlight = this.inFlight;
    this.connectionsOpened = 0;
  }

  clearFaults(): void {
    this.faultQueue.length = 0;
    this.persistentFault = null;
    this.targetedFaults.length = 0;
  }

  /** Requests a `hang` fault holds now (their clients have not given up yet). */
  get hanging(): number {
    return this.held.size;
  }

  /** Lets every request a `hang` fault holds go on to its normal answer; returns how many. */
  releaseHung(): number {
    const held = [...this.held];
    this.held.clear();
    for (const release of held) release(true);
    return held.length;
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
    const fault = this.targetedFaults.find((t) => t.match(request))?.fault ?? this.faultQueue.shift() ?? this.persistentFault;
    if (fault?.kind === 'hang') {
      if (!(await this.hold(res))) return;
    } else if (fault && fault.kind !== 'gzip' && fault.kind !== 'bom') {
      return this.fail(fault, res);
    }
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

  /** Holds a request without answering until `releaseHung()` (true) or its client gives up (false). */
  private hold(res: http.ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const settle = (released: boolean) => {
        this.held.delete(settle);
        resolve(released);
      };
      this.held.add(settle);
      res.once('close', () => settle(false));
    });
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
        return; // held in serve(): never answers unless released
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

/** How a simulator signs a push it sends: its own clock and key unless a test makes them stale or wrong. */
export interface PushSigning {
  /** The time signed, in ms (default now). */
  now?: number;
  /** The key signed with (default the one the real provider would use). */
  key?: string;
  /** Send the body after a UTF-8 byte order mark, signed as sent (some senders add one). */
  bom?: boolean;
}

/** `body` as a push sends it: after a UTF-8 byte order mark when `signing.bom`. */
export const pushBody = (body: string, signing: PushSigning): string => (signing.bom ? `\uFEFF${body}` : body);

/** What a push got back: the status and body of Switchboard's answer. */
export interface PushAnswer {
  status: number;
  body: string;
}

/** POSTs one push, as a provider does, and returns the answer. Rejects only when nothing answers. */
export async function sendPush(url: string, headers: Record<string, string>, body: string): Promise<PushAnswer> {
  const response = await fetch(url, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}
