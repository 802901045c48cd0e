/**
 * Structured request logs: one pino line per GraphQL request (operation, duration, upstream requests
 * per connection, error codes) and one per failed upstream request (provider, connection, failure,
 * status). Neither ever carries a body, a header, variables or the query text: those can hold
 * credentials or callers' data.
 *
 * Upstream requests are counted per GraphQL request through AsyncLocalStorage: the server runs each
 * request's handler inside `requestScope.run`, and `ConnectionHttp` binds queued work to its
 * caller's async context, so a request counts only its own upstream calls.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { UpstreamEvent, UpstreamObserver } from '../providers/http.js';

/** What one GraphQL request did upstream, filled by `observeUpstream`. */
export interface RequestTally {
  /** Upstream requests per connection label ("twenty2/default"), retries included. */
  upstream: Record<string, number>;
}

const requestScope = new AsyncLocalStorage<RequestTally>();

/** Express middleware: runs the rest of the request inside a fresh tally. Mount before Apollo. */
export function withRequestTally(_req: Request, _res: Response, next: NextFunction): void {
  requestScope.run({ upstream: {} }, next);
}

/** The upstream observer: counts into the current request's tally and logs each failure. */
export function logUpstream(logger: Logger): UpstreamObserver {
  return (event: UpstreamEvent) => {
    const label = `${event.provider.toLowerCase()}/${event.connection}`;
    const tally = requestScope.getStore();
    if (tally) tally.upstream[label] = (tally.upstream[label] ?? 0) + 1;
    if (event.failure === null) return;
    logger.warn(
      {
        event: 'upstream_failure',
        provider: event.provider,
        connection: event.connection,
        operation: event.operation,
        failure: event.failure,
        status: event.status,
        durationMs: Math.round(event.durationMs),
      },
      `upstream ${label} ${event.operation} failed: ${event.failure}${event.status ? ` (HTTP ${event.status})` : ''}`,
    );
  };
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The Apollo plugin writing the one line per GraphQL request. List it after plugins that add errors. */
export function requestLogPlugin<C extends BaseContext>(logger: Logger): ApolloServerPlugin<C> {
  return {
    async requestDidStart(start) {
      const started = performance.now();
      const tally = requestScope.getStore() ?? { upstream: {} };
      return {
        async willSendResponse({ response, operationName, request }) {
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codes = [...new Set(errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN')))];
          // Operation names are client-chosen: keep well-formed ones only, so a log line stays bounded.
          const name = operationName ?? request.operationName ?? start.request.operationName ?? null;
          logger.info(
            {
              event: 'graphql_request',
              operationName: name && OPERATION_NAME.test(name) ? name : name ? '(invalid)' : null,
              durationMs: Math.round(performance.now() - started),
              upstream: { ...tally.upstream },
              upstreamRequests: Object.values(tally.upstream).reduce((a, b) => a + b, 0),
              errorCodes: codes,
              status: response.http.status ?? 200,
            },
            'graphql request',
          );
        },
      };
    },
  };
}
