import { LOCATOR_GAP_MS, groupLocators } from '../../src/providers/unpod/locate.js';

const base = Date.parse('2026-02-07T05:00:00.000Z');
const at = (key: string, offsetMs: number) => ({ key, startedAt: new Date(base + offsetMs) });
const MIN = 60_000;

const summary = (windows: ReturnType<typeof groupLocators>) =>
  windows.map((w) => ({ from: w.from.getTime() - base, until: w.until.getTime() - base, keys: [...w.keys].sort() }));

describe('groupLocators (Unpod getCalls windows)', () => {
  it('has a 15-minute gap', () => {
    expect(LOCATOR_GAP_MS).toBe(15 * MIN);
  });

  it('makes no window for no locators', () => {
    expect(groupLocators([])).toEqual([]);
  });

  it('makes a zero-width window for one locator', () => {
    expect(summary(groupLocators([at('a', 0)]))).toEqual([{ from: 0, until: 0, keys: ['a'] }]);
  });

  it('joins locators exactly 15 minutes apart and splits at 15 minutes + 1 ms', () => {
    expect(summary(groupLocators([at('a', 0), at('b', 15 * MIN)]))).toEqual([
      { from: 0, until: 15 * MIN, keys: ['a', 'b'] },
    ]);
    expect(summary(groupLocators([at('a', 0), at('b', 15 * MIN + 1)]))).toEqual([
      { from: 0, until: 0, keys: ['a'] },
      { from: 15 * MIN + 1, until: 15 * MIN + 1, keys: ['b'] },
    ]);
  });

  it('sorts by startedAt whatever the input order', () => {
    const windows = groupLocators([at('late', 3 * 60 * MIN), at('b', 10 * MIN), at('a', 0), at('late2', 3 * 60 * MIN + MIN)]);
    expect(summary(windows)).toEqual([
      { from: 0, until: 10 * MIN, keys: ['a', 'b'] },
      { from: 180 * MIN, until: 181 * MIN, keys: ['late', 'late2'] },
    ]);
  });

  it('chains consecutive gaps: a window may span more than 15 minutes', () => {
    const chain = Array.from({ length: 7 }, (_, i) => at(`k${i}`, i * 14 * MIN));
    expect(summary(groupLocators(chain))).toEqual([
      { from: 0, until: 6 * 14 * MIN, keys: chain.map((l) => l.key).sort() },
    ]);
  });

  it('puts 50 locators within one hour into one window', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => at(`k${i}`, ((i * 37) % 50) * 72_000));
    const windows = groupLocators(fifty);
    expect(windows).toHaveLength(1);
    expect(windows[0]?.from.getTime()).toBe(base);
    expect(windows[0]?.until.getTime()).toBe(base + 49 * 72_000);
    expect(windows[0]?.keys.size).toBe(50);
  });

  it('keeps duplicate locators once and tolerates equal instants', () => {
    const windows = groupLocators([at('a', 0), at('a', 0), at('b', 0)]);
    expect(summary(windows)).toEqual([{ from: 0, until: 0, keys: ['a', 'b'] }]);
  });

  it('honours a custom gap', () => {
    expect(groupLocators([at('a', 0), at('b', 2 * MIN)], MIN)).toHaveLength(2);
  });

  it('does not modify its input', () => {
    const input = [at('b', MIN), at('a', 0)];
    groupLocators(input);
    expect(input.map((l) => l.key)).toEqual(['b', 'a']);
  });
});
