import { LOCATOR_GAP_MS, estimatedRequests, gapForDensity, groupLocators } from '../../src/providers/unpod/locate.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('gapForDensity', () => {
  it('is the span holding half a page of rows', () => {
    // 100 calls a day: 50 rows take half a day.
    expect(gapForDensity(100 / DAY, 100)).toBeCloseTo(DAY / 2);
  });

  it('never falls below the fixed gap, however busy the account', () => {
    expect(gapForDensity(1_000_000 / DAY, 100)).toBe(LOCATOR_GAP_MS);
  });

  it('is unbounded for an empty span', () => {
    expect(gapForDensity(0, 100)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('estimatedRequests', () => {
  const at = (key: string, ms: number) => ({ key, startedAt: new Date(ms) });

  it('counts each window at least one page', () => {
    const windows = groupLocators([at('a', 0), at('b', DAY), at('c', 2 * DAY)]);
    expect(estimatedRequests(windows, 1000 / DAY, 100)).toBe(3);
  });

  it('counts the pages a long window holds at the density', () => {
    const windows = groupLocators([at('a', 0), at('b', 10 * HOUR)], 12 * HOUR);
    // 10 hours at 1000 a day: about 417 rows, five pages.
    expect(estimatedRequests(windows, 1000 / DAY, 100)).toBe(5);
  });
});
