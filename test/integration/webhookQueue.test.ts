/**
 * The webhook queue's scripts (src/live/webhookQueue.ts) against a real redis-server: per-call
 * order, claims (one claimant at a time, re-claimable when they lapse, a lapsed claimant's result
 * refused), the concurrency across claimants, retries and the bound. Deliveries are queued with
 * `ENQUEUE_LUA` as the watcher's COMMIT script (src/live/source.ts) queues them.
 */
import { Redis } from 'ioredis';
import { CLAIM, ENQUEUE_LUA, SETTLE, parseClaim } from '../../src/live/webhookQueue.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const ENQUEUE = `${ENQUEUE_LUA}
return enqueue(ARGV[1], tonumber(ARGV[2]), 60000, ARGV[3], ARGV[4], clock())`;

let redis: RedisServer;
let client: Redis;
let q: string;
let n = 0;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
});

afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

beforeEach(() => {
  q = `test:webhook:${++n}`;
});

/** Queues event `id` of `call`; resolves with the number dropped. */
const enqueue = async (call: string, id: string, bound = 100) => Number(await client.eval(ENQUEUE, 0, q, String(bound), call, JSON.stringify({ id })));
const claim = async (token: string, { claimMs = 60_000, concurrency = 4 } = {}) => {
  const { depth, claimed } = parseClaim((await client.eval(CLAIM, 0, q, token, String(claimMs), String(concurrency))) as unknown[]);
  return { depth, claimed: claimed.map((c) => ({ ...c, id: (JSON.parse(c.event) as { id: string }).id })) };
};
const ids = (c: { claimed: { id: string }[] }) => c.claimed.map((d) => d.id);
const done = async (token: string, seq: string) => Number(await client.eval(SETTLE, 0, q, seq, token, '60000', 'done'));
const retry = async (token: string, seq: string, delayMs: number, deadline: number, partial: boolean, body = '') =>
  Number(await client.eval(SETTLE, 0, q, seq, token, '60000', 'retry', String(delayMs), String(deadline), partial ? '1' : '', body));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("only a call's oldest waiting event is claimed; its next one once it is done with", async () => {
  await enqueue('a', 'a1');
  await enqueue('a', 'a2');
  await enqueue('b', 'b1');
  const first = await claim('x');
  expect(first.depth).toBe(3);
  expect(ids(first)).toEqual(['a1', 'b1']);
  expect(ids(await claim('x'))).toEqual([]);
  expect(await done('x', first.claimed[0]!.seq)).toBe(1);
  expect(ids(await claim('x'))).toEqual(['a2']);
});

test('a claim is one claimant\'s until it lapses; then another takes it, and the first one\'s result is refused', async () => {
  await enqueue('a', 'a1');
  const x = await claim('x', { claimMs: 100 });
  expect(x.claimed).toMatchObject([{ id: 'a1', attempts: 1, deadline: null }]);
  expect(ids(await claim('y', { claimMs: 100 }))).toEqual([]);
  await sleep(150);
  const y = await claim('y');
  expect(y.claimed).toMatchObject([{ id: 'a1', attempts: 2 }]);
  expect(await done('x', x.claimed[0]!.seq)).toBe(0);
  expect(await retry('x', x.claimed[0]!.seq, 0, Date.now() + 1000, false)).toBe(0);
  expect(await done('y', y.claimed[0]!.seq)).toBe(1);
  expect((await claim('x')).depth).toBe(0);
});

test('the concurrency counts the claims of every claimant', async () => {
  for (const call of ['a', 'b', 'c']) await enqueue(call, `${call}1`);
  expect(ids(await claim('x', { concurrency: 2 }))).toEqual(['a1', 'b1']);
  expect(ids(await claim('y', { concurrency: 2 }))).toEqual([]);
});

test('a retry is due after its delay, with its deadline, the partial flag and the body kept', async () => {
  await enqueue('a', 'a1');
  const first = (await claim('x')).claimed[0]!;
  const deadline = Date.now() + 86_400_000;
  expect(await retry('x', first.seq, 200, deadline, true, '{"rendered":true}')).toBe(1);
  expect(ids(await claim('y'))).toEqual([]);
  await sleep(250);
  expect((await claim('y')).claimed).toEqual([expect.objectContaining({ id: 'a1', attempts: 2, deadline, acceptPartial: true, body: '{"rendered":true}' })]);
});

test('over the bound, the oldest not in flight is dropped, and its call\'s next event becomes due', async () => {
  await enqueue('a', 'a1', 3);
  await enqueue('b', 'b1', 3);
  await enqueue('b', 'b2', 3);
  // a1 in flight: b1, the oldest not, goes when c1 comes; then b2 (b's head now) is due.
  const a = await claim('x', { concurrency: 1 });
  expect(ids(a)).toEqual(['a1']);
  expect(await enqueue('c', 'c1', 3)).toBe(1);
  expect(await client.hlen(`${q}:events`)).toBe(3);
  expect(await done('x', a.claimed[0]!.seq)).toBe(1);
  expect(ids(await claim('x'))).toEqual(['b2', 'c1']);
});

test('deliveries due together (one commit) are claimed in arrival order, past the ninth', async () => {
  const many = `${ENQUEUE_LUA}
local now = clock()
for i = 1, 12 do enqueue(ARGV[1], 100, 60000, 'call' .. i, '{"id":"e' .. i .. '"}', now) end`;
  await client.eval(many, 0, q);
  const claimed: string[] = [];
  for (let i = 0; i < 3; i++) {
    const c = await claim('x');
    claimed.push(...ids(c));
    for (const d of c.claimed) await done('x', d.seq);
  }
  expect(claimed).toEqual(Array.from({ length: 12 }, (_, i) => `e${i + 1}`));
});
