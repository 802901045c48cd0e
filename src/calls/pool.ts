/**
 * Look-ups of providers without a batch endpoint cost one request per call. A batch of them is run
 * at most `limit` at a time — the connection's concurrency — so one `nodes(ids: [...500 ids])`
 * neither overflows the connection's bulkhead queue (which would fail every id with OVERLOADED)
 * nor fills it ahead of other requests to the same provider.
 */

import { UpstreamError } from '../errors.js';

/**
 * `task` over every item, at most `limit` at a time, results in item order. Each item settles
 * alone: a task that throws gives its Error in that item's place and the others still run, so one
 * failed look-up never blanks its batch. (A provider that is down costs no more than that: after a
 * few failures its connection's breaker fails the rest at once, without a request; refused
 * credentials fail the items not yet started at once, with the same error.)
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<(R | Error)[]> {
  const results = new Array<R | Error>(items.length);
  let next = 0;
  let connectionWide: UpstreamError | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      if (connectionWide) {
        results[index] = connectionWide;
        continue;
      }
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        results[index] = error instanceof Error ? error : new Error(String(error));
        if (error instanceof UpstreamError && error.connectionWide) connectionWide = error;
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
