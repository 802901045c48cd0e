/**
 * `npx tsx bench/parsing.ts`: what reading upstream bodies exactly costs. For a page of 100 rows of
 * each simulator, the µs per body of JSON.parse (lossy: 9007199254740993 becomes …992), of
 * parseUpstreamJson (src/providers/json.ts) on the page as it is (the fast path) and with one id past
 * 2^53 (the lossless path), and of lossless-json alone; then the dates of those rows through
 * src/time.ts against Date.parse (which rolls impossible days over and reads zone-less values in
 * the local zone). The contenders run alternately within each round, so drift on a shared machine
 * touches them alike; medians of 9 rounds (of µs, and of the per-round ratio to JSON.parse).
 * Numbers, not assertions. Results: docs/benchmark.md.
 */
import { parse as parseLossless } from 'lossless-json';
import { createCinnoxSimulator } from '../src/providers/cinnox/simulator.js';
import { parseUpstreamJson } from '../src/providers/json.js';
import { createTalkStackSimulator } from '../src/providers/talkstack/simulator.js';
import { createTwenty2Simulator } from '../src/providers/twenty2/simulator.js';
import { createUnpodSimulator } from '../src/providers/unpod/simulator.js';
import { parseIsoInstant, parseRfc5322Date } from '../src/time.js';

const ROUNDS = 9;
const BIG = '9007199254740993';

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** µs per call of `run`, over `n` calls. */
function time(run: () => unknown, n: number): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run();
  return Number(process.hrtime.bigint() - started) / 1000 / n;
}

/**
 * Median µs per call of each contender, and of its per-round ratio to the first, over ROUNDS
 * rounds in which each runs `n` calls in turn, after a warm-up.
 */
function compare(contenders: (() => unknown)[], n: number): { us: number; ratio: number }[] {
  for (const run of contenders) time(run, Math.ceil(n / 4));
  const rounds = Array.from({ length: ROUNDS }, () => contenders.map((run) => time(run, n)));
  return contenders.map((_, i) => ({
    us: median(rounds.map((round) => round[i]!)),
    ratio: median(rounds.map((round) => round[i]! / round[0]!)),
  }));
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
  const [base, fast, slow, lossless] = compare(
    [() => JSON.parse(text), () => parseUpstreamJson(text), () => parseUpstreamJson(withBig), () => parseLossless(text)],
    300,
  );
  lines.push(
    `| ${name} | ${text.length} | ${base!.us.toFixed(0)} | ${fast!.us.toFixed(0)} | ${fast!.ratio.toFixed(2)} | ${slow!.us.toFixed(0)} | ${slow!.ratio.toFixed(1)} | ${lossless!.us.toFixed(0)} |`,
  );
}

const isoDates = twenty2.map((row) => row.started_at);
const rfcDates = talkstack.map((row) => row.date);
const sum = (dates: string[], read: (text: string) => number | undefined) => () => {
  let total = 0;
  for (const date of dates) total += read(date) ?? 0;
  return total;
};
const [isoBase, iso] = compare([sum(isoDates, Date.parse), sum(isoDates, (t) => parseIsoInstant(t, 'utc')?.getTime())], 2000);
const [rfcBase, rfc] = compare([sum(rfcDates, Date.parse), sum(rfcDates, (t) => parseRfc5322Date(t)?.getTime())], 2000);
lines.push(
  '',
  '| 100 dates | Date.parse µs | src/time.ts µs | ratio |',
  '|---|--:|--:|--:|',
  `| ISO 8601 (Twenty2) | ${isoBase!.us.toFixed(1)} | ${iso!.us.toFixed(1)} | ${iso!.ratio.toFixed(2)} |`,
  `| RFC 5322 (TalkStack) | ${rfcBase!.us.toFixed(1)} | ${rfc!.us.toFixed(1)} | ${rfc!.ratio.toFixed(2)} |`,
);
console.log(`Node ${process.version}, ${new Date().toISOString()}\n\n${lines.join('\n')}`);
