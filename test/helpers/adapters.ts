/**
 * Driving one adapter directly (the per-adapter suites): a list request with defaults, and a walk
 * that follows `next` from a first page to the last.
 */
import { expect } from '@jest/globals';
import type { ListRequest, PageRef, ProviderAdapter } from '../../src/calls/adapter.js';
import { emptyQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';

/** A list request for every call (no filter, no time bounds), 1,000 a page, from the first page; `overrides` win. */
export const listRequest = (overrides: Partial<ListRequest> = {}): ListRequest => ({
  query: emptyQuery,
  from: null,
  until: null,
  pageSize: 1000,
  page: { index: 0 },
  ...overrides,
});

/**
 * Every page of one walk from `base.page` (the first page when absent) to the last: the rows and
 * how many requests it took. Each page must say its total is unknown (null), as the providers
 * walked this way do not count; throws past 1,000 pages (a walk that does not end).
 */
export async function walkAdapter(adapter: ProviderAdapter, base: Partial<ListRequest> = {}): Promise<{ calls: CallRecord[]; pages: number }> {
  const calls: CallRecord[] = [];
  let page: PageRef | null = base.page ?? { index: 0 };
  let pages = 0;
  while (page) {
    const result = await adapter.list(listRequest({ ...base, page }));
    expect(result.total).toBeNull();
    calls.push(...result.calls);
    page = result.next;
    if (++pages > 1000) throw new Error('the walk does not end');
  }
  return { calls, pages };
}
