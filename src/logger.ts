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
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.password',
          '*.token',
          '*.apiKey',
          '*.appToken',
          '*.secret',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
