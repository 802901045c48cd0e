/**
 * Look-ups of providers without a batch endpoint cost one request per call. A batch of them is run
 * at most `limit` at a time — the connection's concurrency — so one `nodes(ids: [...500 ids])`
 * neither overflows the connection's bulkhead queue (which would fail every id with OVERLOADED)
 * nor fills it ahead of other requests to the same provider.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    // After a failure the whole batch rejects: starting more requests would be wasted.
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await task(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Math.max(1, Math.min(Math.floor(limit) || 1, items.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
