/**
 * Provider pushes in (docs/live.md, "Provider pushes"): `POST /providers/<provider>/<connection>/events`,
 * where Twilio's status callbacks, Vapi's server messages and Retell's webhooks are pointed. A push
 * is verified by its provider's module (src/providers/<provider>/push.ts: signature, credential,
 * timestamp tolerance, on the raw body); one that does not verify is refused (401 PUSH_UNVERIFIED or
 * PUSH_EXPIRED, 400 for a verified body that does not read) before it has any effect. One that does
 * is a hint, never data: the calls it names go to the connection's watcher (src/live/source.ts
 * `push`), which reads them through the adapter and diffs them as it diffs a poll. So a push and a
 * poll of one change yield one event, a replayed push yields none, and a lost push costs only
 * latency: the watcher still polls.
 */
import type http from 'node:http';
import { connectionLabel } from '../calls/model.js';
import type { ConnectionConfig } from '../config.js';
import { ErrorCode, PushRefusedError } from '../errors.js';
import { HttpError, sendJson } from '../graphqlOverHttp.js';
import type { Logger } from '../logger.js';
import { providerModule } from '../providers/index.js';
import type { PushRequest } from '../providers/module.js';
import { readCapped } from '../readCapped.js';
import type { LiveEvents } from './source.js';

/** The path a connection's pushes are received at: `/providers/twilio/default/events`. */
export const pushPath = (config: ConnectionConfig): string =>
  `/providers/${config.provider.toLowerCase()}/${encodeURIComponent(config.connection)}/events`;

const PUSH_PATH = /^\/providers\/[^/]+\/[^/]+\/events$/;

/** What a push endpoint needs: the connections (with their settings), where pushes go, and bounds. */
export interface PushEndpointOptions {
  connections: readonly ConnectionConfig[];
  events: LiveEvents;
  /** The largest body read (SWITCHBOARD_MAX_BODY_BYTES); a larger one is refused with 413. */
  maxBodyBytes: number;
  logger: Logger;
  /** Counts each push by connection and outcome (`applied`, `forwarded`, `unwatched`, `ignored` or the refusal's code). */
  count?: (connection: string, outcome: string) => void;
  now?: () => number;
}

/**
 * The URL the provider posted to, as it signed it: the Host (or X-Forwarded-Host) and the scheme
 * (X-Forwarded-Proto, else the socket's) of the request, and its path and query as sent. A proxy in
 * front of Switchboard must pass those headers on, or Twilio's signatures do not verify.
 */
function requestUrl(req: http.IncomingMessage): string {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.split(',')[0]?.trim();
  const scheme = first(req.headers['x-forwarded-proto']) ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
  const host = first(req.headers['x-forwarded-host']) ?? req.headers.host ?? 'localhost';
  return `${scheme}://${host}${req.url ?? '/'}`;
}

/**
 * The push endpoint as a route: resolves true when `pathname` is a push path (and it answered, or
 * threw an HttpError for the server's one error answer), false for any other path.
 */
export function pushEndpoint(options: PushEndpointOptions) {
  const byPath = new Map(options.connections.flatMap((c) => (providerModule(c.provider).push ? [[pushPath(c), c] as const] : [])));
  const now = options.now ?? Date.now;
  return async (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<boolean> => {
    if (!PUSH_PATH.test(pathname)) return false;
    const config = byPath.get(pathname);
    if (!config) throw new HttpError(404, `No provider pushes are received at ${pathname.slice(0, 100)}: no such connection of a provider that pushes (Twilio, Vapi, Retell AI)`, ErrorCode.NotFound);
    if (req.method !== 'POST') throw new HttpError(405, 'Provider pushes are POST requests', ErrorCode.BadRequest, { allow: 'POST' });
    const label = connectionLabel(config);
    // The rest of the body is not read: the connection ends with the answer (RFC 9110 §15.5.14).
    const tooLarge = () => new HttpError(413, `Request body larger than ${options.maxBodyBytes} bytes`, ErrorCode.BadRequest, { connection: 'close' });
    if (Number(req.headers['content-length'] ?? 0) > options.maxBodyBytes) throw tooLarge();
    const body = await readCapped(req, options.maxBodyBytes, { keepOpen: true }).catch(() => {
      throw new HttpError(400, 'Malformed request: the body could not be read');
    });
    if (body === null) throw tooLarge();
    const request: PushRequest = {
      url: requestUrl(req),
      header: (name) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      body,
      now: now(),
    };
    let calls;
    try {
      calls = providerModule(config.provider).push!(config.settings as never, request);
    } catch (error) {
      if (!(error instanceof PushRefusedError)) throw error;
      options.count?.(label, error.code);
      // The reason, never the body or a header's value.
      options.logger.info({ connection: label, code: error.code }, `push: refused a push to ${label}: ${error.message}`);
      throw new HttpError(error.status, error.message, error.code);
    }
    const outcome = calls.length === 0 ? 'ignored' : await options.events.push(label, calls.map((c) => ({ key: c.key, startedAt: c.startedAt ?? new Date(request.now) })));
    options.count?.(label, outcome);
    sendJson(res, 200, { received: true });
    return true;
  };
}
