/**
 * Global ids. An id carries the provider, the connection, the call's key and when it started — the
 * start time is what finds id-less Unpod rows again (a narrow date-window query), and is cheap for
 * the others. Ids are opaque to clients but not secret: access is checked against the caller's
 * connections whenever one is resolved.
 */
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { PROVIDERS, type CallRecord, type ConnectionRef } from './model.js';
import type { CallLocator } from '../providers/provider.js';

const TYPE = 'Call';

const idSchema = z.tuple([
  z.literal(TYPE),
  z.enum(PROVIDERS as [string, ...string[]]),
  z.string().min(1).max(200),
  z.string().min(1).max(500),
  z.number().int(),
]);

export interface CallId extends ConnectionRef, CallLocator {}

export function encodeCallId(call: CallRecord): string {
  return Buffer.from(
    JSON.stringify([TYPE, call.provider, call.connection, call.key, call.startedAt.getTime()]),
  ).toString('base64url');
}

/** Decodes an id, or throws BAD_USER_INPUT naming `argument` when it is not one Switchboard made. */
export function decodeCallId(id: string, argument = 'id'): CallId {
  let parsed: z.infer<typeof idSchema> | undefined;
  // Federation representations are untyped JSON: the id may be missing or not a string.
  if (typeof id === 'string' && id.length <= 1200 && /^[A-Za-z0-9_-]+$/.test(id)) {
    try {
      const result = idSchema.safeParse(JSON.parse(Buffer.from(id, 'base64url').toString('utf8')));
      if (result.success) parsed = result.data;
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
