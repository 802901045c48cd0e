import { UpstreamError } from '../../src/errors.js';
import { mapWithConcurrency } from '../../src/calls/pool.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapWithConcurrency', () => {
  it('keeps the input order and never runs more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    const result = await mapWithConcurrency(Array.from({ length: 40 }, (_, i) => i), 4, async (n) => {
      running += 1;
      most = Math.max(most, running);
      await tick(n % 3);
      running -= 1;
      return n * 2;
    });
    expect(result).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    expect(most).toBe(4);
  });

  it('answers [] for no items without calling the task', async () => {
    let calls = 0;
    expect(await mapWithConcurrency([], 16, async () => ++calls)).toEqual([]);
    expect(calls).toBe(0);
  });

  it('settles each item alone: a failure is that item\'s Error, and every other item still runs', async () => {
    const started: number[] = [];
    const result = await mapWithConcurrency(Array.from({ length: 20 }, (_, i) => i), 2, async (n) => {
      started.push(n);
      await tick(1);
      if (n === 3) throw new Error('upstream 500');
      if (n === 7) throw 'not an Error'; // eslint-disable-line no-throw-literal
      return n;
    });
    expect(started.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(result[3]).toEqual(new Error('upstream 500'));
    expect(result[7]).toEqual(new Error('not an Error'));
    expect(result.filter((r) => !(r instanceof Error))).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((n) => n !== 3 && n !== 7));
  });

  it('refused credentials fail the items not yet started with the same error, without running them', async () => {
    const refused = new UpstreamError({ provider: 'TWENTY2', connection: 'default' }, 'UNAUTHORIZED', { status: 401 });
    const started: number[] = [];
    const result = await mapWithConcurrency(Array.from({ length: 10 }, (_, i) => i), 2, async (n) => {
      started.push(n);
      await tick(1);
      if (n === 1) throw refused;
      return n;
    });
    // 0 and 1 ran together, 2 started beside 1's failure; nothing after it.
    expect(started).toEqual([0, 1, 2]);
    expect(result).toEqual([0, refused, 2, ...Array.from({ length: 7 }, () => refused)]);
  });
});
