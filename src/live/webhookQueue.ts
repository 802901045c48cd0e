/**
 * The webhook queue in Redis (with REDIS_URL; docs/live.md, "Webhooks" and "Replicas"): one queue
 * per endpoint, shared by every replica. Deliveries are added by the watcher's commit
 * (src/live/source.ts runs `ENQUEUE_LUA` inside its lease-checked COMMIT script), so an event is
 * committed if and only if its deliveries are queued; any replica then claims and makes them
 * (src/live/webhooks.ts), each attempt by one replica at a time.
 *
 * Keys of one endpoint's queue, under its prefix `sb:v1:webhook:<index>:<digest of the URL>` (the
 * URL's digest, so that a reordered configuration never sends a queued event to another URL;
 * never the URL or the secret themselves):
 * - `:seq`    counter numbering deliveries in arrival order (a delivery's `seq` is it, zero-padded);
 * - `:events` hash seq → the event as JSON (as published on pub/sub);
 * - `:bodies` hash seq → the payload as first rendered completely (so every later attempt, on any
 *   replica, sends the same body);
 * - `:meta`   hash seq → `{ c: call, n: attempts, d: deadline ms, p: send partial, o: claim token }`;
 * - `:order`  sorted set of waiting deliveries by seq: its size is the depth, its first is the oldest;
 * - `:fifo`   hash call → its deliveries' seqs in order ("12 15"), the head first: only a head is
 *   ever due or claimed, so a call's next event waits for the previous one (per-call order);
 * - `:due`    sorted set of heads not claimed, by when they are due (ms, Redis's clock);
 * - `:claims` sorted set of claimed heads, by when the claim lapses: a claimant that died (or
 *   overran) loses it then, and the head is due again for any replica (at least once).
 * Every key expires `ttlMs` after the last enqueue or settle, so the queue of an endpoint removed
 * from the configuration goes away by itself.
 *
 * The scripts use keys named from a prefix passed as an argument, as COMMIT names its channel: fine
 * on a single Redis (the only kind Switchboard connects to), not on a Redis Cluster.
 */
import { createHash } from 'node:crypto';
import type { CallEvent } from './events.js';

/** The Redis side of one endpoint's queue: where its keys are and how many deliveries it holds. */
export interface QueueRef {
  /** The key prefix (see the top of this file). */
  prefix: string;
  /** Deliveries waiting or in flight, at most (SWITCHBOARD_WEBHOOK_QUEUE); beyond it the oldest not in flight is dropped. */
  bound: number;
  /** How long the keys live after the last enqueue or settle, in ms. */
  ttlMs: number;
}

/** One delivery to queue with a commit: `event` indexes the committed events (0-based); `call` is the unit of order. */
export interface QueuedDelivery {
  queue: QueueRef;
  event: number;
  call: string;
}

/**
 * What the watcher's commit needs from the webhooks (src/live/source.ts `attachOutbox`): which
 * queues each committed event goes to, and a place to report the deliveries a full queue dropped.
 */
export interface Outbox {
  /** The deliveries of `events` (committed together for one connection), in event order. Pure and synchronous. */
  route(events: readonly CallEvent[]): QueuedDelivery[];
  /** After a commit: the deliveries each full queue dropped, by prefix (only those with drops). */
  dropped(drops: ReadonlyMap<string, number>): void;
}

/**
 * The key prefix of the endpoint whose `endpointIdentity` (./webhooks.ts) is `identity`: a digest,
 * so that no URL is in Redis, and independent of the endpoint's place in the list.
 */
export function queuePrefix(identity: string): string {
  return `sb:v1:webhook:${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}`;
}

