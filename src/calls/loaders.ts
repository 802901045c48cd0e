/**
 * Per-request DataLoaders, one pair per connection: calls by id (what `call`, `node`, `nodes` and
 * `_entities` ask) and details (the fields only a per-call detail request gives). Each batches the
 * keys asked in one tick and de-duplicates them; both are primed from every list response, so a
 * call seen in `calls` is never fetched again in the same request. Root fields run in parallel, so
 * a look-up batch first waits for the lists of its request still in flight (`listing`) and answers
 * from their rows what it can: `{ calls { … } call(id) { … } }` costs the list alone, at the price
 * of starting the look-up of an unlisted call after the list instead of beside it. Concurrency
 * towards a provider is capped by its connection's HTTP policy (src/providers/http.ts), not here.
 *
 * A failed upstream request fails only the keys it served: both batch functions answer an Error in
 * those keys' places (DataLoader rejects just their `load`s) and never reject for the whole batch.
 */
import DataLoader from 'dataloader';
import { mapWithConcurrency } from './pool.js';
import type { CallLocator, CallLookup, Connection } from './adapter.js';
import type { CallCache } from './cache.js';
import { type CallDetails, type CallRecord, connectionLabel, detailsPending } from './model.js';

/** Observes each batch a loader dispatches: tests assert batching with it. */
export type BatchObserver = (batch: { connection: string; kind: 'call' | 'details'; size: number }) => void;

interface ConnectionLoaders {
  calls: DataLoader<CallLocator, CallLookup, string>;
  details: DataLoader<CallRecord, CallDetails, string>;
}

export class CallLoaders {
  private readonly loaders = new Map<string, ConnectionLoaders>();
  /** Lists of this request not yet primed; look-ups wait for them. */
  private readonly listsInFlight = new Set<Promise<unknown>>();
  /** Calls seen in this request's list responses, by connection label, then key. */
  private readonly listed = new Map<string, Map<string, CallRecord>>();

  constructor(
    private readonly observe: BatchObserver = () => {},
    /** Ended calls across requests (src/calls/cache.ts); null when caching is off. */
    private readonly cache: CallCache | null = null,
  ) {}

  private for(connection: Connection): ConnectionLoaders {
    let loaders = this.loaders.get(connection.label);
    if (!loaders) {
      const { adapter, label, concurrency } = connection;
      loaders = {
        calls: new DataLoader(
          async (locators): Promise<CallLookup[]> => {
            await Promise.allSettled([...this.listsInFlight]);
            const listed = this.listed.get(label);
            const missing = locators.filter((locator) => !listed?.has(locator.key));
            if (missing.length === 0) return locators.map((locator) => listed!.get(locator.key)!);
            this.observe({ connection: label, kind: 'call', size: missing.length });
            const fetched = this.cache
              ? await this.cache.calls(label, missing, (uncached) => adapter.getCalls(uncached))
              : await adapter.getCalls(missing);
            for (const call of fetched) {
              if (call && !(call instanceof Error) && call.details && !detailsPending(call.details)) loaders!.details.prime(call, call.details);
            }
            const byKey = new Map(missing.map((locator, i) => [locator.key, fetched[i] ?? null]));
            return locators.map((locator) => listed?.get(locator.key) ?? byKey.get(locator.key) ?? null);
          },
          { cacheKeyFn: (locator) => locator.key, maxBatchSize: 500 },
        ),
        details: new DataLoader(
          async (calls) => {
            this.observe({ connection: label, kind: 'details', size: calls.length });
            const getDetails = adapter.getDetails?.bind(adapter);
            // Each call's details succeed or fail alone; at most the connection's cap at a time.
            const fetch = (uncached: readonly CallRecord[]) =>
              mapWithConcurrency(uncached, concurrency, async (call): Promise<CallDetails> => {
                if (call.details) return call.details;
                if (!getDetails) throw new Error(`${label} has no detail endpoint`);
                return getDetails(call);
              });
            return this.cache ? this.cache.details(label, calls, fetch) : fetch(calls);
          },
          { cacheKeyFn: (call) => call.key },
        ),
      };
      this.loaders.set(label, loaders);
    }
    return loaders;
  }

  /** A call by locator; null when the provider does not know it. Rejects with that key's error. */
  call(connection: Connection, locator: CallLocator): Promise<CallRecord | null> {
    return this.for(connection).calls.load(locator) as Promise<CallRecord | null>;
  }

  /** The call's detail fields, from the row when it has them, else one (batched) detail request. */
  details(connection: Connection, call: CallRecord): Promise<CallDetails> {
    if (call.details) return Promise.resolve(call.details);
    return this.for(connection).details.load(call);
  }

  /**
   * Marks a list running in this request until `list` settles; it must prime its rows before then.
   * Call it before the resolver's first await, so a sibling root field's look-up sees it.
   */
  async listing<T>(list: Promise<T>): Promise<T> {
    this.listsInFlight.add(list);
    try {
      return await list;
    } finally {
      this.listsInFlight.delete(list);
    }
  }

  /** Remembers calls from a list response so later lookups in this request cost nothing. */
  prime(connection: Connection, calls: readonly CallRecord[]): void {
    const loaders = this.for(connection);
    let listed = this.listed.get(connection.label);
    if (!listed) this.listed.set(connection.label, (listed = new Map()));
    for (const call of calls) {
      if (connectionLabel(call) !== connection.label) continue;
      listed.set(call.key, call);
      loaders.calls.prime({ key: call.key, startedAt: call.startedAt }, call);
      // Details that leave a field to the detail request (Retell list items' transcript, Twilio's
      // recordings) are not primed: selecting that field asks the adapter (src/resolvers/Call.ts).
      if (call.details && !detailsPending(call.details)) loaders.details.prime(call, call.details);
    }
  }
}
