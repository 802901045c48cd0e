/**
 * `npm run bench`: Switchboard against its simulators at fixed upstream latencies (0 and 50 ms),
 * side by side with the peer (GraphQL Mesh + Hive Gateway over OpenAPI) and a direct call to the
 * simulator as the floor. Separate from the tests: numbers, not assertions.
 *
 * Three kinds of process so the load generator does not share an event loop with what it measures:
 * this one (autocannon), the simulators (bench/sims.ts) and Switchboard (bench/switchboard.ts), plus
 * hive-gateway for the peer. Per scenario: requests/s, p50/p99 under load, the median of sequential
 * single requests (the layer's own latency), upstream requests per query, and the peak RSS of the
 * server process during the scenario (Linux VmHWM, reset before each scenario).
 *
 * Then overload (scenario f): the merged page at 200 connections on Switchboard without load
 * shedding and with its default bounds — answered requests and their p99, 503s shed, client
 * time-outs and errors — and the CPU an idle Switchboard uses (with external providers, and in
 * demo mode), against the peer's.
 *
 * Live events (subscriptions' latency, watching's upstream cost, 1,000 subscribers): bench/live.ts,
 * with --live (only that). Scenario b at 200 ms upstream served from watched windows against not:
 * bench/window.ts, with --window (only that).
 *
 * Options: --profile (also CPU-profile Switchboard on the 0 ms merged page and summarise it),
 * --overload (only scenario f and idle CPU, written to bench/results/overload.*), BENCH_DURATION
 * (seconds per scenario, default 5), BENCH_OVERLOAD_DURATION (seconds per overload run, default
 * 15), BENCH_CONNECTIONS (default 10), BENCH_ROUNDS (alternating Switchboard/peer rounds of
 * scenarios a and a′, default 3).
 * Writes bench/results/latest.json and bench/results/latest.md.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Child, buildChildren, jsChild } from './children.js';
import { type Peer, startPeer } from './peer.js';
import { type ProfileSummary, summariseProfile } from './profile.js';
import type { SimsHello } from './sims.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const RESULTS = join(HERE, 'results');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** Fewer connections for 100-lookup queries: 10 × 100 upstream requests would only measure the queue. */
const BATCH_CONNECTIONS = 2;
/** At 50 ms upstream, 10 connections cap every system near 200 req/s: a′ loads the CPU instead. */
const WIDE_CONNECTIONS = 100;
const SERIAL_SAMPLES = 30;
/** Alternating Switchboard/peer rounds for the head-to-head scenarios (drift on a shared machine cancels out). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = 1;
const LATENCIES = [0, 50] as const;
const PROFILE = process.argv.includes('--profile');
const OVERLOAD_ONLY = process.argv.includes('--overload');
/** Scenario f: the connections of the saturation report in issue 14. */
const OVERLOAD_CONNECTIONS = 200;
/** Longer than a scenario: a client gives up after autocannon's 10 s time-out, which 5 s never shows. */
const OVERLOAD_DURATION = Number(process.env.BENCH_OVERLOAD_DURATION ?? 15);
const CLIENT_TIMEOUT_SECONDS = 10;
/**
 * Idle CPU: IDLE_WINDOWS windows of IDLE_MS each, after IDLE_SETTLE_MS at rest; the median is the
 * steady state (V8's memory reducer runs a few one-off collections after a process goes quiet).
 */
const IDLE_MS = 10_000;
const IDLE_WINDOWS = 3;
const IDLE_SETTLE_MS = 20_000;
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------- child processes: bench/children.ts ----------

/** Peak RSS of a process since the last reset (Linux), in bytes; null elsewhere. */
function peakRss(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}
function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5'); // 5: reset the peak RSS (proc(5))
  } catch {
    // not Linux: the peak is then the process's lifetime peak
  }
}

// ---------- measuring ----------

interface Target {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Fetches one "query" when it is not a single HTTP request (the direct lookup floor). */
  custom?: () => Promise<void>;
}

interface Measurement {
  scenario: string;
  system: 'switchboard' | 'peer' | 'direct';
  latencyMs: number;
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Median of sequential single requests, no concurrent load. */
  serialP50Ms: number;
  upstreamPerQuery: number;
  /** Responses that were not 2xx, carried GraphQL errors, or failed to connect. */
  errors: number;
  peakRssMb: number | null;
}

const graphql = (url: string, query: string, variables?: Record<string, unknown>): Target => ({
  url,
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query, variables }),
});

