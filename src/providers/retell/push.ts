/**
 * Retell webhooks (docs/providers/retell.md, "Webhooks"): a JSON POST `{ "event", "call": { "call_id", … } }`
 * signed in `x-retell-signature` = `v=<timestamp ms>,d=<hex HMAC-SHA256(raw body + timestamp)>`, keyed
 * with the API key (https://docs.retellai.com/features/secure-webhook; retell-sdk src/lib/webhook_auth.ts,
 * which refuses timestamps more than 5 minutes off). `call_started`, `call_ended` and
 * `call_analyzed` name a call; other events (transcripts, transfers) change none Switchboard shows.
 */
import { createHmac } from 'node:crypto';
import type { PushRequest, PushedCall } from '../module.js';
import { checkTimestamp, jsonObject, sameSecret, stringField, unreadable, unverified } from '../push.js';

/** How far the signed timestamp may be from now (the SDK's `FIVE_MINUTES`). */
export const RETELL_TOLERANCE_MS = 5 * 60_000;

const CALL_EVENTS = new Set(['call_started', 'call_ended', 'call_analyzed']);

/** Hex HMAC-SHA256 of the raw body followed by the timestamp (ms, as text), keyed by the API key. */
export function retellDigest(apiKey: string, body: Buffer, timestamp: string): string {
  return createHmac('sha256', apiKey).update(body).update(timestamp, 'utf8').digest('hex');
}

/**
 * Verifies one webhook with the connection's API key and returns the call it is about ([] for
 * events about no call's status, or about a call not started yet). Throws PUSH_UNVERIFIED (a missing, malformed or wrong
 * signature), PUSH_EXPIRED (a timestamp over 5 minutes off) or 400 (no `call.call_id`).
 */
export function verifyRetellPush(settings: { apiKey: string }, request: PushRequest): PushedCall[] {
  const header = request.header('x-retell-signature');
  if (!header) throw unverified('The push has no x-retell-signature header');
  const match = /^v=(\d{1,16}),d=([0-9a-fA-F]+)$/.exec(header);
  if (!match) throw unverified('The x-retell-signature header is not v=<timestamp>,d=<digest>');
  const [, timestamp, digest] = match as unknown as [string, string, string];
  if (!sameSecret(digest.toLowerCase(), retellDigest(settings.apiKey, request.body, timestamp))) {
    throw unverified('The x-retell-signature does not verify with this connection\'s API key');
  }
  checkTimestamp(Number(timestamp), request.now, RETELL_TOLERANCE_MS);
  const body = jsonObject(request.body);
  const event = stringField(body, 'event');
  if (event === undefined) throw unreadable('no event');
  if (!CALL_EVENTS.has(event)) return [];
  const id = stringField(body.call, 'call_id');
  if (id === undefined) throw unreadable(`a ${event} event without call.call_id`);
  const start = (body.call as { start_timestamp?: unknown }).start_timestamp;
  // A call without a start is not placed in Retell's list yet (a registered call; src/providers/retell/client.ts
  // skips it), so a push about it announces nothing either: the poll announces it once it starts.
  if (typeof start !== 'number' || !Number.isFinite(start) || start <= 0) return [];
  return [{ key: id, startedAt: new Date(start) }];
}
