/**
 * The `demand` watch policy's rule (src/live/policy.ts), pure: first-page requests in, whether the
 * connection is watched out.
 */
import { type DemandState, demanded, emptyDemand, recordFirstPage } from '../../src/live/policy.js';

const SETTINGS = { requests: 3, periodMs: 60_000, quietMs: 120_000 };
const T0 = Date.parse('2026-11-30T10:00:00Z');

/** The state after first pages at these times (ms after T0). */
const asked = (times: number[], state: DemandState = emptyDemand()) => times.reduce((s, t) => recordFirstPage(s, T0 + t, SETTINGS), state);

describe('the demand rule', () => {
  it('watches once N first pages fall within the period, not before', () => {
    expect(demanded(asked([0, 1_000]), T0 + 1_000)).toBe(false);
    const state = asked([0, 1_000, 2_000]);
    expect(demanded(state, T0 + 2_000)).toBe(true);
    expect(state.until).toBe(T0 + 2_000 + SETTINGS.quietMs);
  });

  it('does not count first pages older than the period', () => {
    expect(demanded(asked([0, 30_000, 60_000]), T0 + 60_000)).toBe(false); // the first fell out at 60 s
    expect(demanded(asked([0, 30_000, 59_999]), T0 + 59_999)).toBe(true);
  });

  it('keeps watching while any first page comes within the quiet period, and stops after it', () => {
    let state = asked([0, 1, 2]);
    // One request a minute is far below N, yet each keeps the watch going for another quiet period.
    state = asked([60_000, 120_000, 180_000], state);
    expect(demanded(state, T0 + 180_000 + SETTINGS.quietMs - 1)).toBe(true);
    expect(demanded(state, T0 + 180_000 + SETTINGS.quietMs)).toBe(false);
  });

  it('needs N first pages again once the watch lapsed', () => {
    const lapsed = asked([0, 1, 2]);
    const later = 2 + SETTINGS.quietMs + 1;
    expect(demanded(asked([later], lapsed), T0 + later)).toBe(false);
    expect(demanded(asked([later, later + 1, later + 2], lapsed), T0 + later + 2)).toBe(true);
  });

  it('keeps at most N request times', () => {
    expect(asked(Array.from({ length: 50 }, (_, i) => i)).hits).toHaveLength(SETTINGS.requests);
  });

  it('is never watched before any request', () => {
    expect(demanded(emptyDemand(), T0)).toBe(false);
  });
});
