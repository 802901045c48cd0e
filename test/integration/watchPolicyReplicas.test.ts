/**
 * The watch policy across replicas (src/live/source.ts with Redis): the first pages asked of every
 * replica count together towards `demand` (on Redis's clock), one replica then watches the
 * connection under its lease, and it stops after the quiet period; `always` gives one watcher per
 * connection however many replicas want it. redis-server must be on PATH (test/prerequisites.ts).
 */
import { connect } from 'node:net';
import type { Simulators } from '../../src/demo.js';
import { type Replicas, startReplicas } from '../helpers/replicas.js';
import type { Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const INTERVAL_MS = 100;

let replicas: Replicas;
let sims: Simulators;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  replicas = await startReplicas({
    harness: {
      env: { SWITCHBOARD_WATCH: 'demand', SWITCHBOARD_WATCH_DEMAND_REQUESTS: '4', SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS: '60', SWITCHBOARD_WATCH_QUIET_SECONDS: '2' },
      configure: (config) => ({
        ...config,
        // unpod's own `watch` (the config file's key): always, on both replicas.
        connections: config.connections.map((c) => (c.provider === 'UNPOD' ? { ...c, watch: 'always' as const } : c)),
        watch: { ...config.watch, intervalMs: INTERVAL_MS, leaseMs: 1_000, heartbeatMs: 100 },
      }),
    },
  });
  ({ sims, a, b } = replicas);
});

afterAll(() => replicas?.stop());

const holders = (label: string) => [a, b].filter((h) => h.server.events.watchers().some((w) => w.connection === label));
const firstPage = (h: Harness) => h.gql('{ calls(first: 5, filter: { providers: [TWENTY2] }) { edges { node { id } } } }');
const lists = () => sims.twenty2.server.count('/call/logs');

describe('two replicas sharing Redis', () => {
  it('watch an `always` connection once between them', async () => {
    await waitFor('unpod watched', () => holders('unpod/default').length === 1);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(holders('unpod/default')).toHaveLength(1);
    expect(holders('unpod/default')[0]!.server.events.watchers().find((w) => w.connection === 'unpod/default')?.reasons).toEqual(['always']);
  });

  it("count the first pages asked of both towards demand: 2 + 2 of 4 make one of them watch it, and only it", async () => {
    for (let i = 0; i < 2; i++) expect((await firstPage(a)).body.errors).toBeUndefined();
    for (let i = 0; i < 1; i++) expect((await firstPage(b)).body.errors).toBeUndefined();
    await new Promise((r) => setTimeout(r, 500));
    expect(holders('twenty2/default')).toHaveLength(0); // 3 of 4
    expect((await firstPage(b)).body.errors).toBeUndefined();
    await waitFor('twenty2 watched by one replica', () => holders('twenty2/default').length === 1);
    const start = lists();
    await waitFor('twenty2 polled', () => lists() >= start + 3);
    expect(holders('twenty2/default')).toHaveLength(1);
    expect(holders('twenty2/default')[0]!.server.events.watchers().find((w) => w.connection === 'twenty2/default')?.reasons).toEqual(['demand']);
    // No other connection was asked: none is watched but unpod (always).
    for (const h of [a, b]) for (const w of h.server.events.watchers()) expect(['twenty2/default', 'unpod/default']).toContain(w.connection);
  });

  it('stop watching it after the quiet period, on whichever replica held it', async () => {
    await waitFor('twenty2 no longer watched', () => holders('twenty2/default').length === 0, 15_000);
    const start = lists();
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
    expect(lists()).toBe(start);
    expect(holders('unpod/default')).toHaveLength(1);
  });

  it('a client asking first pages in a loop costs Redis one demand script a heartbeat while watched, not one a page', async () => {
    for (let i = 0; i < 4; i++) expect((await firstPage(a)).body.errors).toBeUndefined();
    await waitFor('twenty2 watched', () => holders('twenty2/default').length === 1);
    await new Promise((r) => setTimeout(r, 300)); // a heartbeat has seen the demand
    // MONITOR over a plain socket: ioredis' monitor mode can mistake its first lines for replies
    // under load ("Command queue state error"). One line per command, a script's newlines escaped.
    const monitor = connect(Number(new URL(replicas.redis.url).port), '127.0.0.1');
    let asks = 0;
    let pending = '';
    monitor.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\r\n');
      pending = lines.pop() ?? '';
      // The ASK script (src/live/source.ts) is the only one trimming by rank.
      for (const line of lines) if (/\] "eval" /i.test(line) && line.includes('ZREMRANGEBYRANK')) asks += 1;
    });
    monitor.write('MONITOR\r\n');
    await new Promise((r) => setTimeout(r, 100)); // MONITOR is on
    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: 40 }, () => firstPage(a)));
    const heartbeats = Math.ceil((Date.now() - started) / 100); // heartbeatMs
    await new Promise((r) => setTimeout(r, 100));
    monitor.destroy();
    for (const p of pages) expect(p.body.errors).toBeUndefined();
    // Without the throttle: 40, one a page.
    expect(asks).toBeGreaterThanOrEqual(1); // the count sees them: the first page after a heartbeat asks
    expect(asks).toBeLessThanOrEqual(heartbeats + 1);
    expect(holders('twenty2/default')).toHaveLength(1);
  });
});
