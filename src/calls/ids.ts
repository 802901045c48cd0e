/**
 * Global ids. An id carries the provider, the connection, the call's key and when it started — the
 * start time is what finds id-less Unpod rows again (a narrow date-window query), and is cheap for
 * the others. Ids are opaque to clients but not secret: access is checked against the caller's
 * connections whenever one is resolved. An id is accepted only in the exact spelling
 * `encodeCallId` gives (canonical base64url of canonical JSON), so one call has one id.
 */
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { decodeBase64Url } from './base64url.js';
import { PROVIDERS, type CallRecord, type ConnectionRef } from './model.js';
import type { CallLocator } from './adapter.js';

const TYPE = 'Call';

const idSchema = z.tuple([
  z.literal(TYPE),
  z.enum(PROVIDERS as [string, ...string[]]),
  z.string().min(1).max(200),
  z.string().min(1).max(500),
  // Milliseconds a Date can hold (ECMA-262 §21.4.1.22 TimeClip).
  z.number().int().min(-8.64e15).max(8.64e15),
]);

export interface CallId extends ConnectionRef, CallLocator {}

/** `Call.id`: base64url of `["Call", provider, connection, key, startedAt ms]`. */
export function encodeCallId(call: CallRecord): string {
  return encode(call.provider, call.connection, call.key, call.startedAt.getTime());
}

function encode(provider: string, connection: string, key: string, startedAt: number): string {
  return Buffer.from(JSON.stringify([TYPE, provider, connection, key, startedAt])).toString('base64url');
}

/** Decodes an id, or throws BAD_USER_INPUT naming `argument` when it is not one Switchboard made. */
export function decodeCallId(id: string, argument = 'id'): CallId {
  let parsed: z.infer<typeof idSchema> | undefined;
  // Federation representations are untyped JSON: the id may be missing or not a string.
  const bytes = typeof id === 'string' && id.length <= 1200 ? decodeBase64Url(id) : null;
  if (bytes) {
    try {
      const result = idSchema.safeParse(JSON.parse(bytes.toString('utf8')));
      // Re-encoded, it must be the id given: other JSON spellings of the same tuple (spaces,
      // escapes, 1.0e3) or bytes that are not UTF-8 would be a second id for one call.
      if (result.success) {
        const [, provider, connection, key, startedAt] = result.data;
        if (encode(provider, connection, key, startedAt) === id) parsed = result.data;
      }
    } catch {
      parsed = undefined;
    }
  }
  if (!parsed) {
    throw new BadInputError(argument, 'is not a call id issued by Switchboard (use Call.id as given)');
  }
  const [, provider, connection, key, startedAt] = parsed;
  return {
    provider: provider as CallId['provider'],
    connection,
    key,
    startedAt: new Date(startedAt),
  };
}
