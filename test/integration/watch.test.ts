/**
 * Watchers over HTTP (src/live/watcher.ts, src/live/source.ts): a Switchboard in front of every
 * provider's simulator, its event source listened to directly, calls started, ended and added in
 * the simulators. Every provider (PROVIDER_MODULES) gives the contract's events, each exactly once,
 * in order; a provider outage is an event-free gap, and its recovery announces no call twice; a
 * connection nobody listens to is not polled.
 */
import { simulateActivity, startSimulators, type Simulators } from '../../src/demo.js';
import type { CallEvent } from '../../src/live/events.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const INTERVAL_MS = 100;

let sims: Simulators;
let h: Harness;

beforeAll(async () => {
  sims = await startSimulators({ count: 20 });
  h = await startHarness({
    sims: async () => sims,
    configure: (config) => ({
      ...config,
      // A breaker that opens in an outage probes again soon, so recovery shows within the test.
      http: { ...config.http, breakerOpenMs: 500 },
      watch: { ...config.watch, intervalMs: INTERVAL_MS },
    }),
  });
});

afterAll(async () => {
  await h?.stop();
});

/** Resolves once `check` holds, polling every 20 ms; fails naming `what` after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const simOf = (provider: string) => (sims as unknown as Record<string, ProviderSimulator>)[provider.toLowerCase()]!;
const listRequests = (sim: ProviderSimulator) => sim.server.requests.filter((r) => r.method === 'POST' || !/detail|get-call/.test(r.path)).length;

/** Listens to one connection; `polls(n)` waits until the watcher has polled `n` more times successfully. */
function listen(provider: string) {
  const ref = { provider: provider as never, connection: 'default' };
  const events: CallEvent[] = [];
  const stop = h.server.events.subscribe([ref], (event) => events.push(event));
  const status = () => h.server.events.watchers().find((w) => w.connection === `${provider.toLowerCase()}/default`);
  const polls = async (n = 2) => {
    const sim = simOf(provider);
    const start = listRequests(sim);
    await waitFor(`${provider}: ${n} polls`, () => listRequests(sim) >= start + n && status()?.state === 'watching');
  };
  return { events, stop, status, polls };
}

describe.each(PROVIDER_MODULES.map((m) => m.provider))('%s watched', (provider) => {
  it('announces a started call once, its ending once (after it was added), and an added call as added and ended', async () => {
    const sim = simOf(provider);
    const l = listen(provider);
    try {
      await l.polls(1); // the baseline: nothing announced
      expect(l.events).toEqual([]);

      const row = sim.startCall();
      if (sim.listsOngoing) {
        await waitFor('CALL_ADDED', () => l.events.length >= 1);
        await l.polls(2);
        expect(l.events.map((e) => e.type)).toEqual(['CALL_ADDED']);
        expect(['INITIATED', 'IN_PROGRESS', 'RINGING', 'QUEUED']).toContain(l.events[0]!.call.status);
      } else {
        await l.polls(2); // its call log shows ended calls only
        expect(l.events).toEqual([]);
      }
      sim.endCall(row);
      await waitFor('CALL_ENDED', () => l.events.some((e) => e.type === 'CALL_ENDED'));
      const added = sim.addCall();
      expect(added).toBeDefined();
      await waitFor('the added call', () => l.events.length >= 4);
      await l.polls(2);

      const types = l.events.map((e) => e.type);
      expect(types).toEqual(['CALL_ADDED', 'CALL_ENDED', 'CALL_ADDED', 'CALL_ENDED']);
      const [first, ended, second, secondEnded] = l.events as [CallEvent, CallEvent, CallEvent, CallEvent];
      expect(ended.call.key).toBe(first.call.key);
      expect(ended.call.status).toBe('COMPLETED');
      expect(secondEnded.call.key).toBe(second.call.key);
      expect(second.call.key).not.toBe(first.call.key);
      // In startedAt order per connection; ids unique and stable in form.
      expect(second.call.startedAt.getTime()).toBeGreaterThan(first.call.startedAt.getTime());
      expect(new Set(l.events.map((e) => e.id)).size).toBe(4);
      for (const event of l.events) {
        expect(event.id).toMatch(/^evt_[A-Za-z0-9_-]{24}$/);
        expect(event.call.provider).toBe(provider);
        expect(event.call.connection).toBe('default');
      }
      expect(l.status()).toMatchObject({ state: 'watching', lastError: null, events: { CALL_ADDED: 2, CALL_ENDED: 2, CALL_UPDATED: 0 } });
    } finally {
      l.stop();
    }
  });
});