async function once(target: Target): Promise<string> {
  if (target.custom) {
    await target.custom();
    return '';
  }
  const response = await fetch(target.url, { method: target.method, headers: target.headers, body: target.body });
  const text = await response.text();
  if (!response.ok) throw new Error(`${target.url} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
};

async function serialMedian(target: Target, samples = SERIAL_SAMPLES): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await once(target);
    times.push(performance.now() - started);
  }
  return median(times);
}

/** Load for DURATION seconds: autocannon for HTTP targets, a closed loop for custom ones. */
async function load(target: Target, connections: number, duration = DURATION): Promise<{ rps: number; p50: number; p99: number; completed: number; errors: number }> {
  if (target.custom) {
    const times: number[] = [];
    const end = performance.now() + duration * 1000;
    let errors = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (performance.now() < end) {
          const started = performance.now();
          await target.custom!().catch(() => errors++);
          times.push(performance.now() - started);
        }
      }),
    );
    return { rps: times.length / duration, p50: Math.round(median(times) * 10) / 10, p99: Math.round(percentile(times, 99) * 10) / 10, completed: times.length, errors };
  }
  let graphqlErrors = 0;
  const result = await autocannon({
    url: target.url,
    connections,
    duration,
    requests: [
      {
        method: target.method,
        headers: target.headers,
        ...(target.body ? { body: target.body } : {}),
        onResponse: (_status, body) => {
          if (body.includes('"errors"')) graphqlErrors++;
        },
      },
    ],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    completed: result.requests.total,
    errors: result.non2xx + result.errors + graphqlErrors,
  };
}

/** Scenario f: one load run at OVERLOAD_CONNECTIONS, answers told apart by status. */
interface OverloadRun {
  latencyMs: number;
  shedding: 'off' | 'defaults';
  /** What a client does after a 503: send again at once (as autocannon would), or wait `Retry-After`. */
  client: 'retries at once' | 'waits Retry-After';
  connections: number;
  durationSeconds: number;
  /** 200 without GraphQL errors. */
  answered: number;
  answeredPerSecond: number;
  p50AnsweredMs: number;
  p99AnsweredMs: number;
  maxAnsweredMs: number;
  /** 503 OVERLOADED, and how long a client waited for one. */
  shed: number;
  p99ShedMs: number | null;
  /** The longest a new connection waited for its first answer (the accept queue shows here). */
  maxFirstAnswerMs: number;
  /** No answer within CLIENT_TIMEOUT_SECONDS: the client gave up and opened a new connection. */
  timeouts: number;
  /** Everything else: connection errors, other statuses, GraphQL errors in a 200. */
  errors: number;
}

/**
 * Scenario f's load: OVERLOAD_CONNECTIONS clients in a closed loop over keep-alive connections
 * (node:http, like autocannon), each request timed from sending to the end of its answer. A
 * client that times out drops its connection and opens a new one, as autocannon's do; one told
 * to wait by a 503 waits `Retry-After` when `client` says so. autocannon cannot wait, nor tell
 * answers apart by status in its latencies.
 */
async function overloadRun(url: string, latencyMs: number, shedding: OverloadRun['shedding'], client: OverloadRun['client'], duration = OVERLOAD_DURATION): Promise<OverloadRun> {
  const { hostname, port, pathname } = new URL(url);
  const body = graphql(url, PAGE, { first: 20 }).body!;
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  const agent = new http.Agent({ keepAlive: true, maxSockets: OVERLOAD_CONNECTIONS });
  const seen = new WeakSet<object>();
  const answered: number[] = [];
  const shed: number[] = [];
  const firstAnswers: number[] = [];
  let timeouts = 0;
  let errors = 0;
  const end = performance.now() + duration * 1000;
  const send = () =>
    new Promise<{ status: number | 'timeout' | 'error'; ms: number; fresh: boolean; retryAfter: number; text: string }>((resolve) => {
      const started = performance.now();
      let fresh = false;
      const request = http.request({ hostname, port, path: pathname, method: 'POST', agent, headers, timeout: CLIENT_TIMEOUT_SECONDS * 1000 }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode!, ms: performance.now() - started, fresh, retryAfter: Number(response.headers['retry-after'] ?? 0), text: Buffer.concat(chunks).toString() }),
        );
      });
      request.on('socket', (socket) => {
        fresh = !seen.has(socket);
        seen.add(socket);
      });
      request.on('timeout', () => {
        request.destroy();
        resolve({ status: 'timeout', ms: performance.now() - started, fresh, retryAfter: 0, text: '' });
      });
      request.on('error', () => resolve({ status: 'error', ms: performance.now() - started, fresh, retryAfter: 0, text: '' }));
      request.end(body);
    });
  await Promise.all(
    Array.from({ length: OVERLOAD_CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const answer = await send();
        if (answer.fresh && typeof answer.status === 'number') firstAnswers.push(answer.ms);
        if (answer.status === 200 && !answer.text.includes('"errors"')) answered.push(answer.ms);
        else if (answer.status === 503) shed.push(answer.ms);
        else if (answer.status === 'timeout') timeouts++;
        else errors++;
        if (answer.status === 503 && client === 'waits Retry-After') await new Promise((r) => setTimeout(r, answer.retryAfter * 1000));
      }
    }),
  );
  agent.destroy();
  const run: OverloadRun = {
    latencyMs,
    shedding,
    client,
    connections: OVERLOAD_CONNECTIONS,
    durationSeconds: duration,
    answered: answered.length,
    answeredPerSecond: Math.round((answered.length / duration) * 10) / 10,
    p50AnsweredMs: Math.round(percentile(answered, 50)),
    p99AnsweredMs: Math.round(percentile(answered, 99)),
    maxAnsweredMs: Math.round(answered.reduce((a, b) => Math.max(a, b), 0)),
    shed: shed.length,
    p99ShedMs: shed.length > 0 ? Math.round(percentile(shed, 99)) : null,
    maxFirstAnswerMs: Math.round(firstAnswers.reduce((a, b) => Math.max(a, b), 0)),
    timeouts,
    errors,
  };
  log(`  overload, shedding ${shedding.padEnd(8)} ${client.padEnd(17)} ${String(latencyMs).padStart(2)} ms  answered ${run.answered} (${run.answeredPerSecond}/s, p99 ${run.p99AnsweredMs} ms, max ${run.maxAnsweredMs} ms)  shed ${run.shed}  first answer ≤ ${run.maxFirstAnswerMs} ms  time-outs ${run.timeouts}  errors ${run.errors}`);
  return run;
}

/** CPU time (user + system) of a process at rest, as a share of one core. */
interface IdleCpu {
  process: string;
  /** Each window's share of a core, %, and their median. */
  windowsPercent: number[];
  percentOfCore: number;
  /** process.cpuUsage in the process (µs), or /proc/<pid>/stat (clock ticks of 10 ms) for the peer. */
  source: 'process.cpuUsage' | '/proc/pid/stat';
}

async function idleCpu(name: string, cpuMs: () => Promise<number>, source: IdleCpu['source']): Promise<IdleCpu> {
  await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
  const windowsPercent: number[] = [];
  for (let i = 0; i < IDLE_WINDOWS; i++) {
    const before = await cpuMs();
    const started = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const used = (await cpuMs()) - before;
    windowsPercent.push(Math.round((used / (performance.now() - started)) * 100_000) / 1000);
  }
  const idle = { process: name, windowsPercent, percentOfCore: median(windowsPercent), source };
  log(`  idle CPU, ${name}: ${windowsPercent.join(', ')} % of a core (median ${idle.percentOfCore} %)`);
  return idle;
}

/** A bench child's own CPU time so far, ms. */
const childCpuMs = (child: Child) => async () => (await child.rpc<{ cpuMicros: number }>({ type: 'cpu' })).cpuMicros / 1000;

/** Another process's CPU time so far, ms, from /proc (Linux; utime + stime in clock ticks). */
function procCpuMs(pid: number): () => Promise<number> {
  const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return async () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  };
}

/** Switchboard / peer requests/s over alternating rounds of one scenario. */
interface HeadToHead {
  scenario: 'a' | 'a′';
  latencyMs: number;
  connections: number;
  rounds: { switchboard: number; peer: number; ratio: number }[];
  medianRatio: number;
}

interface Stage {
  sims: Child;
  serverPid: number;
}

async function upstreamTotal(sims: Child): Promise<number> {
  const { counts } = await sims.rpc<{ counts: Record<string, number> }>({ type: 'counts' });
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** Waits until the upstream counters stop moving: the previous load's queued requests have drained. */
async function quiesce(sims: Child): Promise<void> {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = await upstreamTotal(sims);
    if (now === last) return;
    last = now;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** One scenario on one system: a checked probe, sequential latency, then load. */
async function measure(
  stage: Stage,
  scenario: string,
  system: Measurement['system'],
  latencyMs: number,
  target: Target,
  connections = CONNECTIONS,
): Promise<Measurement> {
  // The probe: the answer must be free of errors, and tells the exact upstream cost of one query.
  await quiesce(stage.sims);
  await stage.sims.rpc({ type: 'reset' });
  const probe = await once(target);
  if (probe.includes('"errors"')) throw new Error(`${system} ${scenario}: the probe answered with errors: ${probe.slice(0, 300)}`);
  const upstreamPerQuery = await upstreamTotal(stage.sims);
  await load(target, connections, WARMUP); // the same for every system: the JIT settles before measuring
  await quiesce(stage.sims);
  const serialP50Ms = await serialMedian(target, target.custom ? 10 : SERIAL_SAMPLES);
  await quiesce(stage.sims);
  resetPeakRss(stage.serverPid);
  const run = await load(target, connections);
  const rss = peakRss(stage.serverPid);
  const measurement: Measurement = {
    scenario,
    system,
    latencyMs,
    connections,
    requestsPerSecond: Math.round(run.rps * 10) / 10,
    p50Ms: run.p50,
    p99Ms: run.p99,
    serialP50Ms: Math.round(serialP50Ms * 10) / 10,
    upstreamPerQuery,
    errors: run.errors,
    peakRssMb: rss === null ? null : Math.round(rss / 1024 / 102.4) / 10,
  };
  log(`  ${system.padEnd(11)} ${scenario.padEnd(34)} ${String(latencyMs).padStart(2)} ms  ${measurement.requestsPerSecond} req/s  p50 ${run.p50} ms  serial ${measurement.serialP50Ms} ms  upstream/query ${upstreamPerQuery}  errors ${run.errors}`);
  return measurement;
}

// ---------- queries ----------

const CALL_FIELDS = 'id provider connection status startedAt endedAt durationSeconds from { phoneNumber } to { phoneNumber } cost { amount currency }';
const PAGE = `query Page($first: Int, $after: String, $filter: CallFilter) {
  calls(first: $first, after: $after, filter: $filter) {
    edges { cursor node { ${CALL_FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;
// totalCount may cost a count request per counting connection beside the page (src/calls/connection.ts):
// measured apart, in the deep-page counts, so the scenarios time the merge itself.
const PAGE_WITH_TOTAL = PAGE.replace('pageInfo { hasNextPage endCursor }', 'pageInfo { hasNextPage endCursor } totalCount');
const lookups = (ids: string[]) =>
  `query Lookups {\n${ids.map((id, i) => `  c${i}: call(id: ${JSON.stringify(id)}) { id status outputParameters }`).join('\n')}\n}`;
const ENTITIES = `query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Call { ${CALL_FIELDS} } }
}`;
const PEER_PAGE = `query Page { callLogs(page: 1, limit: 20) { calls { call_id agent_id status direction caller_phone callee_phone duration_seconds cost started_at ended_at } pagination { total has_more } } }`;
const peerLookups = (ids: string[]) =>
  `query Lookups {\n${ids.map((id, i) => `  c${i}: callDetail(call_id: ${JSON.stringify(id)}) { call { call_id status } output_parameters }`).join('\n')}\n}`;

async function gqlData<T>(url: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const text = await once(graphql(url, query, variables));
  const body = JSON.parse(text) as { data?: T; errors?: unknown };
  if (body.errors || !body.data) throw new Error(`query failed: ${text.slice(0, 300)}`);
  return body.data;
}

type PageData = { calls: { edges: { cursor: string; node: { id: string; provider: string } }[]; pageInfo: { endCursor: string } } };

// ---------- the run ----------

function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const started = new Date();
  log(`Switchboard benchmark: ${DURATION} s per scenario, ${CONNECTIONS} connections (${BATCH_CONNECTIONS} for 100-lookup queries)`);

  buildChildren();
  const sims = jsChild('sims.ts');
  const hello = (await sims.ready) as SimsHello;
  const profileDir = join(RESULTS, 'profile.tmp');
  const switchboardEnv = {
    NODE_ENV: 'production',
    BENCH_CONNECTIONS: JSON.stringify(hello.connections),
    // The cache is off: these numbers are the layer's cost, comparable with a peer that has none.
    SWITCHBOARD_CACHE_MAX_ENTRIES: '0',
    // The peer has no cap on requests in flight per upstream; the default (16) would make this a
    // comparison of policies. Room for every look-up of scenario d's concurrent queries (with 100,
    // the second query's look-ups queued behind the first's). Override with
    // SWITCHBOARD_UPSTREAM_CONCURRENCY to bench another.
    SWITCHBOARD_UPSTREAM_CONCURRENCY: process.env.SWITCHBOARD_UPSTREAM_CONCURRENCY ?? String(100 * BATCH_CONNECTIONS),
    // Scenario d sends 100 aliased call(id) fields; the default query limits allow 20.
    SWITCHBOARD_MAX_ALIASES: '200',
    SWITCHBOARD_MAX_TOKENS: '20000',
    SWITCHBOARD_MAX_QUERY_COST: '1000000',
  };
  // Load shedding off for the scenarios compared with the peer (which has none) and with earlier
  // runs: a 503 answered in a millisecond would count as a request served. Scenario f runs a
  // second process with shedding at its defaults.
  const noShedding = { SWITCHBOARD_MAX_IN_FLIGHT: '0', SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS: '0' };
  const switchboard = jsChild('switchboard.ts', { ...switchboardEnv, ...noShedding });
  const { url } = (await switchboard.ready) as { url: string };
  const stage: Stage = { sims, serverPid: switchboard.process.pid! };
  const measurements: Measurement[] = [];
  const notes: string[] = [];

  /** Scenario f and idle CPU; the peer's idle CPU is measured while it runs (full runs only). */
  const overloadAndIdle = async (peerIdle: IdleCpu | null) => {
    const shedding = jsChild('switchboard.ts', switchboardEnv);
    const { url: sheddingUrl } = (await shedding.ready) as { url: string };
    const runs: OverloadRun[] = [];
    log(`overload: merged page, ${OVERLOAD_CONNECTIONS} connections, ${OVERLOAD_DURATION} s each`);
    for (const latencyMs of LATENCIES) {
      await sims.rpc({ type: 'latency', ms: latencyMs });
      // Without shedding no client is told to wait: one run stands for both kinds of client.
      const plan = [['off', url, 'retries at once'], ['defaults', sheddingUrl, 'retries at once'], ['defaults', sheddingUrl, 'waits Retry-After']] as const;
      for (const [shedding, systemUrl, client] of plan) {
        await load(graphql(systemUrl, PAGE, { first: 20 }), CONNECTIONS, WARMUP);
        await quiesce(sims);
        runs.push(await overloadRun(systemUrl, latencyMs, shedding, client));
      }
    }
    await quiesce(sims);
    await sims.rpc({ type: 'latency', ms: 0 });
    const demo = jsChild('switchboard.ts', { ...switchboardEnv, BENCH_DEMO: 'true' });
    const { url: demoUrl } = (await demo.ready) as { url: string };
    await once(graphql(demoUrl, PAGE, { first: 20 })); // as after a first request: agents and sockets exist
    const [external, demoIdle] = await Promise.all([
      idleCpu('Switchboard, external providers', childCpuMs(shedding), 'process.cpuUsage'),
      idleCpu('Switchboard, demo mode (simulators in-process)', childCpuMs(demo), 'process.cpuUsage'),
    ]);
    await Promise.all([shedding.stop(), demo.stop()]);
    return { runs, idle: [external, demoIdle, ...(peerIdle ? [peerIdle] : [])] };
  };

  if (OVERLOAD_ONLY) {
    const overload = await overloadAndIdle(null);
    await switchboard.stop();
    await sims.stop();
    const results = { date: started.toISOString(), command: 'npm run bench -- --overload', machine: machine(), ...overload };
    writeFileSync(join(RESULTS, 'overload.json'), `${JSON.stringify(results, null, 2)}\n`);
    const markdown = `# Switchboard overload and idle\n\n${results.date.slice(0, 16).replace('T', ' ')} UTC · \`${results.command}\` · ${results.machine.cpus} × ${results.machine.cpuModel} · Node ${results.machine.node}\n\n${renderOverload(overload)}`;
    writeFileSync(join(RESULTS, 'overload.md'), markdown);
    process.stdout.write(`\n${markdown}`);
    return;
  }

  // Ids and cursors, fetched once at 0 ms.
  const page1 = await gqlData<PageData>(url, PAGE, { first: 20 });
  let cursor = page1.calls.pageInfo.endCursor;
  for (let page = 2; page < 10; page++) {
    cursor = (await gqlData<PageData>(url, PAGE, { first: 20, after: cursor })).calls.pageInfo.endCursor;
  }
  const page10Cursor = cursor;
  const twenty2Ids = (await gqlData<PageData>(url, PAGE, { first: 100, filter: { providers: ['TWENTY2'] } })).calls.edges.map((e) => e.node.id);
  const mergedIds = (await gqlData<PageData>(url, PAGE, { first: 100 })).calls.edges.map((e) => e.node.id);
  const twenty2ProviderIds = hello.twenty2.callIds.slice(0, 100);

  // Page 1 and page 10 of the merged list: upstream requests for each, one query.
  const deepPage: Record<string, number> = {};
  for (const [name, after] of [['page 1', null], ['page 10', page10Cursor]] as const) {
    for (const [suffix, query] of [['', PAGE], [' with totalCount', PAGE_WITH_TOTAL]] as const) {
      await quiesce(sims);
      await sims.rpc({ type: 'reset' });
      await gqlData(url, query, { first: 20, after });
      deepPage[`${name}${suffix}`] = await upstreamTotal(sims);
    }
  }

  const scenarios: { name: string; target: Target; connections?: number }[] = [
    { name: 'a. one provider, calls(first: 20)', target: graphql(url, PAGE, { first: 20, filter: { providers: ['TWENTY2'] } }) },
    { name: `a′. a with ${WIDE_CONNECTIONS} connections`, target: graphql(url, PAGE, { first: 20, filter: { providers: ['TWENTY2'] } }), connections: WIDE_CONNECTIONS },
    { name: `b. ${hello.connections.length} providers, calls(first: 20)`, target: graphql(url, PAGE, { first: 20 }) },
    { name: 'c. page 10 of b, by cursor', target: graphql(url, PAGE, { first: 20, after: page10Cursor }) },
    { name: 'd. 100 × call(id) + outputParameters', target: graphql(url, lookups(twenty2Ids)), connections: BATCH_CONNECTIONS },
    { name: 'e. _entities, 100 representations', target: graphql(url, ENTITIES, { representations: mergedIds.map((id) => ({ __typename: 'Call', id })) }), connections: BATCH_CONNECTIONS },
  ];

  // The floor: the simulator called directly.
  const { url: simUrl, authorization, workspaceId } = hello.twenty2;
  const simHeaders = { authorization, 'x-workspace-id': workspaceId };
  const directPage: Target = { url: `${simUrl}/call/logs?page=1&limit=20`, method: 'GET', headers: simHeaders };
  const directLookups: Target = {
    url: simUrl,
    method: 'GET',
    headers: simHeaders,
    custom: async () => {
      await Promise.all(
        twenty2ProviderIds.map(async (id) => {
          const response = await fetch(`${simUrl}/call/detail?call_id=${id}`, { headers: simHeaders });
          await response.text();
        }),
      );
    },
  };
  const simStage = { sims, serverPid: sims.process.pid! };

  // The peer, started once; measured right after Switchboard at each latency so that both see the
  // same machine (other load on a shared machine drifts over minutes).
  let peer: Peer | null = null;
  let peerUnavailable: string | null = null;
  try {
    peer = await startPeer(hello.twenty2, log);
  } catch (error) {
    peerUnavailable = (error as Error).message;
    log(`peer unavailable: ${peerUnavailable}`);
  }

  const sequential: { latencyMs: number; queries: number; totalMs: number; upstream: number }[] = [];
  const headToHead: HeadToHead[] = [];
  let peerIdle: IdleCpu | null = null;
  try {
    for (const latencyMs of LATENCIES) {
      await sims.rpc({ type: 'latency', ms: latencyMs });
      log(`upstream latency ${latencyMs} ms`);
      for (const s of scenarios) measurements.push(await measure(stage, s.name, 'switchboard', latencyMs, s.target, s.connections));
      // d′: the same 100 lookups as 100 queries, one after another.
      const single = `query One($id: ID!) { call(id: $id) { id status outputParameters } }`;
      await quiesce(sims);
      await sims.rpc({ type: 'reset' });
      const t0 = performance.now();
      for (const id of twenty2Ids) await gqlData(url, single, { id });
      sequential.push({ latencyMs, queries: twenty2Ids.length, totalMs: Math.round(performance.now() - t0), upstream: await upstreamTotal(sims) });

      measurements.push(await measure(simStage, 'a. one provider, list page of 20', 'direct', latencyMs, directPage));
      measurements.push(await measure(simStage, `a′. a with ${WIDE_CONNECTIONS} connections`, 'direct', latencyMs, directPage, WIDE_CONNECTIONS));
      measurements.push(await measure(simStage, 'd. 100 detail requests in parallel', 'direct', latencyMs, directLookups, BATCH_CONNECTIONS));
      if (peer && !peerUnavailable) {
        try {
          const peerStage = { sims, serverPid: peer.pid };
          measurements.push(await measure(peerStage, 'a. one provider, list page of 20', 'peer', latencyMs, graphql(peer.url, PEER_PAGE)));
          measurements.push(await measure(peerStage, `a′. a with ${WIDE_CONNECTIONS} connections`, 'peer', latencyMs, graphql(peer.url, PEER_PAGE), WIDE_CONNECTIONS));
          measurements.push(await measure(peerStage, 'd. 100 lookups + output_parameters', 'peer', latencyMs, graphql(peer.url, peerLookups(twenty2ProviderIds)), BATCH_CONNECTIONS));
          // Head to head: the same load on each, alternately, so both see the same machine.
          for (const [scenario, connections] of [['a', CONNECTIONS], ['a′', WIDE_CONNECTIONS]] as const) {
            const pair = { switchboard: scenarios[scenario === 'a' ? 0 : 1]!.target, peer: graphql(peer.url, PEER_PAGE) };
            const rounds: HeadToHead['rounds'] = [];
            for (let round = 0; round < ROUNDS; round++) {
              const order = round % 2 === 0 ? (['switchboard', 'peer'] as const) : (['peer', 'switchboard'] as const);
              const rps: Record<string, number> = {};
              for (const system of order) {
                await load(pair[system], connections, WARMUP); // the shape of this load, JIT-settled again
                await quiesce(sims);
                rps[system] = Math.round((await load(pair[system], connections)).rps * 10) / 10;
              }
              rounds.push({ switchboard: rps.switchboard!, peer: rps.peer!, ratio: Math.round((rps.switchboard! / rps.peer!) * 100) / 100 });
            }
            const medianRatio = median(rounds.map((r) => r.ratio));
            headToHead.push({ scenario, latencyMs, connections, rounds, medianRatio });
            log(`  head to head ${scenario} at ${latencyMs} ms: ${rounds.map((r) => r.ratio).join(', ')} (median ${medianRatio})`);
          }
        } catch (error) {
          peerUnavailable = (error as Error).message;
          log(`peer unavailable: ${peerUnavailable}`);
        }
      }
    }
    if (peer && !peerUnavailable) {
      await quiesce(sims);
      peerIdle = await idleCpu('peer (hive-gateway)', procCpuMs(peer.pid), '/proc/pid/stat');
    }
  } finally {
    await peer?.stop();
  }
  const overload = await overloadAndIdle(peerIdle);

  // A CPU profile of Switchboard on the 0 ms merged page, when asked.
  let profile: (ProfileSummary & { file: string }) | null = null;
  if (PROFILE) {
    rmSync(profileDir, { recursive: true, force: true });
    await sims.rpc({ type: 'latency', ms: 0 });
    mkdirSync(profileDir, { recursive: true });
    const file = join(profileDir, 'merged-page-0ms.cpuprofile');
    const target = graphql(url, PAGE, { first: 20 });
    await load(target, CONNECTIONS); // warm: the JIT has settled before sampling starts
    await switchboard.rpc({ type: 'profile-start' });
    await load(target, CONNECTIONS);
    await switchboard.rpc({ type: 'profile-stop', path: file });
    profile = { file: 'bench/results/profile.tmp/merged-page-0ms.cpuprofile', ...summariseProfile(file) };
  }
  await switchboard.stop();
  await sims.stop();

  // ---------- report ----------
  const find = (system: string, prefix: string, latencyMs: number) =>
    measurements.find((m) => m.system === system && m.scenario.startsWith(prefix) && m.latencyMs === latencyMs);
  const ratio = (a?: number, b?: number) => (a !== undefined && b ? Math.round((a / b) * 100) / 100 : null);
  const ratios = LATENCIES.flatMap((latencyMs) =>
    (['a', 'a′', 'd'] as const).map((s) => {
      const sb = find('switchboard', `${s}.`, latencyMs);
      const peerM = find('peer', `${s}.`, latencyMs);
      const directM = find('direct', `${s}.`, latencyMs);
      return {
        scenario: s,
        latencyMs,
        switchboardOverPeerRps: ratio(sb?.requestsPerSecond, peerM?.requestsPerSecond),
        switchboardOverDirectRps: ratio(sb?.requestsPerSecond, directM?.requestsPerSecond),
        addedSerialMs: {
          switchboard: sb && directM ? Math.round((sb.serialP50Ms - directM.serialP50Ms) * 10) / 10 : null,
          peer: peerM && directM ? Math.round((peerM.serialP50Ms - directM.serialP50Ms) * 10) / 10 : null,
        },
      };
    }),
  );
  const b0 = find('switchboard', 'b.', 0)!;
  const b50 = find('switchboard', 'b.', 50)!;
  const limit = {
    description: 'merged page at 50 ms upstream, median of sequential requests, against 1.1 × (50 ms + the 0 ms median)',
    at0Ms: b0.serialP50Ms,
    at50Ms: b50.serialP50Ms,
    bound: Math.round(1.1 * (50 + b0.serialP50Ms) * 10) / 10,
    within: b50.serialP50Ms <= 1.1 * (50 + b0.serialP50Ms),
    underLoad: { at0Ms: b0.p50Ms, at50Ms: b50.p50Ms, bound: Math.round(1.1 * (50 + b0.p50Ms) * 10) / 10, within: b50.p50Ms <= 1.1 * (50 + b0.p50Ms) },
  };

  const results = {
    date: started.toISOString(),
    command: `npm run bench${PROFILE ? ' -- --profile' : ''}`,
    machine: machine(),
    durationSeconds: DURATION,
    concurrency: switchboardEnv.SWITCHBOARD_UPSTREAM_CONCURRENCY,
    connections: CONNECTIONS,
    batchConnections: BATCH_CONNECTIONS,
    settings: { ...switchboardEnv, BENCH_CONNECTIONS: 'the four simulators' },
    measurements,
    sequentialLookups: sequential,
    deepPageUpstreamRequests: deepPage,
    ratios,
    headToHead,
    physicalLimit: limit,
    peer: peerUnavailable ? { available: false, reason: peerUnavailable } : { available: true, versions: JSON.parse(readFileSync(join(HERE, 'peer', 'package.json'), 'utf8')).dependencies },
    profile,
    overload,
    notes,
  };
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const markdown = renderMarkdown(results);
  writeFileSync(join(RESULTS, 'latest.md'), markdown);
  // A plain run overwrites latest.*; the last profile's summary stays in profile.md.
  if (profile) {
    const header = markdown.split('\n')[2];
    writeFileSync(join(RESULTS, 'profile.md'), `# CPU profile\n\n${header}\n\n${markdown.slice(markdown.indexOf('**CPU profile**'))}`);
  }
  process.stdout.write(`\n${markdown}`);
  if (profile && existsSync(profileDir)) log(`profile: ${profile.file}`);
}

function renderMarkdown(r: {
  date: string;
  command: string;
  machine: ReturnType<typeof machine>;
  durationSeconds: number;
  concurrency: string;
  connections: number;
  batchConnections: number;
  measurements: Measurement[];
  sequentialLookups: { latencyMs: number; queries: number; totalMs: number; upstream: number }[];
  deepPageUpstreamRequests: Record<string, number>;
  ratios: { scenario: string; latencyMs: number; switchboardOverPeerRps: number | null; switchboardOverDirectRps: number | null; addedSerialMs: { switchboard: number | null; peer: number | null } }[];
  headToHead: HeadToHead[];
  physicalLimit: { at0Ms: number; at50Ms: number; bound: number; within: boolean; underLoad: { at0Ms: number; at50Ms: number; bound: number; within: boolean } };
  peer: { available: boolean; reason?: string };
  profile: (ProfileSummary & { file: string }) | null;
  overload: { runs: OverloadRun[]; idle: IdleCpu[] };
}): string {
  const m = r.machine;
  const lines = [
    `# Switchboard benchmark`,
    ``,
    `${r.date.slice(0, 16).replace('T', ' ')} UTC · \`${r.command}\` · ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB · Node ${m.node} · ${r.durationSeconds} s per scenario, ${r.connections} connections (${r.batchConnections} for 100-lookup queries) · Switchboard: cache off, SWITCHBOARD_UPSTREAM_CONCURRENCY=${r.concurrency} (the peer has no cap), alias/token/cost limits raised for scenario d, other settings default`,
    ``,
    `| system | scenario | upstream latency | req/s | p50 ms | p99 ms | serial p50 ms | upstream req/query | errors | peak RSS MB |`,
    `|---|---|--:|--:|--:|--:|--:|--:|--:|--:|`,
    ...r.measurements.map(
      (x) =>
        `| ${x.system} | ${x.scenario} | ${x.latencyMs} ms | ${x.requestsPerSecond} | ${x.p50Ms} | ${x.p99Ms} | ${x.serialP50Ms} | ${x.upstreamPerQuery} | ${x.errors} | ${x.peakRssMb ?? 'n/a'} |`,
    ),
    ``,
    `Serial p50: median of ${SERIAL_SAMPLES} sequential requests without load (10 for the direct lookup batch), measured after a ${WARMUP} s warm-up under load and before the measured load. Peak RSS is the serving process's (Switchboard, hive-gateway; for "direct", the simulators').`,
    ``,
    `**Ratios** (requests/s; added ms = serial p50 above the direct call):`,
    ``,
    `| scenario | upstream latency | Switchboard / peer | Switchboard / direct | added ms, Switchboard | added ms, peer |`,
    `|---|--:|--:|--:|--:|--:|`,
    ...r.ratios.map(
      (x) =>
        `| ${{ a: 'a. one provider, page of 20', 'a′': `a′. the same, ${WIDE_CONNECTIONS} connections`, d: 'd. 100 lookups' }[x.scenario]} | ${x.latencyMs} ms | ${x.switchboardOverPeerRps ?? 'n/a'} | ${x.switchboardOverDirectRps ?? 'n/a'} | ${x.addedSerialMs.switchboard ?? 'n/a'} | ${x.addedSerialMs.peer ?? 'n/a'} |`,
    ),
    ``,
    ...(r.headToHead.length > 0
      ? [
          `**Head to head** (Switchboard / peer requests/s, ${ROUNDS} alternating rounds of ${r.durationSeconds} s each after a ${WARMUP} s warm-up, the order swapped every round):`,
          ``,
          `| scenario | upstream latency | connections | rounds: Switchboard / peer req/s (ratio) | median ratio |`,
          `|---|--:|--:|---|--:|`,
          ...r.headToHead.map(
            (x) =>
              `| ${x.scenario === 'a' ? 'a. one provider, page of 20' : 'a′. the same'} | ${x.latencyMs} ms | ${x.connections} | ${x.rounds.map((round) => `${round.switchboard} / ${round.peer} (${round.ratio})`).join('; ')} | **${x.medianRatio}** |`,
          ),
          ``,
        ]
      : []),
    r.peer.available ? `How each runs: Switchboard as compiled JavaScript (\`node dist/bench/switchboard.js\`, built by tsc from bench/tsconfig.json; no transpiler at request time), NODE_ENV=production, SWITCHBOARD_ALLOW_ANONYMOUS=true, one process; the peer: GraphQL Mesh compose + Hive Gateway over OpenAPI (bench/peer/), \`hive-gateway supergraph --fork 1\`, NODE_ENV=production, one process; the simulators: compiled JavaScript in their own process.` : `Peer: **unavailable** — ${r.peer.reason}`,
    ``,
    `**Deep page**: upstream requests for one merged \`calls(first: 20)\` query: page 1 = ${r.deepPageUpstreamRequests['page 1']}, page 10 (by cursor) = ${r.deepPageUpstreamRequests['page 10']}; selecting \`totalCount\` too: page 1 = ${r.deepPageUpstreamRequests['page 1 with totalCount']}, page 10 = ${r.deepPageUpstreamRequests['page 10 with totalCount']} (a count only from providers that report one — here none for CINNOX and TalkStack, so totalCount is null without asking; on a page reached by cursor the counts go out beside the page).`,
    ``,
    `**Same 100 lookups, one query each, sequentially**: ${r.sequentialLookups.map((s) => `${s.latencyMs} ms upstream: ${s.queries} requests, ${s.totalMs} ms, ${s.upstream} upstream requests`).join('; ')}.`,
    ``,
    renderOverload(r.overload),
    `**At the upstream limit** (merged page, serial p50): ${r.physicalLimit.at50Ms} ms at 50 ms upstream against a bound of 1.1 × (50 + ${r.physicalLimit.at0Ms}) = ${r.physicalLimit.bound} ms: ${r.physicalLimit.within ? 'within' : 'NOT within'}. Under load (p50, ${r.connections} connections): ${r.physicalLimit.underLoad.at50Ms} ms against 1.1 × (50 + ${r.physicalLimit.underLoad.at0Ms}) = ${r.physicalLimit.underLoad.bound} ms: ${r.physicalLimit.underLoad.within ? 'within' : 'NOT within'}.`,
    ``,
  ];
  if (r.profile) {
    lines.push(
      `**CPU profile** (b at 0 ms, ${r.profile.busyMs} ms busy of ${r.profile.totalMs} ms; \`${r.profile.file}\`). Self time by package: ${r.profile.byPackage.slice(0, 8).map((p) => `${p.name} ${p.share}%`).join(', ')}. got, self and below (its Node http/net calls included): ${r.profile.gotInclusiveShare}%.`,
      ``,
      `| function | where | self ms | share |`,
      `|---|---|--:|--:|`,
      ...r.profile.top.map((f) => `| ${f.name} | ${f.where} | ${f.selfMs} | ${f.share}% |`),
      ``,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Scenario f and idle CPU, as markdown. */
function renderOverload(o: { runs: OverloadRun[]; idle: IdleCpu[] }): string {
  const lines = [
    `**Overload** (f. every provider, \`calls(first: 20)\`, ${OVERLOAD_CONNECTIONS} clients in a closed loop over keep-alive connections, ${o.runs[0]?.durationSeconds ?? OVERLOAD_DURATION} s each after a ${WARMUP} s warm-up with ${CONNECTIONS}; a client gives up after ${CLIENT_TIMEOUT_SECONDS} s and opens a new connection). Shedding off: \`SWITCHBOARD_MAX_IN_FLIGHT=0\`, \`SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS=0\`, as in the scenarios above; defaults: 256 in flight, 100 ms of event-loop delay, \`Retry-After: 1\`. Times are the client's, from sending to the end of the answer; "first answer" is the slowest first answer on a new connection (the kernel's accept queue shows there).`,
    ``,
    `| upstream latency | shedding | client after a 503 | answered | answered/s | p50 ms | p99 ms | max ms | 503 shed | p99 of a 503, ms | slowest first answer, ms | client time-outs | other errors |`,
    `|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|`,
    ...o.runs.map(
      (x) =>
        `| ${x.latencyMs} ms | ${x.shedding} | ${x.shedding === 'off' ? '(none sent)' : x.client} | ${x.answered} | ${x.answeredPerSecond} | ${x.p50AnsweredMs} | ${x.p99AnsweredMs} | ${x.maxAnsweredMs} | ${x.shed} | ${x.p99ShedMs ?? 'n/a'} | ${x.maxFirstAnswerMs} | ${x.timeouts} | ${x.errors} |`,
    ),
    ``,
    `**Idle CPU** (share of one core over ${IDLE_WINDOWS} windows of ${IDLE_MS / 1000} s at rest, from ${IDLE_SETTLE_MS / 1000} s after the last request; median, then each window): ${o.idle.map((i) => `${i.process} **${i.percentOfCore} %** (${i.windowsPercent.join(', ')}; ${i.source})`).join('; ')}.`,
    ``,
  ];
  return lines.join('\n');
}

(process.argv.includes('--live')
  ? import('./live.js').then(({ runLive }) => runLive())
  : process.argv.includes('--window')
    ? import('./window.js').then(({ runWindow }) => runWindow())
    : main()
).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
