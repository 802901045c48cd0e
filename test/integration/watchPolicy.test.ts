/**
 * The watch policy over HTTP (src/live/policy.ts, src/live/source.ts; docs/live.md, "Cost of
 * watching"): `demand` watches a connection once its first page was asked often enough through
 * `calls`, within the asking key's scope and filter, and stops after a quiet period; `always`
 * watches every connection from start-up; `off` (and the default with providers configured)
 * watches nothing nobody listens to. Watching shows in /health and /metrics, and as list requests
 * the simulators receive while no GraphQL request is made.
 */
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { ProviderSimulator } from '../../src/providers/module.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { waitFor } from '../helpers/waitFor.js';

const INTERVAL_MS = 100;
const ALL = 'all-connections-key-0001';
const TWENTY2_ONLY = 'twenty2-only-key-0001';

const simOf = (sims: Simulators, provider: string) => (sims as unknown as Record<string, ProviderSimulator>)[provider]!;
const requestsTo = (sims: Simulators, provider: string) => simOf(sims, provider).server.requests.length;
const providers = ['twenty2', 'unpod', 'cinnox', 'talkstack', 'twilio', 'vapi', 'retell'];

async function start(env: Record<string, string>, configure: (c: any) => any = (c) => c): Promise<{ h: Harness; sims: Simulators }> {
  const sims = await startSimulators({ count: 20 });
  const h = await startHarness({
    sims: async () => sims,
    env: { SWITCHBOARD_API_KEYS: `${ALL},${TWENTY2_ONLY}:twenty2/default`, ...env },
    configure: (config) => configure({ ...config, watch: { ...config.watch, intervalMs: INTERVAL_MS } }),
  });
  return { h, sims };
}

const firstPage = (h: Harness, key: string, filter = '') =>
  h.gql(`{ calls(first: 5${filter}) { edges { node { id } } pageInfo { endCursor } } }`, undefined, { authorization: `Bearer ${key}` });

async function health(h: Harness): Promise<{ watchers: { connection: string; reasons?: string[] }[] }> {
  return (await fetch(h.server.url.replace(/\/graphql$/, '/health'))).json() as never;
}

async function metrics(h: Harness): Promise<string> {
  return (await fetch(h.server.url.replace(/\/graphql$/, '/metrics'))).text();
}

/** The value of one sample of /metrics, 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

const watched = (h: Harness) => h.server.events.watchers().map((w) => w.connection).sort();

/** Resolves once `sims`' `provider` has had `n` more requests than now, none of them ours. */
async function polled(sims: Simulators, provider: string, n = 3): Promise<void> {
  const start = requestsTo(sims, provider);
  await waitFor(`${provider} polled ${n} times`, () => requestsTo(sims, provider) >= start + n);
}

/** Waits several intervals and says whether `provider` received any request meanwhile. */
async function quietFor(sims: Simulators, provider: string, intervals = 5): Promise<number> {
  const start = requestsTo(sims, provider);
  await new Promise((r) => setTimeout(r, intervals * INTERVAL_MS));
  return requestsTo(sims, provider) - start;
}

