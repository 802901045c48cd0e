/**
 * The pure push verifiers (src/providers/<provider>/push.ts). Every expected signature is computed
 * here, from each provider's documented algorithm with node:crypto, never by the code under test:
 * - Twilio: Base64 HMAC-SHA1(Auth Token, URL + sorted POST params' names and values); JSON bodies:
 *   `bodySHA256` in the URL, no params (twilio.com/docs/usage/webhooks/webhooks-security);
 * - Vapi (hmac): hex HMAC-SHA256(secret, `{x-timestamp}.{body}`); (bearer): the secret as sent;
 * - Retell: `v=<ms>,d=<hex HMAC-SHA256(API key, body + ms)>`, 5 minutes (docs.retellai.com/features/secure-webhook).
 */
import { createHash, createHmac } from 'node:crypto';
import { PushRefusedError } from '../../src/errors.js';
import type { PushRequest } from '../../src/providers/module.js';
import { verifyRetellPush } from '../../src/providers/retell/push.js';
import { verifyTwilioPush } from '../../src/providers/twilio/push.js';
import { verifyVapiPush } from '../../src/providers/vapi/push.js';

const NOW = Date.UTC(2026, 10, 30, 3, 0, 0);

function request(url: string, headers: Record<string, string>, body: string | Buffer, now = NOW): PushRequest {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { url, header: (name) => lower.get(name), body: Buffer.isBuffer(body) ? body : Buffer.from(body), now };
}

/** The refusal `run` throws: its status and code. */
function refusal(run: () => unknown): { status: number; code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof PushRefusedError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('not refused');
}

describe('Twilio status callbacks (X-Twilio-Signature)', () => {
  const authToken = 'twilio-auth-token-12345';
  const url = 'https://switchboard.example.com/providers/twilio/default/events';
  const params: [string, string][] = [
    ['CallSid', 'CA0123456789abcdef0123456789abcdef'],
    ['AccountSid', 'AC0123456789abcdef0123456789abcdef'],
    ['CallStatus', 'completed'],
    ['From', '+14155550100'],
    ['To', '+14155550199'],
    ['CallDuration', '42'],
  ];
  const form = new URLSearchParams(params).toString();
  // The documented algorithm, written out: the URL, then each name+value sorted by name.
  const sign = (signedUrl: string, pairs: [string, string][]) =>
    createHmac('sha1', authToken)
      .update(signedUrl + [...pairs].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => k + v).join(''))
      .digest('base64');

  it('accepts a form callback signed over the URL and the sorted parameters, and names its call', () => {
    const calls = verifyTwilioPush({ authToken }, request(url, { 'X-Twilio-Signature': sign(url, params) }, form));
    expect(calls).toEqual([{ key: 'CA0123456789abcdef0123456789abcdef', startedAt: null }]);
  });

  it('accepts the URL signed with or without its default port, as Twilio\'s validators do', () => {
    const withPort = 'https://switchboard.example.com:443/providers/twilio/default/events';
    expect(verifyTwilioPush({ authToken }, request(url, { 'x-twilio-signature': sign(withPort, params) }, form))).toHaveLength(1);
    expect(verifyTwilioPush({ authToken }, request(withPort, { 'x-twilio-signature': sign(url, params) }, form))).toHaveLength(1);
  });

  it('accepts a JSON body through bodySHA256 in the signed URL (no parameters appended)', () => {
    const body = JSON.stringify({ CallSid: 'CAjson', CallStatus: 'ringing' });
    const signedUrl = `${url}?bodySHA256=${createHash('sha256').update(body).digest('hex')}`;
    const calls = verifyTwilioPush({ authToken }, request(signedUrl, { 'x-twilio-signature': sign(signedUrl, []) }, body));
    expect(calls).toEqual([{ key: 'CAjson', startedAt: null }]);
    // The same signed URL with another body: its hash does not match.
    expect(refusal(() => verifyTwilioPush({ authToken }, request(signedUrl, { 'x-twilio-signature': sign(signedUrl, []) }, body.replace('ringing', 'completed')))).code).toBe('PUSH_UNVERIFIED');
  });

  it.each([
    ['no signature', {}, form, url],
    ['another key\'s signature', { 'x-twilio-signature': createHmac('sha1', 'other').update(url).digest('base64') }, form, url],
    ['a changed parameter', { 'x-twilio-signature': sign(url, params) }, form.replace('completed', 'in-progress'), url],
    ['another connection\'s URL (a callback replayed elsewhere)', { 'x-twilio-signature': sign(url, params) }, form, url.replace('/default/', '/other/')],
  ])('refuses %s with 401 PUSH_UNVERIFIED', (_case, headers, body, at) => {
    expect(refusal(() => verifyTwilioPush({ authToken }, request(at, headers as Record<string, string>, body)))).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
  });

  it('refuses every push when the connection has no Auth Token (an API key pair only), naming the setting', () => {
    const r = refusal(() => verifyTwilioPush({}, request(url, { 'x-twilio-signature': sign(url, params) }, form)));
    expect(r).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
    expect(r.message).toContain('TWILIO_AUTH_TOKEN');
  });

  it('answers 400 for a verified callback without a CallSid, and never echoes a secret', () => {
    const bare: [string, string][] = [['CallStatus', 'completed']];
    const r = refusal(() => verifyTwilioPush({ authToken }, request(url, { 'x-twilio-signature': sign(url, bare) }, new URLSearchParams(bare).toString())));
    expect(r).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(r.message).not.toContain(authToken);
  });
});

