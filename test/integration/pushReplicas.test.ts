/**
 * Provider pushes with Redis (src/live/source.ts `push`): two Switchboard replicas share a real
 * redis-server and the simulators. A push may reach either replica (a load balancer in front);
 * only the lease holder reads and commits, so a push to the replica that does not hold the lease
 * is forwarded to the one that does, and every subscriber on both gets the event once.
 * redis-server must be on PATH (test/prerequisites.ts).
 */
import type { Simulators } from '../../src/demo.js';
import type { CallEvent } from '../../src/live/events.js';
import { type Replicas, startReplicas } from '../helpers/replicas.js';
import type { Harness } from '../helpers/switchboard.js';

const PROVIDERS = ['TWILIO', 'RETELL'] as const;

let replicas: Replicas;
let sims: Simulators;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  replicas = await startReplicas({
    harness: {
      connections: (s) => s.connections.filter((c) => (PROVIDERS as readonly string[]).includes(c.provider)),
      // An hour between polls: only a push explains an event.
      configure: (config) => ({ ...config, watch: { intervalMs: 3_600_000, leaseMs: 2_000, heartbeatMs: 100 } }),
    },
  });
  ({ sims, a, b } = replicas);
});

afterAll(() => replicas?.stop());

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const watcherOn = (h: Harness, label: string) => h.server.events.watchers().find((w) => w.connection === label);

describe.each(PROVIDERS)('%s pushed to the replica without the lease', (provider) => {
  it('is applied by the lease holder: each subscriber on both replicas gets CALL_ADDED, then CALL_ENDED, once', async () => {
    const ref = { provider, connection: 'default' };
    const label = `${provider.toLowerCase()}/default`;
    const onA: CallEvent[] = [];
    const onB: CallEvent[] = [];
    const stops = [a.server.events.subscribe([ref], (e) => onA.push(e)), b.server.events.subscribe([ref], (e) => onB.push(e))];
    try {
      await until(() => [a, b].some((h) => watcherOn(h, label)?.state === 'watching'));
      const holder = watcherOn(a, label) ? a : b;
      const other = holder === a ? b : a;
      const polledAt = watcherOn(holder, label)!.lastPollAt;
      const url = `${other.server.url.replace(/\/graphql$/, '')}/providers/${provider.toLowerCase()}/default/events`;
      const call =
        provider === 'TWILIO'
          ? (() => {
              const row = sims.twilio.startCall();
              return { id: row.sid, push: () => sims.twilio.push(url, row), end: () => sims.twilio.endCall(row) };
            })()
          : (() => {
              const row = sims.retell.startCall();
              return { id: row.call_id, push: () => sims.retell.push(url, row, row.call_status === 'ended' ? 'call_ended' : 'call_started'), end: () => sims.retell.endCall(row) };
            })();
      const of = (events: CallEvent[]) => events.filter((e) => e.call.providerCallId === call.id).map((e) => e.type);
      expect((await call.push()).status).toBe(200);
      await until(() => of(onA).length >= 1 && of(onB).length >= 1);
      call.end();
      expect((await call.push()).status).toBe(200);
      await until(() => of(onA).length >= 2 && of(onB).length >= 2);
      expect([of(onA), of(onB)]).toEqual([
        ['CALL_ADDED', 'CALL_ENDED'],
        ['CALL_ADDED', 'CALL_ENDED'],
      ]);
      expect(watcherOn(other, label)).toBeUndefined();
      expect(watcherOn(holder, label)!.lastPollAt).toBe(polledAt);
      const metrics = await (await fetch(other.server.url.replace(/\/graphql$/, '/metrics'))).text();
      expect(metrics).toMatch(new RegExp(`switchboard_pushes_total\\{connection="${label}",outcome="forwarded"\\} 2`));
    } finally {
      for (const stop of stops) stop();
    }
  });
});
