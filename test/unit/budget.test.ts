/**
 * The pure parts of the two budgets: the scan budget's counting, frontier positions and their
 * cursors, backward window growth, retry delays, and the configuration of both.
 */
import { ScanBudget } from '../../src/calls/budget.js';
import { CursorCodec } from '../../src/calls/cursor.js';
import { END_OF_LIST, comparePositions, cutBefore, type Position } from '../../src/calls/model.js';
import { nextSpan } from '../../src/calls/streams.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { UpstreamError } from '../../src/errors.js';
import { retryDelay } from '../../src/providers/http.js';

describe('ScanBudget', () => {
  it('counts list requests per connection, refuses past the budget unless told to go regardless', () => {
    const budget = new ScanBudget(2);
    expect(budget.take('unpod/default')).toBe(true);
    expect(budget.spent('unpod/default')).toBe(false);
    expect(budget.take('unpod/default')).toBe(true);
    expect(budget.spent('unpod/default')).toBe(true);
    expect(budget.take('unpod/default')).toBe(false);
    expect(budget.take('unpod/default', true)).toBe(true); // a stream that has not moved yet
    expect(budget.take('twenty2/default')).toBe(true); // another connection has its own
  });
});

describe('frontier positions', () => {
  const row = (t: number, rank = 0, key = 'k'): Position => [t, rank, 'default', key];

  it('sit between instants: after every call of a later instant, before every call of theirs', () => {
    const cut = cutBefore(1000);
    expect(comparePositions(row(1001, 3, 'zzz'), cut)).toBeLessThan(0);
    expect(comparePositions(cut, row(1000, 0, ''))).toBeLessThan(0);
    expect(comparePositions(cut, row(999))).toBeLessThan(0);
  });

  it('the end of the list comes after every call', () => {
    expect(comparePositions(row(-8.64e15 + 1), END_OF_LIST)).toBeLessThan(0);
    expect(comparePositions(row(0), END_OF_LIST)).toBeLessThan(0);
  });

  it('round-trip through signed cursors with the resume point and window span, byte-stable', () => {
    const codec = new CursorCodec(Buffer.alloc(32, 7));
    const binding = { filter: '[]', scope: 'anonymous' };
    const payload = { position: END_OF_LIST, hints: { 'twenty2/default': 42 }, resume: cutBefore(1_790_000_000_000), span: 28_800_000 };
    const cursor = codec.encode(payload, binding);
    expect(codec.decode(cursor, binding, 'before')).toEqual(payload);
    expect(codec.encode(payload, binding)).toBe(cursor);
    // An altered span is an altered cursor.
    const [data] = cursor.split('.') as [string];
    const json = Buffer.from(data, 'base64url').toString().replace('28800000', '99999999');
    const forged = `${Buffer.from(json).toString('base64url')}.${cursor.split('.')[1]}`;
    expect(() => codec.decode(forged, binding, 'before')).toThrow(/"before"/);
  });
});

describe('nextSpan (backward windows)', () => {
  it('grows 8× while windows are sparse, less as they near a page, shrinks after several pages', () => {
    expect(nextSpan(3_600_000, 0, 100)).toBe(8 * 3_600_000);
    expect(nextSpan(3_600_000, 25, 100)).toBe(4 * 3_600_000);
    expect(nextSpan(3_600_000, 400, 100)).toBe(900_000);
    expect(nextSpan(3_600_000, 100_000, 100)).toBe(450_000); // never below ⅛
    expect(nextSpan(1000, 1000, 100)).toBe(1000); // nor below a second
    expect(nextSpan(2 ** 40, 0, 100)).toBe(2 ** 40); // nor past ~35 years
  });
});

describe('retryDelay', () => {
  const ref = { provider: 'UNPOD' as const, connection: 'default' };
  const settings = { retries: 2, maxRetryAfterMs: 2000 };

  it('backs off 25–75 ms, then 50–150 ms, for what is worth retrying; twice at most', () => {
    const error = new UpstreamError(ref, 'HTTP_STATUS', { status: 503 });
    for (let i = 0; i < 50; i++) {
      expect(retryDelay(error, 1, settings)).toBeGreaterThanOrEqual(25);
      expect(retryDelay(error, 1, settings)).toBeLessThanOrEqual(75);
      expect(retryDelay(error, 2, settings)).toBeGreaterThanOrEqual(50);
      expect(retryDelay(error, 2, settings)).toBeLessThanOrEqual(150);
    }
    expect(retryDelay(error, 3, settings)).toBeNull();
    expect(retryDelay(error, 1, { ...settings, retries: 0 })).toBeNull();
  });

  it('waits for a short Retry-After, not for a long one, and never retries time-outs or 4xx', () => {
    expect(retryDelay(new UpstreamError(ref, 'RATE_LIMITED', { status: 429, retryAfter: 2 }), 1, settings)).toBe(2000);
    expect(retryDelay(new UpstreamError(ref, 'RATE_LIMITED', { status: 429, retryAfter: 3 }), 1, settings)).toBeNull();
    expect(retryDelay(new UpstreamError(ref, 'TIMEOUT'), 1, settings)).toBeNull();
    expect(retryDelay(new UpstreamError(ref, 'HTTP_STATUS', { status: 400 }), 1, settings)).toBeNull();
    expect(retryDelay(new UpstreamError(ref, 'CIRCUIT_OPEN'), 1, settings)).toBeNull();
  });
});

describe('configuration', () => {
  it('defaults: 10 list requests per connection, 10 s per connection', () => {
    const config = loadConfig({});
    expect(config.scanBudget).toBe(10);
    expect(config.http.requestBudgetMs).toBe(10_000);
  });

  it('reads both, and stops start-up naming a bad one', () => {
    const config = loadConfig({ SWITCHBOARD_SCAN_BUDGET: '3', SWITCHBOARD_UPSTREAM_BUDGET_MS: '2500' });
    expect([config.scanBudget, config.http.requestBudgetMs]).toEqual([3, 2500]);
    for (const [name, value] of [
      ['SWITCHBOARD_SCAN_BUDGET', '0'],
      ['SWITCHBOARD_SCAN_BUDGET', 'lots'],
      ['SWITCHBOARD_SCAN_BUDGET', '2.5'],
      ['SWITCHBOARD_UPSTREAM_BUDGET_MS', '50'],
      ['SWITCHBOARD_UPSTREAM_BUDGET_MS', '-1'],
    ] as const) {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
    }
  });
});
