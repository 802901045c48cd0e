/**
 * The watcher's diff (src/live/watcher.ts#diffObservation), pure: observations of one connection in,
 * call events and the next state out — every rule of the contract (docs/live.md) — and the event id.
 */
import type { CallRecord, CallStatus } from '../../src/calls/model.js';
import { matches, toCallQuery } from '../../src/calls/filter.js';
import type { CallEvent } from '../../src/live/events.js';
import { type WatchState, callsToReread, diffObservation, emptyWatchState, eventId, fingerprint } from '../../src/live/watcher.js';

const REF = { provider: 'TWENTY2' as const, connection: 'default' };
const T0 = Date.parse('2026-11-30T10:00:00Z');

function call(key: string, minute: number, status: CallStatus = 'IN_PROGRESS', extra: Partial<CallRecord> = {}): CallRecord {
  const party = { phoneNumber: '+919876543210', rawPhoneNumber: '9876543210', countryCode: 'IN', displayName: null, isStaff: null };
  return {
    ...REF,
    key,
    providerCallId: key,
    direction: 'OUTBOUND',
    status,
    providerStatus: status.toLowerCase(),
    from: party,
    to: party,
    startedAt: new Date(T0 + minute * 60_000),
    answeredAt: null,
    endedAt: status === 'IN_PROGRESS' ? null : new Date(T0 + minute * 60_000 + 30_000),
    durationSeconds: status === 'IN_PROGRESS' ? null : 30,
    cost: null,
    endReason: null,
    agentId: null,
    details: null,
    ...extra,
  };
}

/** Runs observations one after the other from `state`, collecting every event. */
function run(observations: CallRecord[][], state: WatchState = emptyWatchState(), limits?: Parameters<typeof diffObservation>[4]) {
  const events: CallEvent[] = [];
  let now = T0 + 3600_000;
  for (const calls of observations) {
    const next = diffObservation(REF, state, calls, (now += 5_000), limits);
    events.push(...next.events);
    state = next.state;
  }
  return { events, state, seen: events.map((e) => `${e.type} ${e.call.key}`) };
}

describe('diffObservation', () => {
  it('announces nothing of the baseline: its calls, nor their later changes', () => {
    const { seen, state } = run([
      [call('a', 1, 'COMPLETED'), call('b', 2)],
      [call('a', 1, 'COMPLETED'), call('b', 2, 'IN_PROGRESS', { durationSeconds: 10 })],
      [call('a', 1, 'COMPLETED'), call('b', 2, 'COMPLETED')],
    ]);
    expect(seen).toEqual([]);
    expect(state.baselined).toBe(true);
    expect(callsToReread(state, new Set(), 10)).toEqual([]); // baseline calls are not re-read
  });

  it('announces a new call once, CALL_UPDATED per change of its contract fields, CALL_ENDED once', () => {
    const { seen, events } = run([
      [call('a', 1, 'COMPLETED')],
      [call('a', 1, 'COMPLETED'), call('b', 2, 'RINGING')],
      [call('a', 1, 'COMPLETED'), call('b', 2, 'RINGING')], // the same: nothing
      [call('b', 2, 'IN_PROGRESS')],
      [call('b', 2, 'IN_PROGRESS', { answeredAt: new Date(T0) })],
      [call('b', 2, 'COMPLETED')],
      [call('b', 2, 'COMPLETED')],
      [call('b', 2, 'COMPLETED', { cost: { amount: '1.50', currency: 'INR' } })], // a late change of an ended call
      [call('b', 2, 'FAILED')], // another final status: an update, not a second CALL_ENDED
    ]);
    expect(seen).toEqual(['CALL_ADDED b', 'CALL_UPDATED b', 'CALL_UPDATED b', 'CALL_ENDED b', 'CALL_UPDATED b', 'CALL_UPDATED b']);
    expect(events[3]!.call.status).toBe('COMPLETED');
  });

  it.each(['COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED'] as const)(
    'a call first seen %s: CALL_ADDED then CALL_ENDED in the same observation, never again',
    (status) => {
      const { seen, events } = run([[call('a', 1)], [call('a', 1), call('b', 2, status)], [call('a', 1), call('b', 2, status)]]);
      expect(seen).toEqual(['CALL_ADDED b', 'CALL_ENDED b']);
      expect(events[0]!.occurredAt).toEqual(events[1]!.occurredAt);
    },
  );

  it.each(['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS', 'UNKNOWN'] as const)('a call first seen %s is not ended', (status) => {
    expect(run([[], [call('a', 1, status)]]).seen).toEqual(['CALL_ADDED a']);
  });

  it('emits in startedAt order (then key), whatever order the rows came in; a key given twice counts once', () => {
    const { seen } = run([
      [],
      [call('z', 3, 'COMPLETED'), call('m', 1), call('b', 3), call('a', 2, 'FAILED'), call('m', 1)],
    ]);
    expect(seen).toEqual(['CALL_ADDED m', 'CALL_ADDED a', 'CALL_ENDED a', 'CALL_ADDED b', 'CALL_ADDED z', 'CALL_ENDED z']);
  });

  it('keeps a bounded window; a call that left it and shows again is not announced again', () => {
    const limits = { windowSize: 3, maxOpenMs: 3600_000 };
    const { seen, state } = run(
      [
        [],
        [call('a', 1, 'COMPLETED'), call('b', 2, 'COMPLETED'), call('c', 3, 'COMPLETED'), call('d', 4, 'COMPLETED')],
        [call('a', 1, 'COMPLETED'), call('e', 5, 'COMPLETED')], // a is back (e.g. page reordering); e is new
      ],
      emptyWatchState(),
      limits,
    );
    expect(state.calls.map((c) => c.key)).toEqual(['e', 'd', 'c']);
    expect(seen.filter((s) => s.startsWith('CALL_ADDED'))).toEqual(['CALL_ADDED a', 'CALL_ADDED b', 'CALL_ADDED c', 'CALL_ADDED d', 'CALL_ADDED e']);
  });

  it('re-reads announced calls in progress that are off the page, until they end or age out', () => {
    const limits = { windowSize: 100, maxOpenMs: 60_000 };
    let { state } = run([[], [call('a', 1), call('b', 2, 'COMPLETED'), call('c', 3)]], emptyWatchState(), limits);
    expect(callsToReread(state, new Set(['c']), 10).map((l) => l.key)).toEqual(['a']);
    expect(callsToReread(state, new Set(), 1)).toHaveLength(1); // bounded per poll
    expect(callsToReread(state, new Set(), 10)[0]!.startedAt).toEqual(new Date(T0 + 3 * 60_000));
    state = diffObservation(REF, state, [call('c', 3, 'COMPLETED')], T0 + 3600_000 + 20_000, limits).state;
    expect(callsToReread(state, new Set(), 10).map((l) => l.key)).toEqual(['a']);
    state = diffObservation(REF, state, [], T0 + 3600_000 + 120_000, limits).state; // a minute on: aged out
    expect(callsToReread(state, new Set(), 10)).toEqual([]);
  });

  it('carries the call as observed, so a filter applies to each event as it carries the call', () => {
    const completed = toCallQuery({ statuses: ['COMPLETED'] });
    const { events } = run([[], [call('a', 1, 'RINGING')], [call('a', 1, 'COMPLETED')]]);
    expect(events.map((e) => [e.type, matches(e.call, completed)])).toEqual([
      ['CALL_ADDED', false],
      ['CALL_ENDED', true],
    ]);
  });

  it('is pure: the state given is not changed, and the state is JSON', () => {
    const first = run([[], [call('a', 1)]]).state;
    const copy = JSON.parse(JSON.stringify(first)) as WatchState;
    diffObservation(REF, first, [call('a', 1, 'COMPLETED')], T0);
    expect(first).toEqual(copy);
    expect(run([[call('a', 1, 'COMPLETED')]], copy).seen).toEqual(['CALL_ENDED a']);
  });
});