describe('changes and re-reads', () => {
  it('announces each change of a call in progress as CALL_UPDATED, and re-reads it by id once it left the newest page', async () => {
    const sim = sims.twenty2;
    const l = listen('TWENTY2');
    try {
      await l.polls(1);
      const row = sim.addCall({ status: 'initiated', ended_at: null, duration_seconds: null });
      await waitFor('CALL_ADDED', () => l.events.length === 1);
      row.status = 'connected';
      await waitFor('CALL_UPDATED', () => l.events.length === 2);
      expect(l.events.map((e) => [e.type, e.call.status])).toEqual([
        ['CALL_ADDED', 'INITIATED'],
        ['CALL_UPDATED', 'IN_PROGRESS'],
      ]);

      // 60 newer calls push it off the newest page (50 rows): it is then asked for by id.
      for (let i = 0; i < 60; i++) sim.addCall({ status: 'completed' });
      await waitFor('the newer calls', () => l.events.length === 2 + 120);
      sim.server.resetCounters();
      await l.polls(2);
      expect(sim.server.requests.filter((r) => r.path === '/call/detail').map((r) => r.query.call_id)).toContain(row.call_id);
      sim.endCall(row);
      await waitFor('CALL_ENDED', () => l.events.some((e) => e.type === 'CALL_ENDED' && e.call.key === row.call_id));
      expect(l.events.filter((e) => e.call.key === row.call_id).map((e) => e.type)).toEqual(['CALL_ADDED', 'CALL_UPDATED', 'CALL_ENDED']);
      // Ended: no longer re-read.
      sim.server.resetCounters();
      await l.polls(2);
      expect(sim.server.count('/call/detail')).toBe(0);
    } finally {
      l.stop();
    }
  });
});

describe('only while listened to', () => {
  it('polls a connection only while someone listens, and stops when the last listener leaves', async () => {
    const sim = sims.twenty2;
    await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
    sim.server.resetCounters();
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
    expect(sim.server.count()).toBe(0);
    expect(h.server.events.watchers()).toEqual([]);

    const a = listen('TWENTY2');
    const b = listen('TWENTY2');
    await a.polls(2);
    expect(h.server.events.watchers().map((w) => w.connection)).toEqual(['twenty2/default']);
    a.stop();
    await b.polls(1); // one listener left: still watched
    b.stop();
    b.stop(); // harmless twice
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS)); // a poll in flight lands first
    sim.server.resetCounters();
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
    expect(sim.server.count()).toBe(0);
    expect(h.server.events.watchers()).toEqual([]);
  });
});

describe('observeLocal', () => {
  it('keeps a connection watched by itself, and gets the events subscribers get (one replica)', async () => {
    const ref = { provider: 'RETELL' as const, connection: 'default' };
    const local: CallEvent[] = [];
    const stopLocal = h.server.events.observeLocal([ref], (e) => local.push(e));
    try {
      await waitFor('watching', () => h.server.events.watchers().some((w) => w.connection === 'retell/default' && w.state === 'watching'));
      const l = listen('RETELL');
      await l.polls(1);
      const row = sims.retell.addCall();
      await waitFor('both listeners', () => local.length >= 2 && l.events.length >= 2);
      l.stop();
      expect(local.map((e) => e.id)).toEqual(l.events.map((e) => e.id));
      expect(local.map((e) => [e.type, e.call.key])).toEqual([
        ['CALL_ADDED', row.call_id],
        ['CALL_ENDED', row.call_id],
      ]);
    } finally {
      stopLocal();
    }
    await waitFor('no watcher', () => h.server.events.watchers().length === 0);
  });
});

