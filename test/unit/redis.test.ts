/**
 * The Redis-down warning (src/calls/cache.ts `redisFailure`): it names what failed — the error's
 * code and message — and never REDIS_URL or its credentials; the URL's host and port are replaced
 * where they appear as written (an address resolved from the host is not a secret, and stays).
 */
import { redisFailure } from '../../src/calls/cache.js';

const URL_WITH_CREDENTIALS = 'redis://cacheuser:s3cret%2Fpassw0rd@cache.internal:6380/0';

const errno = (message: string, code: string) => Object.assign(new Error(message), { code });
/** ioredis's ReplyError: a Redis error reply, whose first word is Redis's own code. */
class ReplyError extends Error {
  override name = 'ReplyError';
}

describe('redisFailure', () => {
  test.each([
    ['connection refused', errno('connect ECONNREFUSED 10.0.0.7:6380', 'ECONNREFUSED'), 'ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.7:6380'],
    ['unknown host', errno('getaddrinfo ENOTFOUND cache.internal', 'ENOTFOUND'), 'ENOTFOUND', 'getaddrinfo ENOTFOUND <host>'],
    ['host and port', errno('connect ETIMEDOUT cache.internal:6380', 'ETIMEDOUT'), 'ETIMEDOUT', 'connect ETIMEDOUT <host>:<port>'],
    ['wrong password', new ReplyError('WRONGPASS invalid username-password pair or user is disabled.'), 'WRONGPASS', 'WRONGPASS invalid username-password pair or user is disabled.'],
    ['a message quoting the URL', new Error(`Could not connect to ${URL_WITH_CREDENTIALS}`), 'Error', 'Could not connect to <REDIS_URL>'],
    ['a message quoting the credentials', new Error('AUTH cacheuser s3cret/passw0rd failed'), 'AUTH', 'AUTH <user> <password> failed'],
  ])('%s: the code and the message, never the URL or its credentials', (_name, error, code, reason) => {
    const failure = redisFailure(error, URL_WITH_CREDENTIALS);
    expect(failure).toEqual({ code, reason });
    expect(JSON.stringify(failure)).not.toMatch(/s3cret|cacheuser|cache\.internal/);
  });
});
