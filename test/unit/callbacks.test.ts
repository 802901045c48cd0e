/**
 * The callback protocol's allowlist (src/live/callbacks.ts): which callback URLs a router may name.
 * The integration side (messages, heartbeats, drain) is test/integration/subscriptionCallbacks.test.ts.
 */
import { heartbeatPeriodMs, isAllowedCallbackUrl, readCallbackRequest } from '../../src/live/callbacks.js';
import { HttpError } from '../../src/graphqlOverHttp.js';

const allowed = ['http://router:4000/callback', 'https://router.example'];
const allows = (url: string) => isAllowedCallbackUrl(new URL(url), allowed);

describe('isAllowedCallbackUrl', () => {
  it.each([
    'http://router:4000/callback',
    'http://router:4000/callback/',
    'http://router:4000/callback/c4a9d1b8-dc57-44ab-9e5a-6e6189b2b945',
    'http://ROUTER:4000/callback/x?y=1',
    'https://router.example/anything/below',
    'https://router.example:443/x',
  ])('allows %s', (url) => {
    expect(allows(url)).toBe(true);
  });

  it.each([
    ['another host', 'http://elsewhere:4000/callback/1'],
    ['another port', 'http://router:40001/callback/1'],
    ['another scheme', 'https://router:4000/callback/1'],
    ['a path beside the prefix', 'http://router:4000/callbackX/1'],
    ['a path out of the prefix by ..', 'http://router:4000/callback/../admin'],
    ['a path out of the prefix by %2e%2e', 'http://router:4000/callback/%2e%2e/admin'],
    ['a host that merely starts like an allowed one', 'https://router.example.evil.test/x'],
    ['credentials', 'http://user:pass@router:4000/callback/1'],
    ['the default port of the other scheme', 'http://router.example/x'],
  ])('refuses %s', (_what, url) => {
    expect(allows(url)).toBe(false);
  });
});

describe('readCallbackRequest', () => {
  const settings = { urls: allowed };
  const refusal = (extension: unknown, urls = allowed) => {
    try {
      readCallbackRequest(extension, { ...settings, urls });
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      return { status: (error as HttpError).status, code: (error as HttpError).code, message: (error as HttpError).message };
    }
    throw new Error('accepted');
  };
  const valid = { callbackUrl: 'http://router:4000/callback/1', subscriptionId: '1', verifier: 'v' };

  it('sends heartbeats every four fifths of the interval asked for, so each arrives within it', () => {
    expect(heartbeatPeriodMs(5000)).toBe(4000);
    expect(heartbeatPeriodMs(100)).toBe(80);
  });

  it('reads the extension; the heartbeat defaults to 5 s, 0 turns it off', () => {
    expect(readCallbackRequest(valid, settings)).toEqual({ callbackUrl: new URL(valid.callbackUrl), subscriptionId: '1', verifier: 'v', heartbeatIntervalMs: 5000 });
    expect(readCallbackRequest({ ...valid, heartbeatIntervalMs: 0 }, settings).heartbeatIntervalMs).toBe(0);
  });

  it('refuses everything while no URL is allowed (callbacks off), before reading the rest', () => {
    expect(refusal(valid, [])).toEqual({ status: 403, code: 'CALLBACK_URL_NOT_ALLOWED', message: expect.stringMatching(/are off/) });
    expect(refusal('nonsense', [])).toEqual(expect.objectContaining({ code: 'CALLBACK_URL_NOT_ALLOWED' }));
  });

  it.each([
    ['not an object', 'x', /extensions\.subscription must be an object/],
    ['no callbackUrl', { ...valid, callbackUrl: undefined }, /callbackUrl must be an absolute URL/],
    ['an empty verifier', { ...valid, verifier: '' }, /verifier must be a string/],
    ['a numeric subscriptionId', { ...valid, subscriptionId: 1 }, /subscriptionId must be a string/],
    ['a fractional heartbeat', { ...valid, heartbeatIntervalMs: 1.5 }, /heartbeatIntervalMs must be 0/],
    ['a heartbeat as a string', { ...valid, heartbeatIntervalMs: '5000' }, /heartbeatIntervalMs must be 0/],
  ])('refuses %s with 400 BAD_REQUEST', (_what, extension, message) => {
    expect(refusal(extension)).toEqual({ status: 400, code: 'BAD_REQUEST', message: expect.stringMatching(message) });
  });

  it('refuses a URL outside the allowlist without echoing it', () => {
    const refused = refusal({ ...valid, callbackUrl: 'http://169.254.169.254/latest/meta-data' });
    expect(refused).toEqual({ status: 403, code: 'CALLBACK_URL_NOT_ALLOWED', message: expect.stringMatching(/not under a callback URL this server allows/) });
    expect(refused.message).not.toMatch(/169\.254/);
  });
});