describe('outage', () => {
  it('is an event-free gap with a failing state; recovery announces the calls that arrived, none twice', async () => {
    const sim = sims.talkstack;
    const l = listen('TALKSTACK');
    try {
      await l.polls(1);
      const before = sim.addCall();
      await waitFor('the call before the outage', () => l.events.length === 2);

      sim.server.persistentFault = { kind: 'status', status: 503 };
      await waitFor('a failing watcher', () => l.status()?.state === 'failing');
      expect(l.status()?.lastError).toBe('HTTP_STATUS');
      const health = (await (await fetch(h.server.url.replace('/graphql', '/health'))).json()) as { watchers: unknown };
      expect(health.watchers).toEqual([expect.objectContaining({ connection: 'talkstack/default', state: 'failing', lastError: 'HTTP_STATUS' })]);
      const during = sim.addCall();
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
      expect(l.events).toHaveLength(2);

      sim.server.clearFaults();
      await waitFor('recovery', () => l.events.length >= 4);
      await l.polls(3);
      expect(l.events.map((e) => [e.type, e.call.key])).toEqual([
        ['CALL_ADDED', before.callSid],
        ['CALL_ENDED', before.callSid],
        ['CALL_ADDED', during.callSid],
        ['CALL_ENDED', during.callSid],
      ]);
      expect(l.status()?.state).toBe('watching');
    } finally {
      sim.server.clearFaults();
      l.stop();
    }
  });

  it('sends nothing while the breaker of the connection is open', async () => {
    const sim = sims.cinnox;
    const l = listen('CINNOX');
    const polls = async (outcome: string) => {
      const text = await (await fetch(h.server.url.replace('/graphql', '/metrics'))).text();
      return Number(new RegExp(`^switchboard_watch_polls_total\\{connection="cinnox/default",outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    };
    try {
      await l.polls(1);
      sim.server.resetCounters();
      const [okBefore, failedBefore, refusedBefore] = [await polls('ok'), await polls('HTTP_STATUS'), await polls('CIRCUIT_OPEN')];
      sim.server.persistentFault = { kind: 'status', status: 500 };
      await waitFor('the breaker to refuse polls', () => l.status()?.lastError === 'CIRCUIT_OPEN');
      await new Promise((r) => setTimeout(r, 3 * INTERVAL_MS));
      sim.server.clearFaults();
      await l.polls(1);
      const sent = sim.server.count();
      const [ok, failed, refused] = [(await polls('ok')) - okBefore, (await polls('HTTP_STATUS')) - failedBefore, (await polls('CIRCUIT_OPEN')) - refusedBefore];
      // Each poll that got an answer sent one request (no retries here), each the breaker refused none
      // (one more may be in flight as the metrics are read).
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(failed).toBeGreaterThanOrEqual(5); // the breaker's threshold
      expect(sent).toBeGreaterThanOrEqual(ok + failed - 1);
      expect(sent).toBeLessThanOrEqual(ok + failed + 1);
    } finally {
      sim.server.clearFaults();
      l.stop();
    }
  });

  it('waits out a Retry-After before polling again', async () => {
    const sim = sims.retell;
    const l = listen('RETELL');
    try {
      await l.polls(1);
      sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '1' });
      await waitFor('the rate-limited poll', () => l.status()?.lastError === 'RATE_LIMITED');
      const after = sim.server.count();
      await new Promise((r) => setTimeout(r, 600));
      // At 100 ms it would have polled about six times; the provider asked for a second.
      expect(sim.server.count()).toBe(after);
      await l.polls(1);
    } finally {
      sim.server.clearFaults();
      l.stop();
    }
  });

  it.each([
    ['30 days in seconds', '2592000'],
    ['an HTTP date a year ahead', new Date(Date.now() + 365 * 86_400_000).toUTCString()],
  ])('waits out a Retry-After longer than a timer can hold (%s), not 1 ms', async (_name, retryAfter) => {
    const sim = sims.retell;
    const l = listen('RETELL');
    try {
      await l.polls(1);
      // Over 2^31-1 ms (24.8 days), which setTimeout takes as 1 ms.
      sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter });
      await waitFor('the rate-limited poll', () => l.status()?.lastError === 'RATE_LIMITED');
      const after = sim.server.count();
      await new Promise((r) => setTimeout(r, 600));
      expect(sim.server.count()).toBe(after);
      expect(l.status()?.lastError).toBe('RATE_LIMITED');
    } finally {
      sim.server.clearFaults();
      l.stop();
    }
  });

  it('keeps watching past a row that does not read, and announces it once it reads', async () => {
    const sim = sims.unpod;
    const l = listen('UNPOD');
    try {
      await l.polls(1);
      const row = sim.addCall({ id: 'call_unreadable01' });
      sim.unreadable.set(row, { call_status: 17 });
      const other = sim.addCall({ id: 'call_readable0001' });
      await waitFor('the readable call', () => l.events.length >= 2);
      await l.polls(2);
      expect(l.events.map((e) => e.call.key)).toEqual([other.id, other.id]);
      sim.unreadable.clear();
      await waitFor('the call that reads now', () => l.events.length >= 4);
      expect(l.events.slice(2).map((e) => [e.type, e.call.key])).toEqual([
        ['CALL_ADDED', row.id],
        ['CALL_ENDED', row.id],
      ]);
    } finally {
      sim.unreadable.clear();
      l.stop();
    }
  });
});

describe('metrics', () => {
  it('counts events and polls by connection', async () => {
    const text = await (await fetch(h.server.url.replace('/graphql', '/metrics'))).text();
    expect(text).toMatch(/switchboard_call_events_total\{connection="twenty2\/default",type="CALL_ADDED"\} [1-9]/);
    expect(text).toMatch(/switchboard_watch_polls_total\{connection="talkstack\/default",outcome="HTTP_STATUS"\} [1-9]/);
  });
});

describe('demo mode is live', () => {
  it('its simulated activity starts and ends calls at every provider, which watchers announce', async () => {
    const events: CallEvent[] = [];
    const refs = PROVIDER_MODULES.map((m) => ({ provider: m.provider, connection: 'default' }));
    const stop = h.server.events.subscribe(refs, (event) => events.push(event));
    await waitFor('every connection watched', () => h.server.events.watchers().filter((w) => w.state === 'watching').length === refs.length);
    const stopActivity = simulateActivity(sims, { everyMs: 40, durationMs: [100, 300] });
    try {
      await waitFor('calls ended at every provider', () => refs.every((r) => events.some((e) => e.type === 'CALL_ENDED' && e.call.provider === r.provider)), 20_000);
    } finally {
      stopActivity();
      stop();
    }
    // Per call: one CALL_ADDED first, at most one CALL_ENDED.
    const byCall = new Map<string, string[]>();
    for (const e of events) byCall.set(`${e.call.provider}/${e.call.key}`, [...(byCall.get(`${e.call.provider}/${e.call.key}`) ?? []), e.type]);
    for (const types of byCall.values()) {
      expect(types[0]).toBe('CALL_ADDED');
      expect(types.filter((t) => t === 'CALL_ADDED')).toHaveLength(1);
      expect(types.filter((t) => t === 'CALL_ENDED').length).toBeLessThanOrEqual(1);
    }
  });
});
