/**
 * Twilio status callbacks (docs/providers/twilio.md, "Status callbacks"): a form POST (or, for
 * JSON bodies, a `bodySHA256` query parameter) signed in `X-Twilio-Signature` =
 * Base64(HMAC-SHA1(Auth Token, full URL + each POST parameter's name and value, sorted by name)),
 * per https://www.twilio.com/docs/usage/webhooks/webhooks-security. Twilio signs no timestamp, so
 * there is no tolerance to check: a replayed callback only makes Switchboard read the call again
 * (src/live/pushes.ts), which yields no event for a change already seen.
 */
import { createHash, createHmac } from 'node:crypto';
import type { PushRequest, PushedCall } from '../module.js';
import { utf8Text } from '../../readCapped.js';
import { jsonObject, sameSecret, stringField, unreadable, unverified } from '../push.js';

/** Base64 HMAC-SHA1 of `url` followed by each of `params`' names and values, sorted by name then value. */
export function twilioSignature(authToken: string, url: string, params: readonly (readonly [string, string])[]): string {
  const sorted = [...params].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return createHmac('sha1', authToken).update(url + sorted.map(([name, value]) => name + value).join(''), 'utf8').digest('base64');
}

/**
 * `url` as Twilio may have signed it: as given, and with the default port added or removed —
 * Twilio's own validators try both (twilio-python RequestValidator, twilio-node validateRequest).
 */
export function urlVariants(url: string): string[] {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'https:' ? '443' : '80';
  const withoutPort = new URL(url);
  withoutPort.port = '';
  // URL drops a port equal to the scheme's default, so the port is spliced in as text.
  const withPort = `${parsed.protocol}//${parsed.username ? `${parsed.username}:${parsed.password}@` : ''}${parsed.hostname}:${parsed.port || defaultPort}${parsed.pathname}${parsed.search}`;
  return [...new Set([url, withoutPort.toString(), withPort])];
}

/**
 * Verifies one status callback with the connection's Auth Token and returns the call it is about.
 * Throws PUSH_UNVERIFIED (no Auth Token configured, no or wrong signature, a JSON body whose
 * `bodySHA256` does not match) or 400 (no `CallSid`).
 */
export function verifyTwilioPush(settings: { authToken?: string | undefined }, request: PushRequest): PushedCall[] {
  if (settings.authToken === undefined) throw unverified('This Twilio connection has no authToken (TWILIO_AUTH_TOKEN), which Twilio signs status callbacks with');
  const signature = request.header('x-twilio-signature');
  if (!signature) throw unverified('The push has no X-Twilio-Signature header');
  const bodyHash = new URL(request.url).searchParams.get('bodySHA256');
  // A JSON body: the URL carries its SHA-256 and no parameters are appended (twilio-python). A form
  // body's leading BOM is no part of its first name, as with JSON (`utf8Text`).
  const params = bodyHash === null ? [...new URLSearchParams(utf8Text(request.body))] : [];
  const authToken = settings.authToken;
  const verified = urlVariants(request.url).some((url) => sameSecret(signature, twilioSignature(authToken, url, params)));
  if (!verified) throw unverified('The X-Twilio-Signature does not verify with this connection\'s Auth Token and the URL it was sent to');
  if (bodyHash !== null && !sameSecret(bodyHash.toLowerCase(), createHash('sha256').update(request.body).digest('hex'))) {
    throw unverified('The body does not match the bodySHA256 of the signed URL');
  }
  const callSid = bodyHash === null ? params.find(([name]) => name === 'CallSid')?.[1] : stringField(jsonObject(request.body), 'CallSid');
  if (!callSid) throw unreadable('no CallSid');
  return [{ key: callSid, startedAt: null }];
}
