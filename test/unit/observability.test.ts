/** The rules behind /health states and /metrics labels, on a controlled clock. */
import { DEGRADED_WINDOW_MS, HealthTracker } from '../../src/observability/health.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { LiveConnection as Connection } from '../../src/providers/index.js';

const connection = (breakerState: 'closed' | 'open' | 'half-open' = 'closed') =>
  ({ label: 'unpod/default', http: { ref: { provider: 'UNPOD', connection: 'default' }, breakerState } }) as unknown as Connection;

const event = (failure: string | null) => ({
  provider: 'UNPOD' as const,
  connection: 'default',
  operation: 'GET /calls',
  status: failure ? 503 : 200,
  durationMs: 12,
  failure,
});

describe('HealthTracker', () => {
  test('a failure degrades the connection for 60 s, then it is ok again', () => {
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const tracker = new HealthTracker(DEGRADED_WINDOW_MS, () => now);
    expect(tracker.report([connection()], 'demo').connections[0]).toMatchObject({ state: 'ok', lastErrorAt: null });

    tracker.observeUpstream(event('TIMEOUT'));
    now += 1_000;
    tracker.observeUpstream(event(null)); // a later success does not hide the recent failure
    const degraded = tracker.report([connection()], 'demo');
    expect(degraded.status).toBe('degraded');
    expect(degraded.connections[0]).toMatchObject({
      state: 'degraded',
      lastError: 'TIMEOUT',
      lastErrorAt: '2026-01-01T00:00:00.000Z',
      lastSuccessAt: '2026-01-01T00:00:01.000Z',
    });

    now += DEGRADED_WINDOW_MS - 1_001;
    expect(tracker.report([connection()], 'demo').connections[0]!.state).toBe('degraded');
    now += 1;
    expect(tracker.report([connection()], 'demo')).toMatchObject({ status: 'ok', connections: [{ state: 'ok', lastError: 'TIMEOUT' }] });
  });

  test('the breaker decides first: open is breaker_open, half-open is degraded', () => {
    const tracker = new HealthTracker();
    expect(tracker.report([connection('open')], 'configured').connections[0]!.state).toBe('breaker_open');
    expect(tracker.report([connection('half-open')], 'configured').connections[0]!.state).toBe('degraded');
  });
});

describe('Metrics operation labels', () => {
  test('client-chosen names are bounded: malformed or beyond the cap count as "other"', () => {
    const metrics = new Metrics({ maxOperationNames: 2 });
    expect(metrics.operationLabel('A', true)).toBe('A');
    expect(metrics.operationLabel('B', true)).toBe('B');
    expect(metrics.operationLabel('C', true)).toBe('other');
    expect(metrics.operationLabel('A', true)).toBe('A');
    expect(metrics.operationLabel('bad name"}', true)).toBe('other');
    expect(metrics.operationLabel(null, true)).toBe('anonymous');
    expect(metrics.operationLabel('A', false)).toBe('invalid');
  });
});

describe('Metrics process metrics', () => {
  test("prom-client's defaults without eventLoopLag, whose timer would wake an idle process every 10 ms", async () => {
    const { body } = await new Metrics({ processMetrics: true }).render();
    expect(body).toMatch(/^switchboard_process_cpu_seconds_total \d/m);
    expect(body).toMatch(/^switchboard_process_resident_memory_bytes \d/m);
    expect(body).toMatch(/^switchboard_nodejs_heap_size_used_bytes \d/m);
    expect(body).toMatch(/^# TYPE switchboard_nodejs_gc_duration_seconds histogram$/m);
    expect(body).not.toMatch(/eventloop_lag/);
  });
});

describe('LOG_LEVEL', () => {
  test('defaults to info, accepts pino levels in any case, and rejects others with a message', async () => {
    const { ConfigError, loadConfig } = await import('../../src/config.js');
    expect(loadConfig({}).logLevel).toBe('info');
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud"');
  });
});