describe('event ids', () => {
  it('are the same for the same change whenever and wherever it is observed', () => {
    const once = run([[], [call('a', 1)], [call('a', 1, 'IN_PROGRESS', { durationSeconds: 5 })], [call('a', 1, 'COMPLETED')]]).events;
    const again = run([[call('x', 0)], [call('x', 0), call('a', 1)], [call('a', 1, 'IN_PROGRESS', { durationSeconds: 5 })], [call('a', 1, 'COMPLETED')]]).events;
    expect(again.map((e) => e.id)).toEqual(once.map((e) => e.id));
    expect(new Set(once.map((e) => e.id)).size).toBe(3);
  });

  it('differ by connection, call, type and, for CALL_UPDATED, the fields observed', () => {
    const fp = fingerprint(call('a', 1));
    const ids = [
      eventId(REF, 'a', 'CALL_ADDED'),
      eventId({ ...REF, connection: 'other' }, 'a', 'CALL_ADDED'),
      eventId({ ...REF, provider: 'UNPOD' }, 'a', 'CALL_ADDED'),
      eventId(REF, 'b', 'CALL_ADDED'),
      eventId(REF, 'a', 'CALL_ENDED'),
      eventId(REF, 'a', 'CALL_UPDATED', fp),
      eventId(REF, 'a', 'CALL_UPDATED', fingerprint(call('a', 1, 'COMPLETED'))),
    ];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{24}$/);
    expect(eventId(REF, 'a', 'CALL_ADDED', fp)).toBe(eventId(REF, 'a', 'CALL_ADDED'));
  });

  it('fingerprints the contract fields but not the lazily fetched details', () => {
    const base = call('a', 1, 'COMPLETED');
    expect(fingerprint({ ...base, details: { billedDurationSeconds: 60, recordings: [], transcript: null, inputParameters: {}, outputParameters: {} } })).toBe(fingerprint(base));
    for (const change of [{ status: 'FAILED' as const }, { providerStatus: 'x' }, { durationSeconds: 31 }, { endReason: 'hangup' }, { to: { ...base.to, displayName: 'Asha' } }]) {
      expect(fingerprint({ ...base, ...change })).not.toBe(fingerprint(base));
    }
  });
});
