/**
 * Structured JSON logs (pino). Credentials and auth headers are redacted by path as a second line of
 * defence; the first is that nothing logs a request's headers or an upstream body at all.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'switchboard' },
      redact: {
        // Wildcards match one level down; the request log and upstream-failure lines
        // (src/observability/requestLog.ts) carry none of these, this is for stray objects.
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers["x-api-key"]',
          'password',
          'token',
          'apiKey',
          'appToken',
          'secret',
          'settings',
          'credentials',
          'variables',
          '*.password',
          '*.token',
          '*.apiKey',
          '*.appToken',
          '*.appId',
          '*.secret',
          '*.settings',
          '*.credentials',
          '*.variables',
          'err.options',
          'err.request',
          'err.response',
          // ioredis sets err.command = { name, args } on a reply error: the args of a failed script
          // are call data (a watch window, a webhook payload with its signed media links).
          'err.command',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
