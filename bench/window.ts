/**
 * `npm run bench -- --window`: scenario b (every provider, `calls(first: 20)`) at 200 ms upstream
 * latency, served from the watched connections' windows (docs/live.md, "Freshness") against read
 * upstream. Measured, never asserted.
 *
 * Every provider's simulator in its own process (bench/sims.ts), and two Switchboard processes
 * (bench/switchboard.ts, compiled): one with SWITCHBOARD_MAX_DATA_AGE=0 (every page read upstream),
 * one with SWITCHBOARD_MAX_DATA_AGE=30 that keeps every connection watched (BENCH_WATCH: a
 * subscriber in the process; polls every 5 s, the default). For each: the median of sequential
 * single requests, then p50/p99 and requests/s under load (autocannon, BENCH_CONNECTIONS, default
 * 10, for BENCH_DURATION seconds, default 5), and whether the answer carried `extensions.dataAge`.
 * Writes bench/results/window.json and bench/results/window.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { type Child, buildChildren, jsChild } from './children.js';
import type { SimsHello } from './sims.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const LATENCY_MS = 200;
const SERIAL_SAMPLES = 30;
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (n: number) => Math.round(n * 10) / 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const PAGE = `query Page($first: Int) {
  calls(first: $first) {
    edges { cursor node { id provider connection status startedAt endedAt durationSeconds from { phoneNumber } to { phoneNumber } cost { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const BODY = JSON.stringify({ query: PAGE, variables: { first: 20 } });

async function once(url: string, body = BODY): Promise<{ ms: number; body: { errors?: unknown; extensions?: { dataAge?: Record<string, number> } } }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await response.text();
  return { ms: performance.now() - started, body: JSON.parse(text) };
}

interface WindowRun {
  system: 'upstream' | 'window';
  serialP50Ms: number;
  p50Ms: number;
  p99Ms: number;
  requestsPerSecond: number;
  errors: number;
  /** Connections the probe's `extensions.dataAge` named (0 when read upstream). */
  servedFromWindow: number;
}

async function measure(system: WindowRun['system'], url: string): Promise<WindowRun> {
  const probe = await once(url);
  if (probe.body.errors) throw new Error(`${system}: the probe answered with errors: ${JSON.stringify(probe.body.errors).slice(0, 300)}`);
  const times: number[] = [];
  for (let i = 0; i < SERIAL_SAMPLES; i++) times.push((await once(url)).ms);
  let graphqlErrors = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY, onResponse: (_s, body) => void (body.includes('"errors"') && graphqlErrors++) }],
  });
  const run: WindowRun = {
    system,
    serialP50Ms: round(median(times)),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requestsPerSecond: round(result.requests.average),
    errors: result.non2xx + result.errors + graphqlErrors,
    servedFromWindow: Object.keys(probe.body.extensions?.dataAge ?? {}).length,
  };
  log(`  ${system.padEnd(8)} serial p50 ${run.serialP50Ms} ms  load p50 ${run.p50Ms} ms  p99 ${run.p99Ms} ms  ${run.requestsPerSecond} req/s  from windows: ${run.servedFromWindow}  errors ${run.errors}`);
  return run;
}

export async function runWindow(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const started = new Date();
  buildChildren();
  const sims = jsChild('sims.ts');
  const hello = (await sims.ready) as SimsHello;
  await sims.rpc({ type: 'latency', ms: LATENCY_MS });
  const common = { NODE_ENV: 'production', BENCH_CONNECTIONS: JSON.stringify(hello.connections), SWITCHBOARD_CACHE_MAX_ENTRIES: '0', SWITCHBOARD_MAX_IN_FLIGHT: '0', SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS: '0' };
  const children: Child[] = [];
  try {
    const upstream = jsChild('switchboard.ts', { ...common, SWITCHBOARD_MAX_DATA_AGE: '0' });
    const windowed = jsChild('switchboard.ts', { ...common, SWITCHBOARD_MAX_DATA_AGE: '30', BENCH_WATCH: 'true' });
    children.push(upstream, windowed);
    const [{ url: upstreamUrl }, { url: windowUrl }] = (await Promise.all([upstream.ready, windowed.ready])) as [{ url: string }, { url: string }];
    // The watchers' first reads take a few upstream round trips: wait until every connection serves.
    for (let i = 0; i < 100 && Object.keys((await once(windowUrl)).body.extensions?.dataAge ?? {}).length < hello.connections.length; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    log(`window: scenario b at ${LATENCY_MS} ms upstream, ${CONNECTIONS} connections, ${DURATION} s`);
    const runs = [await measure('upstream', upstreamUrl), await measure('window', windowUrl)];
    const [plain, served] = runs as [WindowRun, WindowRun];
    // The floor on this machine now: the same server answering a query that reads nothing.
    const floor: number[] = [];
    for (let i = 0; i < SERIAL_SAMPLES; i++) floor.push((await once(windowUrl, JSON.stringify({ query: '{ __typename }' }))).ms);
    const floorSerialP50Ms = round(median(floor));
    log(`  floor    serial p50 ${floorSerialP50Ms} ms ({ __typename })`);
    const cpus = os.cpus();
    const results = {
      date: started.toISOString(),
      command: 'npm run bench -- --window',
      machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version },
      latencyMs: LATENCY_MS,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      runs,
      floorSerialP50Ms,
      ratio: { serialP50: round(plain.serialP50Ms / Math.max(served.serialP50Ms, 0.1)), loadP50: round(plain.p50Ms / Math.max(served.p50Ms, 0.1)) },
    };
    writeFileSync(join(RESULTS, 'window.json'), `${JSON.stringify(results, null, 2)}\n`);
    const markdown = [
      '# Serving from the window',
      '',
      `${results.date.slice(0, 16).replace('T', ' ')} UTC · \`${results.command}\` · ${results.machine.cpus} × ${results.machine.cpuModel} · Node ${results.machine.node} · scenario b (${hello.connections.length} providers, \`calls(first: 20)\`), every simulator at ${LATENCY_MS} ms, in its own process; two Switchboard processes, compiled, cache off: SWITCHBOARD_MAX_DATA_AGE=0, and =30 with every connection watched (polled every 5 s); ${CONNECTIONS} connections for ${DURATION} s under load.`,
      '',
      '| served | serial p50 ms | p50 ms under load | p99 ms under load | req/s | connections from windows | errors |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...runs.map((r) => `| ${r.system === 'window' ? 'from the windows' : 'upstream'} | ${r.serialP50Ms} | ${r.p50Ms} | ${r.p99Ms} | ${r.requestsPerSecond} | ${r.servedFromWindow} | ${r.errors} |`),
      '',
      `Upstream over window: **${results.ratio.serialP50}×** the serial p50, ${results.ratio.loadP50}× the p50 under load. The floor, the same server answering \`{ __typename }\` sequentially: ${floorSerialP50Ms} ms p50.`,
      '',
    ].join('\n');
    writeFileSync(join(RESULTS, 'window.md'), markdown);
    process.stdout.write(`\n${markdown}`);
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await sims.stop();
  }
}
