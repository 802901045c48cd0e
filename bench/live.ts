/**
 * `npm run bench -- --live`: live call events (docs/live.md), measured, never asserted.
 *
 * Switchboard (bench/switchboard.ts) over every provider's simulator (bench/sims.ts), each in its
 * own process; subscribers here, over GraphQL over WebSocket (graphql-ws). For each watch interval
 * (1 s, and the default 5 s):
 * - upstream requests per connection per minute while nobody listens (nothing is watched), and
 *   while one subscriber listens to every connection;
 * - event latency: from the simulator adding a call (its wall clock, same machine) to the
 *   subscriber receiving its CALL_ADDED, p50/p99 over sequential samples started at random phases
 *   of the poll;
 * then, at 1 s, memory with 1,000 open subscriptions (one WebSocket each; the server's RSS before
 * and after) and the fan-out of one event to all of them; then, at the default 5 s, push-to-subscriber
 * latency: from Retell's simulator ending a call and at once sending its signed `call_ended` webhook
 * to the subscriber receiving CALL_ENDED, against the same with no push (polling only), alternating.
 * Options: LIVE_SAMPLES (latency samples per interval and per kind, default 20), LIVE_SUBSCRIBERS (default 1000).
 * Writes bench/results/live.json and bench/results/live.md.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { type Child, buildChildren, jsChild } from './children.js';
import type { SimsHello } from './sims.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results');
const SAMPLES = Number(process.env.LIVE_SAMPLES ?? 20);
const SUBSCRIBERS = Number(process.env.LIVE_SUBSCRIBERS ?? 1000);
/** Seconds: 1 for a fast deployment, 5 the default of SWITCHBOARD_WATCH_INTERVAL. */
const INTERVALS = [1, 5] as const;
/** How long upstream requests are counted for the per-minute rates. */
const COUNT_WINDOW_MS = 30_000;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const EVENTS = 'subscription Events($filter: CallFilter) { callEvents(filter: $filter) { id type call { provider providerCallId } } }';

interface EventMessage {
  data?: { callEvents: { id: string; type: string; call: { provider: string; providerCallId: string | null } } };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
};
const round = (n: number) => Math.round(n * 10) / 10;

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? round(Number(match[1]) / 1024) : NaN;
}

/** A graphql-ws client, connected (acknowledged) before it resolves. */
async function connect(url: string): Promise<Client> {
  let connected!: () => void;
  const ready = new Promise<void>((resolve) => (connected = resolve));
  const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, on: { connected: () => connected() } });
  await ready;
  return client;
}

/** Upstream requests per simulator (by name) in `ms`, as a rate per minute. */
async function requestsPerMinute(sims: Child, ms: number): Promise<Record<string, number>> {
  await sims.rpc({ type: 'reset' });
  await sleep(ms);
  const { counts } = await sims.rpc<{ counts: Record<string, number> }>({ type: 'counts' });
  return Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, round((count * 60_000) / ms)]));
}

interface IntervalResult {
  intervalSeconds: number;
  requestsPerMinuteUnwatched: Record<string, number>;
  requestsPerMinuteWatched: Record<string, number>;
  latencyMs: { samples: number; p50: number; p99: number; max: number };
}

async function measureInterval(sims: Child, hello: SimsHello, intervalSeconds: number): Promise<IntervalResult> {
  const switchboard = jsChild('switchboard.ts', {
    NODE_ENV: 'production',
    BENCH_CONNECTIONS: JSON.stringify(hello.connections),
    SWITCHBOARD_WATCH_INTERVAL: String(intervalSeconds),
  });
  const { url } = (await switchboard.ready) as { url: string };
  const wsUrl = url.replace(/^http/, 'ws');
  try {
    log(`live, ${intervalSeconds} s interval: upstream requests while nobody listens (${COUNT_WINDOW_MS / 1000} s)`);
    const requestsPerMinuteUnwatched = await requestsPerMinute(sims, COUNT_WINDOW_MS);

    const client = await connect(wsUrl);
    const received: { at: number; event: NonNullable<EventMessage['data']>['callEvents'] }[] = [];
    let wake: (() => void) | null = null;
    const stop = client.subscribe<EventMessage['data']>(
      { query: EVENTS },
      {
        next: (message) => {
          if (message.data) received.push({ at: Date.now(), event: message.data.callEvents });
          wake?.();
        },
        error: (error) => log(`subscription error: ${JSON.stringify(error).slice(0, 300)}`),
        complete: () => {},
      },
    );
    // The first polls take the baseline (not announced); let them pass.
    await sleep(2 * intervalSeconds * 1000 + 1000);
    log(`live, ${intervalSeconds} s interval: upstream requests while every connection is watched (${COUNT_WINDOW_MS / 1000} s)`);
    const requestsPerMinuteWatched = await requestsPerMinute(sims, COUNT_WINDOW_MS);

    log(`live, ${intervalSeconds} s interval: ${SAMPLES} latency samples`);
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await sleep(Math.random() * intervalSeconds * 1000);
      const seen = received.length;
      const { at } = await sims.rpc<{ at: number }>({ type: 'startCall', provider: 'twenty2' });
      const deadline = Date.now() + intervalSeconds * 1000 * 4 + 5_000;
      let found: number | null = null;
      while (found === null && Date.now() < deadline) {
        const hit = received.slice(seen).find((r) => r.event.type === 'CALL_ADDED' && r.event.call.provider === 'TWENTY2');
        if (hit) found = hit.at - at;
        else await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50); });
      }
      if (found === null) throw new Error(`no CALL_ADDED within ${deadline - at} ms of adding a call`);
      latencies.push(found);
    }
    stop();
    await client.dispose();
    return {
      intervalSeconds,
      requestsPerMinuteUnwatched,
      requestsPerMinuteWatched,
      latencyMs: { samples: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) },
    };
  } finally {
    await switchboard.stop();
  }
}

