/**
 * What tracing costs per request: Switchboard's CPU (its own process.cpuUsage, in a child process)
 * per merged `calls` page, for
 *   - `base`: another checkout's src without tracing code, when BENCH_BASE_ROOT names one,
 *   - `off`:  this tree, tracing not configured (what runs without OTEL_* variables),
 *   - `on`:   this tree, every request traced, spans batched to an exporter that drops them.
 * Variants run in alternated rounds (the machine is shared: compare within a round). Run with
 * `npx tsx bench/tracing-cost.ts`; BENCH_ROUNDS (6), BENCH_REQUESTS per round (1500).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const CHILD = fileURLToPath(import.meta.url);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1500);
const QUERY = JSON.stringify({ query: 'query LatestCalls { calls(first: 20) { nodes { id provider startedAt } } }' });

if (process.env.TRACING_COST_CHILD) {
  // Child: one Switchboard over the connections it is given; answers CPU readings over IPC.
  const root = process.env.TRACING_COST_ROOT!;
  const { loadConfig } = await import(`${root}/src/config.ts`);
  const { createLogger } = await import(`${root}/src/logger.ts`);
  const { startSwitchboard } = await import(`${root}/src/server.ts`);
  const { Writable } = await import('node:stream');
  let tracing = null;
  if (process.env.TRACING_COST_CHILD === 'on') {
    const { Tracing } = await import(`${root}/src/observability/tracing.ts`);
    const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const drop = { export: (_spans: unknown, done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} };
    tracing = await Tracing.create([new BatchSpanProcessor(drop)]);
  }
  const base = loadConfig({ NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true', SWITCHBOARD_DEMO: 'true', PORT: '0', SWITCHBOARD_CACHE_MAX_ENTRIES: '0' });
  const config = { ...base, demo: false, port: 0, connections: JSON.parse(process.env.TRACING_COST_CONNECTIONS!), http: { ...base.http, retries: 0 } };
  const server = await startSwitchboard({ config, logger: createLogger('warn', new Writable({ write: (_c, _e, done) => done() })), tracing });
  process.on('message', () => process.send!({ cpu: process.cpuUsage() }));
  process.on('disconnect', () => process.exit(0));
  process.send!({ url: server.url });
} else {
  const { startSimulators } = await import('../src/demo.js');
  const sims = await startSimulators();
  const here = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  const variants = [
    ...(process.env.BENCH_BASE_ROOT ? [{ name: 'base', root: process.env.BENCH_BASE_ROOT, mode: 'off' }] : []),
    { name: 'off', root: here, mode: 'off' },
    { name: 'on', root: here, mode: 'on' },
  ];
  const children = await Promise.all(
    variants.map(
      (v) =>
        new Promise<{ name: string; child: ChildProcess; url: string }>((resolve) => {
          const child = fork(CHILD, {
            execArgv: ['--import', 'tsx'],
            env: { ...process.env, TRACING_COST_CHILD: v.mode, TRACING_COST_ROOT: v.root, TRACING_COST_CONNECTIONS: JSON.stringify(sims.connections) },
          });
          child.once('message', (m: { url: string }) => resolve({ name: v.name, child, url: m.url }));
        }),
    ),
  );
  const cpu = (child: ChildProcess) =>
    new Promise<number>((resolve) => {
      child.once('message', (m: { cpu: NodeJS.CpuUsage }) => resolve(m.cpu.user + m.cpu.system));
      child.send('cpu');
    });
  const load = (url: string, amount: number) =>
    autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY, connections: 8, amount });
  for (const c of children) await load(c.url, 500); // warm-up: JIT, sockets
  const perRequest: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? children : [...children].reverse();
    for (const c of order) {
      const before = await cpu(c.child);
      const result = await load(c.url, REQUESTS);
      const used = (await cpu(c.child)) - before;
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${c.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      (perRequest[c.name] ??= []).push(used / REQUESTS);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [name, xs] of Object.entries(perRequest)) {
    console.log(`${name.padEnd(5)} CPU µs/request: median ${median(xs).toFixed(0)}  rounds ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
  const ratios = (a: string, b: string) => perRequest[a]!.map((x, i) => x / perRequest[b]![i]!);
  if (perRequest.base) console.log(`off/base per round: ${ratios('off', 'base').map((r) => r.toFixed(3)).join(' ')}  median ${median(ratios('off', 'base')).toFixed(3)}`);
  console.log(`on/off per round: ${ratios('on', 'off').map((r) => r.toFixed(3)).join(' ')}  median ${median(ratios('on', 'off')).toFixed(3)}`);
  for (const c of children) c.child.disconnect();
  await sims.close();
}
