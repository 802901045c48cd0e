/**
 * A tight in-process loop over tracing's own work for one merged page (a server span, 4 client
 * spans, an operation name, the end), spans batched to an exporter that drops them: CPU µs per
 * request of that work alone, against the same loop with tracing off (the null checks only).
 * `npx tsx bench/tracing-spans.ts`.
 */
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { type RequestTrace, Tracing } from '../src/observability/tracing.js';

const drop = { export: (_spans: unknown, done: (r: { code: number }) => void) => done({ code: 0 }), shutdown: async () => {} };
const tracing = await Tracing.create([new BatchSpanProcessor(drop, { maxQueueSize: 100_000, scheduledDelayMillis: 50 })]);
const headers = { 'content-type': 'application/json' };
const refs = ['TWENTY2', 'UNPOD', 'CINNOX', 'TALKSTACK'].map((provider) => ({ provider, connection: 'default' }) as const);
const request = { method: 'GET', url: 'http://127.0.0.1:41234/call/logs', operation: 'GET /call/logs', searchParams: { page: 1, limit: 20 } };

function page(on: Tracing | null): void {
  const trace: RequestTrace | null = on ? on.startRequest('POST', headers) : null;
  trace?.operation('query', 'LatestCalls');
  for (const ref of refs) trace?.upstream(ref as never, request, 0).end(200, null);
  trace?.answered([]);
  trace?.end(200);
}

async function run(on: Tracing | null, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    page(on);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // let the batch processor export
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

await run(tracing, 20_000); // warm-up
await run(null, 20_000);
const results: Record<string, number[]> = { on: [], off: [] };
for (let round = 0; round < 6; round++) {
  for (const mode of round % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
    results[mode]!.push(await run(mode === 'on' ? tracing : null, 20_000));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [mode, xs] of Object.entries(results)) console.log(`${mode}: µs per page, median ${median(xs).toFixed(2)} (rounds ${xs.map((x) => x.toFixed(2)).join(' ')})`);
await tracing.shutdown();
