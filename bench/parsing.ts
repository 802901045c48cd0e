/**
 * `npx tsx bench/parsing.ts`: what reading upstream bodies exactly costs. For a page of 100 rows of
 * each simulator, the µs per body of JSON.parse (lossy: 9007199254740993 becomes …992), of
 * parseUpstreamJson (src/providers/json.ts) on the page as it is (the fast path) and with one id past
 * 2^53 (the lossless path), and of lossless-json alone; then the dates of those rows through
 * src/time.ts against Date.parse (which rolls impossible days over and reads zone-less values in
 * the local zone). Medians of 7 rounds; numbers, not assertions. Results: docs/benchmark.md.
 */
import { parse as parseLossless } from 'lossless-json';
import { createCinnoxSimulator } from '../src/providers/cinnox/simulator.js';
import { parseUpstreamJson } from '../src/providers/json.js';
import { createTalkStackSimulator } from '../src/providers/talkstack/simulator.js';
import { createTwenty2Simulator } from '../src/providers/twenty2/simulator.js';
import { createUnpodSimulator } from '../src/providers/unpod/simulator.js';
import { parseIsoInstant, parseRfc5322Date } from '../src/time.js';

const ROUNDS = 7;
const BIG = '9007199254740993';

/** Median µs per call of `run` over ROUNDS rounds of `n` calls, after a warm-up. */
function measure(run: () => unknown, n = 2000): number {
  for (let i = 0; i < n / 4; i++) run();
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) run();
    rounds.push(Number(process.hrtime.bigint() - started) / 1000 / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[Math.floor(ROUNDS / 2)]!;
}

const twenty2 = createTwenty2Simulator().rows.slice(0, 100);
const unpod = createUnpodSimulator().rows.slice(0, 100);
const cinnox = createCinnoxSimulator().rows.slice(0, 100);
const talkstack = createTalkStackSimulator().rows.slice(0, 100);

/** Each page as its provider sends it, and the same page with its first id a JSON number past 2^53. */
const pages: [string, string, string][] = [
  ['Twenty2', JSON.stringify({ success: true, calls: twenty2, pagination: { page: 1, limit: 100, total: 300, has_more: true } }), '"call_id":'],
  ['Unpod', JSON.stringify({ count: 300, status_code: 200, message: 'Call logs fetched successfully', data: unpod }), '"source_number":'],
  ['CINNOX', JSON.stringify({ code: 0, result: cinnox }), '"callID":'],
  ['TalkStack', JSON.stringify({ calls: talkstack, nextPageToken: 'abc' }), '"callSid":'],
].map(([name, text, key]) => {
  const at = text!.indexOf(key!) + key!.length;
  const end = text!.indexOf(',', at);
  return [name!, text!, `${text!.slice(0, at)}${BIG}${text!.slice(end)}`];
});

const lines = [
  '| page of 100 rows | bytes | JSON.parse µs | parseUpstreamJson µs | ratio | with an id past 2^53 µs | ratio | lossless-json alone µs |',
  '|---|--:|--:|--:|--:|--:|--:|--:|',
];
for (const [name, text, withBig] of pages) {
  const base = measure(() => JSON.parse(text));
  const fast = measure(() => parseUpstreamJson(text));
  const slow = measure(() => parseUpstreamJson(withBig), 300);
  const lossless = measure(() => parseLossless(text), 300);
  lines.push(
    `| ${name} | ${text.length} | ${base.toFixed(0)} | ${fast.toFixed(0)} | ${(fast / base).toFixed(2)} | ${slow.toFixed(0)} | ${(slow / base).toFixed(1)} | ${lossless.toFixed(0)} |`,
  );
}

const isoDates = twenty2.map((row) => row.started_at);
const rfcDates = talkstack.map((row) => row.date);
const sum = (dates: string[], read: (text: string) => number | undefined) => () => {
  let total = 0;
  for (const date of dates) total += read(date) ?? 0;
  return total;
};
lines.push(
  '',
  '| 100 dates | Date.parse µs | src/time.ts µs |',
  '|---|--:|--:|',
  `| ISO 8601 (Twenty2) | ${measure(sum(isoDates, Date.parse)).toFixed(1)} | ${measure(sum(isoDates, (t) => parseIsoInstant(t, 'utc')?.getTime())).toFixed(1)} |`,
  `| RFC 5322 (TalkStack) | ${measure(sum(rfcDates, Date.parse)).toFixed(1)} | ${measure(sum(rfcDates, (t) => parseRfc5322Date(t)?.getTime())).toFixed(1)} |`,
);
console.log(`Node ${process.version}, ${new Date().toISOString()}\n\n${lines.join('\n')}`);
