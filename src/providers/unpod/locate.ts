/**
 * Unpod has no endpoint for one call (docs/providers/unpod.md), and some rows have no id at all,
 * so calls are found again through narrow creation_time windows. Locators close in time share one
 * window: fifty calls of one busy hour cost one list request, not fifty.
 */
import type { CallLocator } from '../../calls/adapter.js';

/** Two locators at most this far apart (consecutive, by startedAt) share a window. */
export const LOCATOR_GAP_MS = 15 * 60_000;

export interface LocatorWindow {
  /** Inclusive bounds: the earliest and latest startedAt of the group. */
  from: Date;
  until: Date;
  /** The distinct keys wanted in this window. */
  keys: Set<string>;
}

/**
 * Sorts locators by startedAt and cuts a new window wherever the gap to the previous locator
 * exceeds `maxGapMs`. A window may be longer than `maxGapMs` when the locators chain.
 */
export function groupLocators(
  locators: readonly CallLocator[],
  maxGapMs: number = LOCATOR_GAP_MS,
): LocatorWindow[] {
  const sorted = [...locators].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  const windows: LocatorWindow[] = [];
  let current: LocatorWindow | null = null;
  for (const locator of sorted) {
    const at = locator.startedAt.getTime();
    if (current && at - current.until.getTime() <= maxGapMs) {
      current.until = new Date(at);
      current.keys.add(locator.key);
    } else {
      current = { from: new Date(at), until: new Date(at), keys: new Set([locator.key]) };
      windows.push(current);
    }
  }
  return windows;
}

/**
 * The gap worth reading through rather than opening a new window for, at `rowsPerMs` calls per
 * millisecond: a gap holding about half a page costs less than a window's own first request.
 * Never below LOCATOR_GAP_MS.
 */
export function gapForDensity(rowsPerMs: number, pageSize: number): number {
  if (!(rowsPerMs > 0)) return Number.POSITIVE_INFINITY;
  return Math.max(LOCATOR_GAP_MS, pageSize / 2 / rowsPerMs);
}

/** Requests `windows` are expected to cost at `rowsPerMs`: every window at least one page. */
export function estimatedRequests(windows: readonly LocatorWindow[], rowsPerMs: number, pageSize: number): number {
  return windows.reduce(
    (sum, w) => sum + Math.max(1, Math.ceil(((w.until.getTime() - w.from.getTime()) * rowsPerMs) / pageSize)),
    0,
  );
}
