/**
 * What every provider's push verifier (src/providers/<provider>/push.ts) shares: comparing a secret
 * in constant time, the refusals, and reading a JSON body.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ErrorCode, PushRefusedError } from '../errors.js';
import { utf8Text } from '../readCapped.js';

/**
 * Whether `given` equals `expected`, in time independent of where they differ: both are hashed
 * first, so their lengths (which timingSafeEqual needs equal) tell nothing either.
 */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** 401 PUSH_UNVERIFIED: `what` names the missing or wrong header, never its value. */
export const unverified = (what: string): PushRefusedError => new PushRefusedError(401, ErrorCode.PushUnverified, what);

/** 401 PUSH_EXPIRED: the signed timestamp is `ageMs` away from now, past `toleranceMs`. */
export const expired = (ageMs: number, toleranceMs: number): PushRefusedError =>
  new PushRefusedError(401, ErrorCode.PushExpired, `The push's signed timestamp is ${Math.round(ageMs / 1000)} s from now, past the ${toleranceMs / 1000} s tolerated: a replay, or a clock far off`);

/** 400 BAD_REQUEST for a verified body that does not read as the provider documents it. */
export const unreadable = (what: string): PushRefusedError => new PushRefusedError(400, ErrorCode.BadRequest, `The push does not read: ${what}`);

/**
 * A verified JSON body as an object; 400 when it is not one. A leading byte order mark is ignored,
 * as in every body the project reads (`utf8Text`); signatures are checked before, on the raw bytes
 * as the provider sent them.
 */
export function jsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Text(body));
  } catch {
    throw unreadable('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw unreadable('the body is not a JSON object');
  return value as Record<string, unknown>;
}

/** `value[name]` when it is a non-empty string, else undefined. */
export const stringField = (value: unknown, name: string): string | undefined => {
  const field = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  return typeof field === 'string' && field !== '' ? field : undefined;
};

/** The signed timestamp `ms` checked against `now`: throws PUSH_EXPIRED past `toleranceMs` either way. */
export function checkTimestamp(ms: number, now: number, toleranceMs: number): void {
  if (Math.abs(now - ms) > toleranceMs) throw expired(Math.abs(now - ms), toleranceMs);
}
