/** Tracing's pure parts: which OTEL_* settings turn it on, and what of an upstream URL a span shows. */
import { ConfigError } from '../../src/config.js';
import { tracingFromEnv, urlAttributes } from '../../src/observability/tracing.js';

describe('tracingFromEnv', () => {
  it('sets up nothing unless the variables ask for it', async () => {
    expect(await tracingFromEnv({})).toBeNull();
    expect(await tracingFromEnv({ OTEL_SERVICE_NAME: 'switchboard-eu' })).toBeNull();
    expect(await tracingFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeNull();
    expect(await tracingFromEnv({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBeNull();
  });

  it.each([
    { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' },
    { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' },
    { OTEL_TRACES_EXPORTER: 'otlp' },
    { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
    { OTEL_TRACES_EXPORTER: 'console' },
  ])('traces with %j', async (env) => {
    const tracing = await tracingFromEnv(env);
    expect(tracing).not.toBeNull();
    await tracing!.shutdown();
  });

  it('refuses an exporter or protocol it does not ship, naming the variable', async () => {
    await expect(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(ConfigError);
    await expect(tracingFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(/OTEL_TRACES_EXPORTER: "zipkin"/);
    await expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL: "grpc"/,
    );
  });
});

describe('urlAttributes', () => {
  it('drops userinfo, redacts templated path segments and every query value but paging', () => {
    expect(
      urlAttributes('https://user:secret@api.example.com/v1/apps/app-123/data/call-log?sig=abc&page=2#x', 'GET /apps/{appID}/data/call-log', {
        limit: 50,
        callID: 'c-42',
        number: '+14155550100',
        empty: '',
        skipped: undefined,
      }),
    ).toEqual({
      'url.full': 'https://api.example.com/v1/apps/REDACTED/data/call-log?sig=REDACTED&page=2&limit=50&callID=REDACTED&number=REDACTED',
      'url.template': '/apps/{appID}/data/call-log',
      'server.address': 'api.example.com',
      'server.port': 443,
    });
  });

  it('reads the port, and leaves a path without placeholders alone', () => {
    expect(urlAttributes('http://127.0.0.1:8080/call/logs', 'GET /call/logs', { page: 1 })).toMatchObject({
      'url.full': 'http://127.0.0.1:8080/call/logs?page=1',
      'server.port': 8080,
    });
    expect(urlAttributes('http://twenty2.example/call/logs', 'GET /call/logs')['server.port']).toBe(80);
  });
});
