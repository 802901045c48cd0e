/**
 * Structured request logs: one pino line per GraphQL request (operation, duration, upstream requests
 * per connection, error codes), one per failed upstream request (provider, connection, failure,
 * status) and one per distinct row a provider sent that could not be read. Neither ever carries a body, a header, variables or the query text: those can hold
 * credentials or callers' data.
 *
 * Upstream requests are counted per GraphQL request by the request's own view of each connection
 * (`Connection.forRequest`, built in src/context.ts) into `upstreamRequests` of its context, so a
 * request counts only its own upstream calls. (AsyncLocalStorage did this before; its promise
 * hooks cost about 15% of requests/s on Node 20.)
 */
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { LRUCache } from 'lru-cache';
import type { InvalidRowError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { UpstreamEvent, UpstreamObserver } from '../providers/http.js';

/** What the request log reads from a request's context. */
export interface RequestTally {
  /** Upstream requests per connection label ("twenty2/default"), retries included. */
  upstreamRequests: Record<string, number>;
  /** Seconds old, per connection label, of the watched windows `calls` rows were served from (docs/live.md, "Freshness"). */
  dataAge?: Record<string, number>;
}

/** The upstream observer: logs each failure. */
export function logUpstream(logger: Logger): UpstreamObserver {
  return (event: UpstreamEvent) => {
    if (event.failure === null) return;
    const label = `${event.provider.toLowerCase()}/${event.connection}`;
    logger.warn(
      {
        event: 'upstream_failure',
        provider: event.provider,
        connection: event.connection,
        operation: event.operation,
        failure: event.failure,
        ...(event.cause ? { cause: event.cause } : {}),
        status: event.status,
        durationMs: Math.round(event.durationMs),
      },
      `upstream ${label} ${event.operation} failed: ${event.failure}${event.cause ? ` (${event.cause})` : ''}${event.status ? ` (HTTP ${event.status})` : ''}`,
    );
  };
}

/** Distinct unreadable rows remembered, so each is logged once (more than this may be logged again). */
const INVALID_ROWS_REMEMBERED = 10_000;

/**
 * Logs each distinct unreadable row once per process, at warn: provider, connection, the provider's
 * call id when known and the offending path — never the row.
 */
export function logInvalidRows(logger: Logger): (error: InvalidRowError) => void {
  const logged = new LRUCache<string, true>({ max: INVALID_ROWS_REMEMBERED });
  return (error) => {
    const key = `${error.provider}|${error.connection}|${error.fingerprint}`;
    if (logged.has(key)) return;
    logged.set(key, true);
    logger.warn(
      {
        event: 'provider_data_invalid',
        provider: error.provider,
        connection: error.connection,
        providerCallId: error.providerCallId,
        problem: error.problem,
      },
      `provider ${error.provider.toLowerCase()}/${error.connection} sent a row Switchboard could not read: ${error.problem}`,
    );
  };
}

const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The Apollo plugin writing the one line per GraphQL request. List it after plugins that add errors. */
export function requestLogPlugin<C extends BaseContext & RequestTally>(logger: Logger): ApolloServerPlugin<C> {
  return {
    async requestDidStart(start) {
      const started = performance.now();
      const tally = start.contextValue.upstreamRequests;
      const { dataAge } = start.contextValue;
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
              upstream: { ...tally },
              upstreamRequests: Object.values(tally).reduce((a, b) => a + b, 0),
              ...(dataAge && Object.keys(dataAge).length > 0 ? { dataAge: { ...dataAge } } : {}),
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