describe('Vapi server messages', () => {
  const secret = 'vapi-server-secret';
  const url = 'https://switchboard.example.com/providers/vapi/default/events';
  const body = JSON.stringify({ message: { type: 'end-of-call-report', endedReason: 'customer-ended-call', call: { id: 'call-1', startedAt: '2026-11-30T02:58:00.000Z' } } });
  const hmac = { webhookSecret: secret, webhookAuth: 'hmac' as const };
  const signed = (timestamp: string, raw = body, key = secret) => ({
    'x-timestamp': timestamp,
    'x-signature': createHmac('sha256', key).update(`${timestamp}.${raw}`).digest('hex'),
  });

  it('accepts an HMAC-signed message and names its call with its start', () => {
    expect(verifyVapiPush(hmac, request(url, signed(String(NOW)), body))).toEqual([{ key: 'call-1', startedAt: new Date('2026-11-30T02:58:00.000Z') }]);
    // A timestamp in seconds reads too.
    expect(verifyVapiPush(hmac, request(url, signed(String(NOW / 1000)), body))).toHaveLength(1);
  });

  it('accepts a status-update, and a verified message of another type as about no call', () => {
    const update = JSON.stringify({ message: { type: 'status-update', status: 'in-progress', call: { id: 'call-2', createdAt: '2026-11-30T02:59:00.000Z' } } });
    expect(verifyVapiPush(hmac, request(url, signed(String(NOW), update), update))).toEqual([{ key: 'call-2', startedAt: new Date('2026-11-30T02:59:00.000Z') }]);
    const transcript = JSON.stringify({ message: { type: 'transcript', call: { id: 'call-2' } } });
    expect(verifyVapiPush(hmac, request(url, signed(String(NOW), transcript), transcript))).toEqual([]);
  });

  it.each([
    ['no signature', {}],
    ['another key\'s signature', signed(String(NOW), body, 'other')],
    ['a signature of another body', signed(String(NOW), body.replace('call-1', 'call-9'))],
    ['a timestamp changed after signing', { ...signed(String(NOW)), 'x-timestamp': String(NOW + 1) }],
  ])('refuses %s with 401 PUSH_UNVERIFIED', (_case, headers) => {
    expect(refusal(() => verifyVapiPush(hmac, request(url, headers as Record<string, string>, body)))).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
  });

  it('refuses a message signed over 5 minutes ago or ahead (stale, or a replay) with 401 PUSH_EXPIRED, and takes one inside', () => {
    expect(refusal(() => verifyVapiPush(hmac, request(url, signed(String(NOW - 5 * 60_000 - 1)), body)))).toMatchObject({ status: 401, code: 'PUSH_EXPIRED' });
    expect(refusal(() => verifyVapiPush(hmac, request(url, signed(String(NOW + 5 * 60_000 + 1)), body)))).toMatchObject({ status: 401, code: 'PUSH_EXPIRED' });
    expect(verifyVapiPush(hmac, request(url, signed(String(NOW - 5 * 60_000)), body))).toHaveLength(1);
  });

  it('with bearer (the default) takes the secret as Authorization: Bearer or X-Vapi-Secret, and nothing else', () => {
    const bearer = { webhookSecret: secret };
    expect(verifyVapiPush(bearer, request(url, { authorization: `Bearer ${secret}` }, body))).toHaveLength(1);
    expect(verifyVapiPush(bearer, request(url, { 'x-vapi-secret': secret }, body))).toHaveLength(1);
    for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-vapi-secret': `${secret}x` }, signed(String(NOW))] as Record<string, string>[]) {
      expect(refusal(() => verifyVapiPush(bearer, request(url, headers, body)))).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
    }
  });

  it('refuses every push when no webhookSecret is configured, naming the variable', () => {
    expect(refusal(() => verifyVapiPush({}, request(url, { authorization: 'Bearer x' }, body))).message).toContain('VAPI_WEBHOOK_SECRET');
  });

  it('answers 400 for a verified body that is not JSON or names no call', () => {
    for (const raw of ['not json', JSON.stringify({ message: { type: 'status-update', call: {} } })]) {
      expect(refusal(() => verifyVapiPush(hmac, request(url, signed(String(NOW), raw), raw)))).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    }
  });
});