interface FanOutResult {
  subscribers: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  kbPerSubscription: number;
  fanOutMs: { p50: number; p99: number; received: number };
}

async function measureFanOut(sims: Child, hello: SimsHello): Promise<FanOutResult> {
  const switchboard = jsChild('switchboard.ts', {
    NODE_ENV: 'production',
    BENCH_CONNECTIONS: JSON.stringify(hello.connections),
    SWITCHBOARD_WATCH_INTERVAL: '1',
  });
  const { url } = (await switchboard.ready) as { url: string };
  const wsUrl = url.replace(/^http/, 'ws');
  const pid = switchboard.process.pid!;
  const clients: Client[] = [];
  try {
    // One subscriber first: watching (and its baseline) starts, so the RSS difference is the subscriptions'.
    const first = await connect(wsUrl);
    clients.push(first);
    first.subscribe({ query: EVENTS, variables: { filter: { providers: ['TWENTY2'] } } }, { next: () => {}, error: () => {}, complete: () => {} });
    await sleep(3_000);
    const rssBeforeMb = rssMb(pid);
    log(`live: opening ${SUBSCRIBERS} subscriptions`);
    const arrivals: number[] = [];
    for (let i = 1; i < SUBSCRIBERS; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, SUBSCRIBERS - i) }, () => connect(wsUrl)));
      for (const client of batch) {
        clients.push(client);
        client.subscribe<EventMessage['data']>(
          { query: EVENTS, variables: { filter: { providers: ['TWENTY2'] } } },
          { next: (m) => void (m.data?.callEvents.type === 'CALL_ADDED' && arrivals.push(Date.now())), error: () => {}, complete: () => {} },
        );
      }
    }
    await sleep(3_000);
    const rssAfterMb = rssMb(pid);
    const { at } = await sims.rpc<{ at: number }>({ type: 'startCall', provider: 'twenty2' });
    const deadline = Date.now() + 15_000;
    while (arrivals.length < SUBSCRIBERS - 1 && Date.now() < deadline) await sleep(50);
    const fanOut = arrivals.map((t) => t - at);
    return {
      subscribers: SUBSCRIBERS,
      rssBeforeMb,
      rssAfterMb,
      kbPerSubscription: round(((rssAfterMb - rssBeforeMb) * 1024) / (SUBSCRIBERS - 1)),
      fanOutMs: { p50: percentile(fanOut, 50), p99: percentile(fanOut, 99), received: arrivals.length },
    };
  } finally {
    await Promise.all(clients.map((c) => c.dispose()));
    await switchboard.stop();
  }
}

interface PushResult {
  intervalSeconds: number;
  pushMs: { samples: number; p50: number; p99: number; max: number };
  pollingOnlyMs: { samples: number; p50: number; p99: number; max: number };
}

/**
 * At the default interval, one subscriber to Retell: per sample a call is started and, once its
 * CALL_ADDED arrived, ended at a random phase of the poll, with Retell's push (`call_ended`, signed)
 * or without; the latency is from the end to the subscriber receiving the call's CALL_ENDED.
 */
