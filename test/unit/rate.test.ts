/**
 * A connection's request budget (src/providers/rate.ts): waiting for a turn within the request's
 * deadline, refusing when the turn comes too late. A fake clock and a scripted limiter; no timers.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { UpstreamError } from '../../src/errors.js';
import { type RateConsumer, UpstreamRate, createUpstreamRates } from '../../src/providers/rate.js';
import type { ConnectionConfig } from '../../src/config.js';

const ref = { provider: 'UNPOD', connection: 'sales' } as const;

/** A fixed-window budget of `points` per `windowMs` on a fake clock, as rate-limiter-flexible answers. */
function fakeBudget(points: number, windowMs: number, clock: { now: number }): RateConsumer & { consumed: number } {
  let windowStart = 0;
  let used = 0;
  const budget = {
    consumed: 0,
    async consume() {
      if (clock.now >= windowStart + windowMs) {
        windowStart = Math.floor(clock.now / windowMs) * windowMs;
        used = 0;
      }
      if (used >= points) throw new RateLimiterRes(0, windowStart + windowMs - clock.now, used + 1);
      used++;
      budget.consumed++;
      return new RateLimiterRes(points - used, windowStart + windowMs - clock.now, used);
    },
  };
  return budget as unknown as RateConsumer & { consumed: number };
}

function setup(points: number) {
  const clock = { now: 0 };
  const waits: number[] = [];
  const budget = fakeBudget(points, 1000, clock);
  const rate = new UpstreamRate(ref, points, budget, 'k', () => clock.now, async (ms) => {
    waits.push(ms);
    clock.now += ms;
  });
  return { clock, waits, budget, rate };
}

describe('UpstreamRate.take', () => {
  it('gives turns at once while the budget lasts', async () => {
    const { waits, budget, rate } = setup(3);
    for (let i = 0; i < 3; i++) await rate.take(10_000);
    expect(waits).toEqual([]);
    expect(budget.consumed).toBe(3);
  });

  it('over the budget, waits for the next window and then takes its turn', async () => {
    const { clock, waits, budget, rate } = setup(2);
    clock.now = 250;
    await rate.take(10_000);
    await rate.take(10_000);
    await rate.take(10_000);
    expect(waits).toEqual([750]); // to the start of the next one-second window
    expect(clock.now).toBe(1000);
    expect(budget.consumed).toBe(3);
  });

  it('refuses as RATE_LIMITED, naming the connection and without waiting, when the turn would come at or after the deadline', async () => {
    const { clock, waits, budget, rate } = setup(1);
    clock.now = 100;
    await rate.take(1_000);
    const refusal = await rate.take(1_000).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UpstreamError);
    const error = refusal as UpstreamError;
    expect(error.failure).toBe('RATE_LIMITED');
    expect(error.connection).toBe('sales');
    expect(error.message).toBe('Unpod connection "sales" is rate limiting requests: its budget of 1 requests a second is used up for longer than this request can wait');
    expect(error.details.retryAfter).toBe(1);
    expect(waits).toEqual([]);
    expect(budget.consumed).toBe(1);
    // A deadline just past the next window is enough.
    await rate.take(1_001);
    expect(waits).toEqual([900]);
  });

  it('lets the request go when the limiter fails other than by refusing', async () => {
    const broken: RateConsumer = { consume: async () => Promise.reject(new Error('bug')) };
    await expect(new UpstreamRate(ref, 1, broken, 'k').take(performance.now() + 1000)).resolves.toBeUndefined();
  });
});

describe('createUpstreamRates without Redis', () => {
  const config = (upstreamRatePerSecond?: number) =>
    ({ provider: 'UNPOD', connection: 'sales', settings: {}, ...(upstreamRatePerSecond === undefined ? {} : { upstreamRatePerSecond }) }) as unknown as ConnectionConfig;

  it('gives no budget at 0 (unlimited), the default unless the connection sets its own', async () => {
    const rates = createUpstreamRates(null);
    expect(rates.forConnection(config(), 0)).toBeUndefined();
    expect(rates.forConnection(config(0), 5)).toBeUndefined();
    expect(rates.forConnection(config(), 5)!.perSecond).toBe(5);
    expect(rates.forConnection(config(2), 5)!.perSecond).toBe(2);
    await rates.close();
  });

  it('counts in memory: the budget of 2 refuses a third request that cannot wait', async () => {
    const rates = createUpstreamRates(null);
    const rate = rates.forConnection(config(2), 0)!;
    const now = performance.now();
    await rate.take(now + 5_000);
    await rate.take(now + 5_000);
    // A deadline already reached: the third turn (next window) is too late.
    await expect(rate.take(performance.now())).rejects.toMatchObject({ failure: 'RATE_LIMITED' });
    await rates.close();
  });
});

it('rate-limiter-flexible answers a refusal with a RateLimiterRes (what UpstreamRate relies on)', async () => {
  const limiter = new RateLimiterMemory({ points: 1, duration: 1 });
  await limiter.consume('x');
  const refusal = await limiter.consume('x').catch((error: unknown) => error);
  expect(refusal).toBeInstanceOf(RateLimiterRes);
  expect((refusal as RateLimiterRes).msBeforeNext).toBeGreaterThan(0);
});
