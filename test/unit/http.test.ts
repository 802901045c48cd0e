import { isPlainPath, parseRetryAfter, upstreamUrl, withQuery } from '../../src/providers/http.js';

describe('withQuery', () => {
  it('appends the parameters in order, encoded, leaving out undefined and empty values', () => {
    expect(withQuery('https://api.example/call/logs', { page: 2, limit: 20, from: undefined, to: '', q: 'a b&c' })).toBe(
      'https://api.example/call/logs?page=2&limit=20&q=a+b%26c',
    );
  });

  it('keeps a query the URL already has', () => {
    expect(withQuery('https://api.example/x?fixed=1', { page: 1 })).toBe('https://api.example/x?fixed=1&page=1');
  });

  it('leaves the URL alone without parameters, or with only empty ones', () => {
    expect(withQuery('https://api.example/x', undefined)).toBe('https://api.example/x');
    expect(withQuery('https://api.example/x', { a: undefined, b: '' })).toBe('https://api.example/x');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('reads seconds and HTTP dates in milliseconds', () => {
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:59:00 GMT', now)).toBe(0);
  });

  it('reads every HTTP-date form as GMT, whatever the process time zone (RFC 9110 §5.6.7)', () => {
    expect(parseRetryAfter('Monday, 23-Nov-26 12:00:05 GMT', now)).toBe(5000);
    // asctime has no zone: Date.parse read it in the local zone, hours off.
    expect(parseRetryAfter('Mon Nov 23 12:00:05 2026', now)).toBe(5000);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('Mon, 30 Feb 2026 12:00:05 GMT', now)).toBeUndefined(); // no such day
  });
});

describe('upstream errors keep their cause', () => {
  it('names a refused connection, keeps the cause non-enumerable and reports its code', async () => {
    const { ConnectionHttp, defaultHttpPolicy } = await import('../../src/providers/http.js');
    const { UpstreamError } = await import('../../src/errors.js');
    const { z } = await import('zod');
    const events: { cause?: string; failure: string | null }[] = [];
    const http = new ConnectionHttp({ provider: 'UNPOD', connection: 'refused' }, { ...defaultHttpPolicy, retries: 0 }, (e) => events.push(e));
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const failure = await http.json({ operation: 'list', method: 'GET', url: 'http://127.0.0.1:1/x', headers: {} }, z.unknown()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as Error).message).toBe('Unpod connection "refused" could not be reached: the connection was refused');
    expect((failure as Error).cause).toBeInstanceOf(Error);
    expect(Object.keys(failure as object)).not.toContain('cause');
    expect(JSON.stringify(failure)).not.toContain('ECONNREFUSED');
    expect(events.at(-1)).toMatchObject({ failure: 'NETWORK', cause: 'ECONNREFUSED' });
  });
});

describe('a 2xx body that means failure', () => {
  it('is decided by the request\'s bodyFailure check, logged and thrown like any failure', async () => {
    const { createServer } = await import('node:http');
    const { ConnectionHttp, defaultHttpPolicy } = await import('../../src/providers/http.js');
    const { UpstreamError } = await import('../../src/errors.js');
    const { z } = await import('zod');
    const server = createServer((_, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":7,"message":"upstream text"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const events: { failure: string | null; status: number | null }[] = [];
      const http = new ConnectionHttp({ provider: 'CINNOX', connection: 'coded' }, { ...defaultHttpPolicy, retries: 0 }, (e) => events.push(e));
      const request = { operation: 'list', method: 'GET' as const, url: `http://127.0.0.1:${port}/`, headers: {} };
      const schema = z.object({ code: z.number() });
      const failure = await http
        .json({ ...request, bodyFailure: (body) => (body.code !== 0 ? { failure: 'HTTP_STATUS' as const, detail: `error code ${body.code}` } : null) }, schema)
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(UpstreamError);
      expect((failure as Error).message).toBe('CINNOX connection "coded" answered with an error status: error code 7');
      expect(events.at(-1)).toMatchObject({ failure: 'HTTP_STATUS', status: 200 });
      // Without the check the same body is an answer.
      expect((await http.json(request, schema)).body).toEqual({ code: 7 });
    } finally {
      server.close();
    }
  });
});

describe('upstreamUrl', () => {
  const base = 'https://api.example/v1';
  it('encodes each value as one segment: a slash, a backslash or a percent stays inside it', () => {
    expect(upstreamUrl(base, 'call', 'a/../b')).toBe('https://api.example/v1/call/a%2F..%2Fb');
    expect(upstreamUrl(base, 'call', '..\\..')).toBe('https://api.example/v1/call/..%5C..');
    expect(upstreamUrl(base, 'call', '%2e%2e')).toBe('https://api.example/v1/call/%252e%252e');
    expect(upstreamUrl(base, 'call', '.%2E')).toBe('https://api.example/v1/call/.%252E');
  });

  it.each(['', '.', '..'])('refuses %j, which URL parsing would drop or resolve', (key) => {
    expect(upstreamUrl(base, 'call', key)).toBeNull();
  });

  it('builds URLs that URL parsing sends as written, whatever the key', () => {
    for (const key of ['..', '.', '%2e%2e', '.%2e', '%2E.', 'a/../b', '..\\..', './', '..%2f..', '?x', '#y', 'é']) {
      const url = upstreamUrl(base, 'call', key);
      if (url === null) continue;
      const parsed = new URL(url);
      expect({ key, path: parsed.pathname, rest: parsed.search + parsed.hash }).toEqual({ key, path: url.slice('https://api.example'.length), rest: '' });
      expect(parsed.pathname.split('/')).toHaveLength(4);
    }
  });
});

describe('isPlainPath', () => {
  it('accepts a path URL parsing sends as written', () => {
    expect(isPlainPath('/2010-04-01/Accounts/AC1/Recordings/RE1.json')).toBe(true);
  });

  it.each(['/2010-04-01/../x.json', '/2010-04-01/./x.json', '/2010-04-01/%2e%2E/x.json', '/2010-04-01/a\\..\\x.json', '//evil.example/x.json', 'relative.json', '/a b.json'])(
    'refuses %j',
    (path) => {
      expect(isPlainPath(path)).toBe(false);
    },
  );
});
