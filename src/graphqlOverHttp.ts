/**
 * GraphQL over HTTP on plain node:http: reads the request body (capped, JSON only, gzip/deflate/br
 * inflated within the same cap), hands the request to Apollo Server's `executeHTTPGraphQLRequest`
 * and writes its answer. This is what Express, body-parser and the Express integration did for us;
 * without them a page costs markedly less CPU (docs/benchmark.md, "Profile history"), and
 * the few routes Switchboard serves need no framework (src/server.ts).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import zlib from 'node:zlib';
import { type ApolloServer, type ApolloServerPlugin, type BaseContext, HeaderMap } from '@apollo/server';
import Negotiator from 'negotiator';
import { ErrorCode } from './errors.js';
import { readCapped, utf8Text } from './readCapped.js';

/** An HTTP-level refusal (before GraphQL): its status and a message safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: ErrorCode = status === 401 ? ErrorCode.Unauthenticated : ErrorCode.BadRequest,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Answers `status` with a JSON body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers with the GraphQL-shaped error body clients already parse for every other error. */
export function sendHttpError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] }, error.headers);
}

/** Whether a request with an `Upgrade` header asks for a WebSocket (RFC 6455 §4.1), not another protocol (h2c). */
export function wantsWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').split(',').some((protocol) => protocol.trim().toLowerCase() === 'websocket');
}

/**
 * Serves a request that offered to upgrade to a protocol other than WebSocket as an ordinary
 * request, ignoring the offer as a server may (RFC 9110 §7.8): Node hands every request with an
 * `Upgrade` header to the 'upgrade' listener once one exists (Node 20 has no per-request choice), so
 * `curl --http2` or Java's HttpClient, which offer h2c on http:// URLs, would otherwise reach the
 * WebSocket handshake. The request's head is written back, without its upgrade headers, in front
 * of what followed it, and the socket handed to `server` as a new connection, whose parser reads it
 * (body included) as any request.
 */
export function ignoreUpgrade(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'upgrade' || lower === 'http2-settings') continue;
    if (lower === 'connection') {
      const kept = value.split(',').map((token) => token.trim()).filter((token) => !/^(upgrade|http2-settings)$/i.test(token));
      if (kept.length > 0) lines.push(`${name}: ${kept.join(', ')}`);
      continue;
    }
    lines.push(`${name}: ${value}`);
  }
  socket.unshift(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]));
  server.emit('connection', socket);
}

/** The request's path and query string, split without building a URL object. */
export function splitUrl(url = '/'): { pathname: string; search: string } {
  const q = url.indexOf('?');
  return q < 0 ? { pathname: url, search: '' } : { pathname: url.slice(0, q), search: url.slice(q) };
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  switch (encoding) {
    case 'identity':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(zlib.createGunzip());
    case 'deflate':
      return req.pipe(zlib.createInflate());
    case 'br':
      return req.pipe(zlib.createBrotliDecompress());
    default:
      throw new HttpError(415, `Unsupported Content-Encoding "${encoding.slice(0, 40)}"`);
  }
}

/**
 * A POST whose body is not declared JSON: `curl -d` sends `application/x-www-form-urlencoded`
 * unless told otherwise. Such a request can never run here, and the types a browser may send
 * cross-site without a preflight (form, multipart, text) are what CSRF prevention refuses, so the
 * message says what to send rather than Apollo's "blocked as a potential CSRF".
 */
function notJson(contentType: string | undefined): HttpError {
  const given = contentType === undefined ? 'has no Content-Type' : `has Content-Type "${contentType.slice(0, 60)}"`;
  return new HttpError(
    400,
    `POST /graphql takes a JSON body sent with the header "Content-Type: application/json" (curl: -H 'content-type: application/json'); this request ${given}. ` +
      'Form and text types are refused so that no web page can send queries cross-site (CSRF prevention); GET /graphql?query=… needs no body.',
  );
}

/**
 * The parsed JSON body of a POST, or undefined for a GET. A POST must declare a JSON type, else it
 * is refused with 400 saying what to send. Bodies over `limit` bytes, counted after inflating, are
 * refused with 413 without being buffered.
 * A leading UTF-8 byte order mark is ignored (RFC 8259 §8.1).
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (req.method !== 'POST') return undefined;
  if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) throw notJson(req.headers['content-type']);
  // The rest of the body is not read: the connection ends with the answer (RFC 9110 §15.5.14).
  const tooLarge = () => new HttpError(413, `Request body larger than ${limit} bytes`, ErrorCode.BadRequest, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > limit && !req.headers['content-encoding']) throw tooLarge();
  const body = await readCapped(decoded(req), limit, { keepOpen: true }).catch(() => {
    throw new HttpError(400, 'Malformed request: the body could not be read');
  });
  if (body === null) throw tooLarge();
  const text = utf8Text(body);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Malformed request: the body is not valid JSON');
  }
}

/**
 * The media type Apollo Server answers a single result with for this `Accept`: application/json
 * when none is sent, else the client's preference (its `chooseContentTypeForSingleResultResponse`).
 */
function answerType(accept: string | undefined): string | undefined {
  if (!accept) return 'application/json';
  return new Negotiator({ headers: { accept } }).mediaType(['application/json', 'application/graphql-response+json']);
}

/**
 * GraphQL over HTTP: a request error (parse, validation, variable coercion, cost: errors and no
 * `data`) of a well-formed request SHOULD be 200 when answered as `application/json`, the legacy
 * type whose clients take any other status for a transport failure and never show the errors;
 * as `application/graphql-response+json` it keeps Apollo's 400, as the spec asks for that type.
 * Requests that are not well-formed (no query or not a string, CSRF, `variables` not an object:
 * Apollo's BAD_REQUEST) keep their 400. Listed before the request log, so the log has the status sent.
 */
export const requestErrorStatusPlugin: ApolloServerPlugin<BaseContext> = {
  async requestDidStart({ request }) {
    return {
      async willSendResponse({ response }) {
        if (response.http.status !== 400 || response.body.kind !== 'single') return;
        const { data, errors = [] } = response.body.singleResult;
        if (data !== undefined || errors.some((error) => error.extensions?.code === 'BAD_REQUEST')) return;
        if (answerType(request.http?.headers.get('accept')) === 'application/json') response.http.status = 200;
      },
    };
  },
};

/** Runs one GraphQL request through Apollo Server and writes its answer (single or incremental). */
export async function executeGraphQL<TContext extends BaseContext>(
  apollo: ApolloServer<TContext>,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  search: string,
  context: () => Promise<TContext>,
): Promise<void> {
  const headers = new HeaderMap();
  for (const key in req.headers) {
    const value = req.headers[key];
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const response = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search, body },
    context,
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.setHeader('content-length', Buffer.byteLength(response.body.string));
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}