describe('Retell webhooks (x-retell-signature)', () => {
  const apiKey = 'key_retell_webhook_badge';
  const url = 'https://switchboard.example.com/providers/retell/default/events';
  const body = JSON.stringify({ event: 'call_ended', call: { call_id: 'retell-call-1', start_timestamp: NOW - 60_000, call_status: 'ended' } });
  const header = (timestamp: number, raw = body, key = apiKey) => ({
    'x-retell-signature': `v=${timestamp},d=${createHmac('sha256', key).update(raw + String(timestamp)).digest('hex')}`,
  });

  it.each(['call_started', 'call_ended', 'call_analyzed'])('accepts a signed %s and names its call with its start', (event) => {
    const raw = body.replace('call_ended', event);
    expect(verifyRetellPush({ apiKey }, request(url, header(NOW, raw), raw))).toEqual([{ key: 'retell-call-1', startedAt: new Date(NOW - 60_000) }]);
  });

  it('verifies the raw bytes: the same JSON re-serialised (other spacing) does not verify', () => {
    const spaced = JSON.stringify(JSON.parse(body), null, 2);
    expect(refusal(() => verifyRetellPush({ apiKey }, request(url, header(NOW), spaced)))).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
  });

  it('takes a verified event about a call without start_timestamp (registered, not in the list yet) as about none', () => {
    const raw = JSON.stringify({ event: 'call_started', call: { call_id: 'retell-registered', call_status: 'registered' } });
    expect(verifyRetellPush({ apiKey }, request(url, header(NOW, raw), raw))).toEqual([]);
  });

  it('takes a verified event about no call\'s status as about none', () => {
    const raw = JSON.stringify({ event: 'transcript_updated', call: { call_id: 'retell-call-1' } });
    expect(verifyRetellPush({ apiKey }, request(url, header(NOW, raw), raw))).toEqual([]);
  });

  it.each([
    ['no signature', {}],
    ['a malformed header', { 'x-retell-signature': 'sha256=abc' }],
    ['another key\'s signature', header(NOW, body, 'other')],
    ['a timestamp changed after signing', { 'x-retell-signature': header(NOW)['x-retell-signature'].replace(`v=${NOW}`, `v=${NOW + 1}`) }],
  ])('refuses %s with 401 PUSH_UNVERIFIED', (_case, headers) => {
    expect(refusal(() => verifyRetellPush({ apiKey }, request(url, headers as Record<string, string>, body)))).toMatchObject({ status: 401, code: 'PUSH_UNVERIFIED' });
  });

  it('refuses a signature over 5 minutes old or ahead (stale, or a replay) with 401 PUSH_EXPIRED', () => {
    expect(refusal(() => verifyRetellPush({ apiKey }, request(url, header(NOW - 5 * 60_000 - 1), body)))).toMatchObject({ status: 401, code: 'PUSH_EXPIRED' });
    expect(refusal(() => verifyRetellPush({ apiKey }, request(url, header(NOW + 5 * 60_000 + 1), body)))).toMatchObject({ status: 401, code: 'PUSH_EXPIRED' });
    expect(verifyRetellPush({ apiKey }, request(url, header(NOW - 5 * 60_000), body))).toHaveLength(1);
  });

  it('answers 400 for a verified call event without a call_id', () => {
    const raw = JSON.stringify({ event: 'call_started', call: {} });
    expect(refusal(() => verifyRetellPush({ apiKey }, request(url, header(NOW, raw), raw)))).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
  });
});