async function measurePush(sims: Child, hello: SimsHello): Promise<PushResult> {
  const intervalSeconds = 5;
  const switchboard = jsChild('switchboard.ts', {
    NODE_ENV: 'production',
    BENCH_CONNECTIONS: JSON.stringify(hello.connections),
    SWITCHBOARD_WATCH_INTERVAL: String(intervalSeconds),
  });
  const { url } = (await switchboard.ready) as { url: string };
  const pushTo = url.replace(/\/graphql$/, '/providers/retell/default/events');
  const client = await connect(url.replace(/^http/, 'ws'));
  const received: { at: number; type: string; id: string | null }[] = [];
  let wake: (() => void) | null = null;
  const stop = client.subscribe<EventMessage['data']>(
    { query: EVENTS, variables: { filter: { providers: ['RETELL'] } } },
    {
      next: (message) => {
        if (message.data) received.push({ at: Date.now(), type: message.data.callEvents.type, id: message.data.callEvents.call.providerCallId });
        wake?.();
      },
      error: (error) => log(`subscription error: ${JSON.stringify(error).slice(0, 300)}`),
      complete: () => {},
    },
  );
  const arrival = async (type: string, id: string, from: number): Promise<number> => {
    const deadline = Date.now() + intervalSeconds * 4_000 + 5_000;
    for (;;) {
      const hit = received.slice(from).find((r) => r.type === type && r.id === id);
      if (hit) return hit.at;
      if (Date.now() > deadline) throw new Error(`no ${type} for ${id} within ${intervalSeconds * 4 + 5} s`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  try {
    await sleep(2 * intervalSeconds * 1000 + 1000); // the baseline
    log(`live, ${intervalSeconds} s interval: ${SAMPLES} push-to-subscriber samples and ${SAMPLES} polling-only ones, alternating`);
    const pushed: number[] = [];
    const polled: number[] = [];
    for (let i = 0; i < 2 * SAMPLES; i++) {
      const push = i % 2 === 0;
      const seen = received.length;
      const { callId } = await sims.rpc<{ callId: string }>({ type: 'retellStart' });
      await arrival('CALL_ADDED', callId, seen);
      await sleep(Math.random() * intervalSeconds * 1000);
      const { at } = await sims.rpc<{ at: number }>({ type: 'retellEnd', callId, pushTo: push ? pushTo : null });
      (push ? pushed : polled).push((await arrival('CALL_ENDED', callId, seen)) - at);
    }
    const summary = (values: number[]) => ({ samples: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) });
    return { intervalSeconds, pushMs: summary(pushed), pollingOnlyMs: summary(polled) };
  } finally {
    stop();
    await client.dispose();
    await switchboard.stop();
  }
}

export async function runLive(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const started = new Date();
  buildChildren();
  const sims = jsChild('sims.ts');
  const hello = (await sims.ready) as SimsHello;
  try {
    const intervals: IntervalResult[] = [];
    for (const seconds of INTERVALS) intervals.push(await measureInterval(sims, hello, seconds));
    const fanOut = await measureFanOut(sims, hello);
    const push = await measurePush(sims, hello);
    const cpus = os.cpus();
    const results = {
      date: started.toISOString(),
      command: 'npm run bench -- --live',
      machine: { cpus: cpus.length, cpuModel: cpus[0]?.model.trim() ?? 'unknown', node: process.version },
      intervals,
      fanOut,
      push,
    };
    writeFileSync(join(RESULTS, 'live.json'), `${JSON.stringify(results, null, 2)}\n`);
    const perMinute = (rates: Record<string, number>) => Object.entries(rates).map(([name, n]) => `${name} ${n}`).join(', ');
    const markdown = [
      '# Switchboard live events',
      '',
      `${results.date.slice(0, 16).replace('T', ' ')} UTC · \`${results.command}\` · ${results.machine.cpus} × ${results.machine.cpuModel} · Node ${results.machine.node} · every provider's simulator at 0 ms, in its own process; Switchboard compiled, NODE_ENV=production, one process; subscribers over graphql-ws in the bench process.`,
      '',
      '| watch interval | latency p50 ms | latency p99 ms | samples | upstream requests/min per connection, watched | not watched |',
      '|---|---|---|---|---|---|',
      ...intervals.map((r) => `| ${r.intervalSeconds} s | ${r.latencyMs.p50} | ${r.latencyMs.p99} | ${r.latencyMs.samples} | ${perMinute(r.requestsPerMinuteWatched)} | ${perMinute(r.requestsPerMinuteUnwatched)} |`),
      '',
      'Latency: from the simulator adding a call to the subscriber receiving its CALL_ADDED (a poll interval at most plus one poll, on average half an interval).',
      '',
      `**Provider pushes** (Retell's signed \`call_ended\` webhook, sent by its simulator the moment it ends a call, to \`/providers/retell/default/events\`; ${push.intervalSeconds} s interval, the default; samples alternating, each call ended at a random phase of the poll): from the end to the subscriber receiving CALL_ENDED, **with the push p50 ${push.pushMs.p50} ms, p99 ${push.pushMs.p99} ms** (${push.pushMs.samples} samples, max ${push.pushMs.max}); polling only p50 ${push.pollingOnlyMs.p50} ms, p99 ${push.pollingOnlyMs.p99} ms (${push.pollingOnlyMs.samples} samples).`,
      '',
      `**${fanOut.subscribers} open subscriptions** (one WebSocket each, filter TWENTY2, 1 s interval): server RSS ${fanOut.rssBeforeMb} MB with one, ${fanOut.rssAfterMb} MB with ${fanOut.subscribers} (${fanOut.kbPerSubscription} KB each); one new call reached ${fanOut.fanOutMs.received} of ${fanOut.subscribers - 1} measured subscribers, p50 ${fanOut.fanOutMs.p50} ms, p99 ${fanOut.fanOutMs.p99} ms after it was added.`,
      '',
    ].join('\n');
    writeFileSync(join(RESULTS, 'live.md'), markdown);
    process.stdout.write(`\n${markdown}`);
  } finally {
    await sims.stop();
  }
}
