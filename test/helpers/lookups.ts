/** getCalls answers an Error in the place of a failed look-up; these narrow its answers for tests. */
import type { CallRecord } from '../../src/calls/model.js';
import { UpstreamError } from '../../src/errors.js';
import type { CallLookup } from '../../src/calls/adapter.js';

/** The calls (or nulls) of an answer expected to hold no failure; a failure in it is thrown. */
export function found(lookups: readonly CallLookup[]): (CallRecord | null)[] {
  for (const lookup of lookups) if (lookup instanceof Error) throw lookup;
  return lookups as (CallRecord | null)[];
}

/** The UpstreamError answered in one place; anything else fails the test. */
export function failureOf(lookup: CallLookup | undefined): UpstreamError {
  expect(lookup).toBeInstanceOf(UpstreamError);
  return lookup as UpstreamError;
}