describe('SWITCHBOARD_WATCH=demand', () => {
  let h: Harness;
  let sims: Simulators;
  beforeAll(async () => {
    ({ h, sims } = await start({ SWITCHBOARD_WATCH: 'demand', SWITCHBOARD_WATCH_DEMAND_REQUESTS: '3', SWITCHBOARD_WATCH_DEMAND_PERIOD_SECONDS: '60', SWITCHBOARD_WATCH_QUIET_SECONDS: '2' }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('watches nothing before any page is asked: no request reaches any provider', async () => {
    sims.servers.forEach((s) => s.resetCounters());
    for (const provider of providers) expect(await quietFor(sims, provider, 3)).toBe(0);
    expect(watched(h)).toEqual([]);
  });

  it("watches a connection once its first page was asked N times within the key's scope, and only that one", async () => {
    sims.servers.forEach((s) => s.resetCounters());
    for (let i = 0; i < 2; i++) expect((await firstPage(h, TWENTY2_ONLY)).body.errors).toBeUndefined();
    expect(watched(h)).toEqual([]); // 2 of 3
    expect((await firstPage(h, TWENTY2_ONLY)).body.errors).toBeUndefined();
    await waitFor('twenty2 watched', () => watched(h).includes('twenty2/default'));
    await polled(sims, 'twenty2'); // polls while no GraphQL request is made

    // The key sees twenty2 only: its first pages never made another connection watched or polled.
    expect(watched(h)).toEqual(['twenty2/default']);
    for (const provider of providers.filter((p) => p !== 'twenty2')) expect(requestsTo(sims, provider)).toBe(0);

    const report = await health(h);
    expect(report.watchers.find((w) => w.connection === 'twenty2/default')?.reasons).toEqual(['demand']);
    const text = await metrics(h);
    expect(sample(text, 'switchboard_watch_watched', { connection: 'twenty2/default', reason: 'demand' })).toBe(1);
    expect(sample(text, 'switchboard_watch_upstream_requests_total', { connection: 'twenty2/default', reason: 'demand' })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'switchboard_watch_upstream_requests_total', { connection: 'unpod/default' })).toBe(0);
  });

  it('stops watching after the quiet period without a first page asked, and polls no more', async () => {
    await waitFor('twenty2 no longer watched', () => !watched(h).includes('twenty2/default'), 15_000);
    expect(await quietFor(sims, 'twenty2')).toBe(0);
    expect((await health(h)).watchers).toEqual([]);
  });

  it("counts only first pages the filter includes, forward and without a cursor: later pages, last pages and other providers' filters do not", async () => {
    const unpod = ', filter: { providers: [UNPOD] }';
    const first = await firstPage(h, ALL, unpod);
    const after = first.body.data.calls.pageInfo.endCursor;
    for (let i = 0; i < 3; i++) {
      await h.gql(`{ calls(first: 5, after: "${after}"${unpod}) { edges { node { id } } } }`, undefined, { authorization: `Bearer ${ALL}` });
      await h.gql(`{ calls(last: 5${unpod}) { edges { node { id } } } }`, undefined, { authorization: `Bearer ${ALL}` });
      await firstPage(h, ALL, ', filter: { providers: [VAPI, RETELL] }');
    }
    // unpod: one first page; vapi and retell: three each, so they are watched, and only they.
    await waitFor('vapi and retell watched', () => watched(h).length === 2);
    expect(watched(h)).toEqual(['retell/default', 'vapi/default']);
    sims.servers.forEach((s) => s.resetCounters());
    expect(await quietFor(sims, 'unpod')).toBe(0);
  });
});

describe('SWITCHBOARD_WATCH=always', () => {
  let h: Harness;
  let sims: Simulators;
  beforeAll(async () => {
    ({ h, sims } = await start({ SWITCHBOARD_WATCH: 'always' }));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('watches every connection from start-up, without any request', async () => {
    await waitFor('every connection watched', () => watched(h).length === providers.length);
    for (const provider of providers) await polled(sims, provider, 2);
    const report = await health(h);
    expect(report.watchers.map((w) => w.reasons)).toEqual(providers.map(() => ['always']));
    const text = await metrics(h);
    for (const provider of providers) {
      expect(sample(text, 'switchboard_watch_watched', { connection: `${provider}/default`, reason: 'always' })).toBe(1);
      expect(sample(text, 'switchboard_watch_upstream_requests_total', { connection: `${provider}/default`, reason: 'always' })).toBeGreaterThan(0);
    }
  });
});

describe('SWITCHBOARD_WATCH=off (the default with providers configured)', () => {
  let h: Harness;
  let sims: Simulators;
  beforeAll(async () => {
    // twenty2's own `watch` (the config file's key) overrides the variable for it alone.
    ({ h, sims } = await start({ SWITCHBOARD_WATCH_DEMAND_REQUESTS: '1' }, (config) => ({
      ...config,
      connections: config.connections.map((c: { provider: string }) => (c.provider === 'TWENTY2' ? { ...c, watch: 'always' } : c)),
    })));
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('never watches a connection nobody listens to, however often its first page is asked', async () => {
    await waitFor('twenty2 watched (its own policy)', () => watched(h).includes('twenty2/default'));
    for (let i = 0; i < 4; i++) expect((await firstPage(h, ALL)).body.errors).toBeUndefined();
    sims.servers.forEach((s) => s.resetCounters());
    for (const provider of providers.filter((p) => p !== 'twenty2')) expect(await quietFor(sims, provider, 3)).toBe(0);
    expect(watched(h)).toEqual(['twenty2/default']);
  });

  it('watches while someone subscribes, and stops when they leave', async () => {
    const stop = h.server.events.subscribe([{ provider: 'UNPOD', connection: 'default' }], () => {});
    await waitFor('unpod watched', () => watched(h).includes('unpod/default'));
    expect(h.server.events.watchers().find((w) => w.connection === 'unpod/default')?.reasons).toEqual(['subscribers']);
    stop();
    await waitFor('unpod no longer watched', () => !watched(h).includes('unpod/default'));
  });
});