// Shared Lua: the clock, removing a delivery (its call's next one becomes due), refreshing the TTL.
const COMMON = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function split(s)
  local out = {}
  for part in string.gmatch(s, '%S+') do out[#out + 1] = part end
  return out
end
local function touch(q, ttl)
  for _, k in ipairs({':seq', ':events', ':bodies', ':meta', ':order', ':fifo', ':due', ':claims'}) do
    redis.call('PEXPIRE', q .. k, ttl)
  end
end
local function remove(q, seq, now)
  local text = redis.call('HGET', q .. ':meta', seq)
  redis.call('HDEL', q .. ':events', seq)
  redis.call('HDEL', q .. ':bodies', seq)
  redis.call('HDEL', q .. ':meta', seq)
  redis.call('ZREM', q .. ':order', seq)
  redis.call('ZREM', q .. ':due', seq)
  redis.call('ZREM', q .. ':claims', seq)
  -- Without its meta (evicted by a maxmemory policy), its call is unknown: only its own entries go.
  if not text then return end
  local call = cjson.decode(text).c
  local fifo = split(redis.call('HGET', q .. ':fifo', call) or '')
  local rest = {}
  for _, s in ipairs(fifo) do if s ~= seq then rest[#rest + 1] = s end end
  if #rest == 0 then redis.call('HDEL', q .. ':fifo', call)
  else
    redis.call('HSET', q .. ':fifo', call, table.concat(rest, ' '))
    if fifo[1] == seq then redis.call('ZADD', q .. ':due', now, rest[1]) end
  end
end
`;

/**
 * Lua defining `enqueue(q, bound, ttl, call, event, now)`, for src/live/source.ts's COMMIT: queues
 * one delivery and, when the queue is over its bound, drops its oldest deliveries not in flight
 * (when all are in flight, the new one): the number dropped.
 */
export const ENQUEUE_LUA = `${COMMON}
local function enqueue(q, bound, ttl, call, event, now)
  -- Zero-padded: heads due at the same time are claimed in arrival order (equal scores sort by member).
  local seq = string.format('%015d', redis.call('INCR', q .. ':seq'))
  redis.call('HSET', q .. ':events', seq, event)
  redis.call('HSET', q .. ':meta', seq, cjson.encode({ c = call, n = 0 }))
  redis.call('ZADD', q .. ':order', seq, seq)
  local fifo = redis.call('HGET', q .. ':fifo', call)
  if fifo then redis.call('HSET', q .. ':fifo', call, fifo .. ' ' .. seq)
  else
    redis.call('HSET', q .. ':fifo', call, seq)
    redis.call('ZADD', q .. ':due', now, seq)
  end
  local dropped = 0
  while redis.call('ZCARD', q .. ':order') > bound do
    -- Only the claimed ones (the concurrency, at most) are passed over before one that is not.
    local victim = nil
    for _, s in ipairs(redis.call('ZRANGE', q .. ':order', 0, redis.call('ZCARD', q .. ':claims'))) do
      if not redis.call('ZSCORE', q .. ':claims', s) then victim = s break end
    end
    if not victim then break end
    remove(q, victim, now)
    dropped = dropped + 1
  end
  touch(q, ttl)
  return dropped
end
`;

/**
 * Claims due heads for one replica. First, claims that lapsed (their claimant died or overran) are
 * due again; then up to `concurrency` minus the claims still held are claimed, each until
 * now + claimMs, under `token`.."#"..seq, its attempts counted.
 * ARGV: prefix, token, claimMs, concurrency. Returns [depth, then per claim: seq, attempts, deadline or '', partial '1' or '', event, body or ''].
 */
export const CLAIM = `${COMMON}
local q = ARGV[1]
local now = clock()
for _, s in ipairs(redis.call('ZRANGEBYSCORE', q .. ':claims', '-inf', now)) do
  redis.call('ZREM', q .. ':claims', s)
  redis.call('ZADD', q .. ':due', now, s)
end
local out = { redis.call('ZCARD', q .. ':order') }
local room = tonumber(ARGV[4]) - redis.call('ZCARD', q .. ':claims')
if room <= 0 then return out end
for _, s in ipairs(redis.call('ZRANGEBYSCORE', q .. ':due', '-inf', now, 'LIMIT', 0, room)) do
  local text, event = redis.call('HGET', q .. ':meta', s), redis.call('HGET', q .. ':events', s)
  if not text or not event then remove(q, s, now) else
  local meta = cjson.decode(text)
  meta.n = meta.n + 1
  meta.o = ARGV[2] .. '#' .. s
  redis.call('HSET', q .. ':meta', s, cjson.encode(meta))
  redis.call('ZREM', q .. ':due', s)
  redis.call('ZADD', q .. ':claims', now + tonumber(ARGV[3]), s)
  local n = #out
  out[n + 1] = s
  out[n + 2] = meta.n
  out[n + 3] = meta.d and tostring(meta.d) or ''
  out[n + 4] = meta.p and '1' or ''
  out[n + 5] = event
  out[n + 6] = redis.call('HGET', q .. ':bodies', s) or ''
  end
end
return out`;

/**
 * Settles a claimed attempt, only while the claim is still the caller's (else 0: it lapsed and
 * another replica took the delivery over; this attempt's result is not recorded).
 * ARGV: prefix, seq, token, ttl, action ('done', or 'retry'), and for 'retry': delay ms, deadline ms,
 * partial ('1' or ''), body ('' to keep the stored one).
 */
export const SETTLE = `${COMMON}
local q, seq = ARGV[1], ARGV[2]
local text = redis.call('HGET', q .. ':meta', seq)
if not text then return 0 end
local meta = cjson.decode(text)
if meta.o ~= ARGV[3] .. '#' .. seq or not redis.call('ZSCORE', q .. ':claims', seq) then return 0 end
local now = clock()
if ARGV[5] == 'done' then remove(q, seq, now)
else
  meta.o = nil
  meta.d = tonumber(ARGV[7])
  meta.p = ARGV[8] == '1' or nil
  redis.call('HSET', q .. ':meta', seq, cjson.encode(meta))
  if ARGV[9] ~= '' then redis.call('HSET', q .. ':bodies', seq, ARGV[9]) end
  redis.call('ZREM', q .. ':claims', seq)
  redis.call('ZADD', q .. ':due', now + tonumber(ARGV[6]), seq)
end
touch(q, tonumber(ARGV[4]))
return 1`;

/** One claimed delivery, as CLAIM returns it. */
export interface Claimed {
  seq: string;
  /** Attempts made so far, this one included. */
  attempts: number;
  /** When retries stop (ms since the epoch), null before the first attempt set it. */
  deadline: number | null;
  acceptPartial: boolean;
  /** The event, JSON. */
  event: string;
  /** The payload rendered completely by an earlier attempt, or null. */
  body: string | null;
}

/** CLAIM's answer: the queue's depth and the deliveries claimed. */
export function parseClaim(reply: unknown[]): { depth: number; claimed: Claimed[] } {
  const claimed: Claimed[] = [];
  for (let i = 1; i + 5 < reply.length; i += 6) {
    const [seq, attempts, deadline, partial, event, body] = reply.slice(i, i + 6).map(String) as [string, string, string, string, string, string];
    claimed.push({ seq, attempts: Number(attempts), deadline: deadline === '' ? null : Number(deadline), acceptPartial: partial === '1', event, body: body === '' ? null : body });
  }
  return { depth: Number(reply[0]), claimed };
}
