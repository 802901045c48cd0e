/**
 * The watcher's diff (src/live/watcher.ts#diffObservation), pure: observations of one connection in,
 * call events and the next state out — every rule of the contract (docs/live.md) — and the event id.
 */
import type { CallRecord, CallStatus } from '../../src/calls/model.js';
import { matches, toCallQuery } from '../../src/calls/filter.js';
import type { CallEvent } from '../../src/live/events.js';
import {
  type DiffLimits,
  type WatchState,
  callsToReread,
  diffObservation,
  emptyWatchState,
  eventId,
  fingerprint,
  sweepAfter,
  sweepRange,
} from '../../src/live/watcher.js';

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

describe('the sweep of a list that shows only ended calls', () => {
  const M = 60_000;
  const at = (minute: number) => T0 + minute * M;
  const baselined = (...calls: CallRecord[]) => diffObservation(REF, emptyWatchState(), calls, at(100)).state;

  it('starts a pass just below the newest rows, continues where the last poll stopped, and restarts after the last page', () => {
    const state = baselined(call('a', 1, 'COMPLETED'), call('b', 5, 'COMPLETED'), call('c', 9, 'COMPLETED'));
    const newest = [call('c', 9, 'COMPLETED'), call('b', 5, 'COMPLETED')];
    const first = sweepRange(state, newest, at(100))!;
    // Not below the window's oldest call (a); up to the oldest of the newest rows (b), inclusive.
    expect(first).toEqual({ from: at(1), until: at(5), page: { index: 0 } });
    expect(sweepAfter(first, { index: 1 })).toEqual({ until: at(5), page: { index: 1 } });
    const second = sweepRange({ ...state, sweep: sweepAfter(first, { index: 1 }) }, [call('z', 50, 'COMPLETED')], at(101))!;
    expect(second).toEqual({ from: at(1), until: at(5), page: { index: 1 } }); // the pass's own `until`, not the new top
    expect(sweepAfter(second, null)).toBeNull(); // the last page: the next poll starts a new pass
    expect(sweepRange({ ...state, sweep: null }, [call('z', 50, 'COMPLETED')], at(101))).toEqual({ from: at(1), until: at(50), page: { index: 0 } });
    // A token page (an adapter that pages by token) is kept as given.
    expect(sweepAfter(first, { token: 'abc' })).toEqual({ until: at(5), page: { token: 'abc' } });
  });

  it('sweeps no further back than maxOpenMs before the newest start seen, nor below the window; nothing before the baseline or when the newest rows reach past it', () => {
    expect(sweepRange(emptyWatchState(), [], at(100))).toBeNull();
    expect(sweepRange(baselined(), [], at(100))).toBeNull(); // an empty window: nothing to sweep
    const state = baselined(call('a', 1, 'COMPLETED'), call('b', 50, 'COMPLETED'));
    const limits: DiffLimits = { windowSize: 1000, maxOpenMs: 30 * M };
    // 30 minutes before the newest start seen (b, minute 50), on the provider's timeline however late now is...
    expect(sweepRange(state, [call('b', 50, 'COMPLETED')], at(60), limits)).toEqual({ from: at(20), until: at(50), page: { index: 0 } });
    expect(sweepRange(state, [call('b', 50, 'COMPLETED')], at(5000), limits)).toEqual({ from: at(20), until: at(50), page: { index: 0 } });
    // ...or before now, when the provider's clock is ahead of Switchboard's.
    expect(sweepRange(state, [call('b', 50, 'COMPLETED')], at(40), limits)).toEqual({ from: at(10), until: at(50), page: { index: 0 } });
    // A pass whose `until` fell out of the span starts again from the top.
    expect(sweepRange({ ...state, sweep: { until: at(10), page: { index: 3 } } }, [call('b', 50, 'COMPLETED')], at(60), limits)).toEqual({ from: at(20), until: at(50), page: { index: 0 } });
    // The newest rows reach back past the span: no request.
    expect(sweepRange(state, [call('b', 50, 'COMPLETED'), call('a', 1, 'COMPLETED')], at(60), limits)).toBeNull();
    expect(sweepRange(state, [call('b', 50, 'COMPLETED'), call('a', 1, 'COMPLETED')], at(60))).toBeNull(); // the window is the newest page
  });

  /**
   * A provider that lists only ended calls, newest start first, by page within inclusive start
   * bounds (Unpod's and CINNOX's call logs), and a watcher's polls over it: its newest page, then the
   * sweep's page, diffed together — as ConnectionWatcher.poll does.
   */
  function endedOnly(pageSize: number, limits: DiffLimits = { windowSize: 1000, maxOpenMs: 6 * 3600_000 }) {
    const listed: CallRecord[] = [];
    let state = emptyWatchState();
    let now = at(60);
    const events: CallEvent[] = [];
    let sweeps = 0;
    const list = (from: number | null, until: number | null, index: number) => {
      const rows = listed
        .filter((c) => (from === null || c.startedAt.getTime() >= from) && (until === null || c.startedAt.getTime() <= until))
        .sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
      return { calls: rows.slice(index * pageSize, (index + 1) * pageSize), next: (index + 1) * pageSize < rows.length ? { index: index + 1 } : null };
    };
    const poll = () => {
      now += 5_000;
      const newest = list(null, null, 0).calls;
      const range = sweepRange(state, newest, now, limits);
      let swept: CallRecord[] = [];
      let position = null;
      if (range && 'index' in range.page) {
        const page = list(range.from, range.until, range.page.index);
        sweeps += 1;
        swept = page.calls;
        position = sweepAfter(range, page.next);
      }
      const next = diffObservation(REF, state, [...swept, ...newest], now, limits);
      events.push(...next.events);
      state = { ...next.state, sweep: position };
    };
    const of = (key: string) => events.filter((e) => e.call.key === key).map((e) => e.type);
    return { listed, poll, of, events, state: () => state, sweeps: () => sweeps };
  }

  it('announces a call listed below the newest page once (CALL_ADDED, CALL_ENDED) within ⌈N / page size⌉ + 1 polls, and nothing twice', () => {
    const w = endedOnly(4);
    for (let m = 0; m < 5; m++) w.listed.push(call(`old${m}`, m, 'COMPLETED'));
    w.poll(); // the baseline
    // A long call starts at minute 10; 14 newer calls start and end, listed a few per poll.
    for (let m = 11; m < 25; m++) {
      w.listed.push(call(`n${m}`, m, 'COMPLETED'));
      if (m % 3 === 0) w.poll();
    }
    w.poll();
    expect(new Set(w.events.map((e) => e.call.key)).size).toBe(14);
    // It ends: listed at minute 10, below the newest page (4 rows) by 10 rows.
    w.listed.push(call('long', 10, 'COMPLETED'));
    const calls = w.listed.filter((c) => c.startedAt.getTime() >= at(0)).length - 4; // N: the calls below the newest page
    let polls = 0;
    while (w.of('long').length === 0 && polls < 100) {
      w.poll();
      polls += 1;
    }
    expect(w.of('long')).toEqual(['CALL_ADDED', 'CALL_ENDED']);
    expect(polls).toBeLessThanOrEqual(Math.ceil(calls / 4) + 1);
    for (let i = 0; i < 20; i++) w.poll(); // several more passes
    expect(w.of('long')).toEqual(['CALL_ADDED', 'CALL_ENDED']);
    const byCall = new Map<string, string[]>();
    for (const e of w.events) byCall.set(e.call.key, [...(byCall.get(e.call.key) ?? []), e.type]);
    for (const types of byCall.values()) expect(types).toEqual(['CALL_ADDED', 'CALL_ENDED']);
    expect(new Set(w.events.map((e) => e.id)).size).toBe(w.events.length);
    // One sweep page per poll after the baseline.
    expect(w.sweeps()).toBe(polls + 20 + 5 + 1);
  });

  it('finds a call listed above the position of a pass in the next pass', () => {
    const w = endedOnly(2);
    for (let m = 0; m < 12; m++) w.listed.push(call(`c${m}`, m, 'COMPLETED'));
    w.poll(); // the baseline: c11, c10
    // Only the baseline's calls are swept (the window's oldest, c10, bounds the sweep): add newer ones.
    for (let m = 20; m < 30; m++) w.listed.push(call(`n${m}`, m, 'COMPLETED'));
    w.poll(); // burst: the newest page only (the diff's burst pages are ConnectionWatcher's); the sweep starts below it
    w.poll();
    w.poll(); // the pass is now below n25
    w.listed.push(call('late', 27, 'COMPLETED')); // above the position
    for (let i = 0; i < 12 && w.of('late').length === 0; i++) w.poll();
    expect(w.of('late')).toEqual(['CALL_ADDED', 'CALL_ENDED']);
  });

  it('never reaches below the window: calls from before the baseline, or forgotten by a full window, are not announced', () => {
    const w = endedOnly(3, { windowSize: 6, maxOpenMs: 6 * 3600_000 });
    for (let m = 0; m < 20; m++) w.listed.push(call(`before${m}`, m, 'COMPLETED'));
    w.poll(); // the baseline: the newest page only
    for (let i = 0; i < 20; i++) w.poll(); // many passes
    expect(w.events).toEqual([]);
    // Newer calls fill the window; the oldest leave it, and a late call older than the window's oldest is out of reach.
    for (let m = 30; m < 45; m++) {
      w.listed.push(call(`n${m}`, m, 'COMPLETED'));
      w.poll();
    }
    w.listed.push(call('tooLate', 31, 'COMPLETED'));
    for (let i = 0; i < 20; i++) w.poll();
    expect(w.of('tooLate')).toEqual([]); // the documented limit
    expect(w.events.every((e) => e.call.key.startsWith('n'))).toBe(true);
    const added = w.events.filter((e) => e.type === 'CALL_ADDED').map((e) => e.call.key);
    expect(new Set(added).size).toBe(added.length);
  });

  it('is part of the state, which stays JSON: a replica that loads it continues the pass', () => {
    const state: WatchState = { ...baselined(call('a', 1, 'COMPLETED'), call('b', 9, 'COMPLETED')), sweep: { until: at(5), page: { index: 2 } } };
    const revived = JSON.parse(JSON.stringify(state)) as WatchState;
    expect(revived).toEqual(state);
    expect(sweepRange(revived, [call('b', 9, 'COMPLETED')], at(100))).toEqual({ from: at(1), until: at(5), page: { index: 2 } });
    // A diff keeps it (a push's observation, which does not sweep, does not reset it).
    expect(diffObservation(REF, revived, [call('c', 12, 'COMPLETED')], at(101)).state.sweep).toEqual({ until: at(5), page: { index: 2 } });
    // A state saved before sweeps existed reads as "start a pass".
    const { sweep: _, ...old } = state;
    expect(sweepRange(old, [call('b', 9, 'COMPLETED')], at(100))).toEqual({ from: at(1), until: at(9), page: { index: 0 } });
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
