/**
 * Vapi server messages (docs/providers/vapi.md, "Server messages"): a JSON POST
 * `{ "message": { "type", "call": { "id", … }, … } }`, authenticated with the credential the
 * operator gave the server URL in Vapi (https://docs.vapi.ai/server-url/server-authentication):
 * - `bearer`: the secret in `Authorization: Bearer <secret>`, or in the legacy `X-Vapi-Secret`;
 * - `hmac` (`webhookAuth`; default `bearer`): `x-signature` = hex HMAC-SHA256(secret, `{x-timestamp}.{raw body}`) (Vapi's
 *   HMACAuthenticationPlan defaults). Vapi documents no tolerance; Switchboard takes 5 minutes, as
 *   Retell and Standard Webhooks do.
 * `status-update` and `end-of-call-report` name a call; other message types change none.
 */
import { createHmac } from 'node:crypto';
import type { PushRequest, PushedCall } from '../module.js';
import { checkTimestamp, jsonObject, sameSecret, stringField, unreadable, unverified } from '../push.js';

/** How far a signed `x-timestamp` may be from now. */
export const VAPI_TOLERANCE_MS = 5 * 60_000;

/** The message types that are about one call's status. */
const CALL_MESSAGES = new Set(['status-update', 'end-of-call-report']);

/** Hex HMAC-SHA256 of `{timestamp}.{body}`, keyed by the secret. */
export function vapiSignature(secret: string, timestamp: string, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

/** An `x-timestamp` in ms: Unix seconds or milliseconds (told apart by size), else null. */
function timestampMs(text: string): number | null {
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return n < 1e11 ? n * 1000 : n;
}

/**
 * Verifies one server message with the connection's `webhookSecret` as `webhookAuth` says, and
 * returns the call it is about ([] for message types about no call's status). Throws
 * PUSH_UNVERIFIED (no secret configured, a missing or wrong credential or signature),
 * PUSH_EXPIRED (an `x-timestamp` over 5 minutes off) or 400 (no `message.call.id`).
 */
export function verifyVapiPush(settings: { webhookSecret?: string | undefined; webhookAuth?: 'bearer' | 'hmac' | undefined }, request: PushRequest): PushedCall[] {
  const secret = settings.webhookSecret;
  if (secret === undefined) throw unverified('This Vapi connection has no webhookSecret (VAPI_WEBHOOK_SECRET), the credential of its server URL');
  if (settings.webhookAuth === 'hmac') {
    const signature = request.header('x-signature');
    const timestamp = request.header('x-timestamp');
    if (!signature || !timestamp) throw unverified('The push has no x-signature and x-timestamp headers');
    const ms = timestampMs(timestamp);
    if (ms === null) throw unverified('The x-timestamp header is not a Unix time');
    if (!sameSecret(signature.toLowerCase(), vapiSignature(secret, timestamp, request.body))) throw unverified('The x-signature does not verify with this connection\'s webhookSecret');
    checkTimestamp(ms, request.now, VAPI_TOLERANCE_MS);
  } else {
    const authorization = request.header('authorization');
    const given = authorization !== undefined ? /^Bearer (.+)$/i.exec(authorization)?.[1] : request.header('x-vapi-secret');
    if (!given) throw unverified('The push has no Authorization: Bearer or X-Vapi-Secret credential');
    if (!sameSecret(given, secret)) throw unverified('The push\'s credential is not this connection\'s webhookSecret');
  }
  const message = jsonObject(request.body).message;
  const type = stringField(message, 'type');
  if (type === undefined) throw unreadable('no message.type');
  if (!CALL_MESSAGES.has(type)) return [];
  const call = (message as { call?: unknown }).call;
  const id = stringField(call, 'id');
  if (id === undefined) throw unreadable(`a ${type} message without message.call.id`);
  const started = stringField(call, 'startedAt') ?? stringField(call, 'createdAt');
  const startedAt = started !== undefined && !Number.isNaN(Date.parse(started)) ? new Date(started) : null;
  return [{ key: id, startedAt }];
}
