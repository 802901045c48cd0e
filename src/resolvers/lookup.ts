/** Calls by global id, for `call`, `node`, `nodes` and federation's `_entities`. */
import type { RequestContext } from '../context.js';
import { decodeCallId } from '../calls/ids.js';
import type { CallRecord } from '../calls/model.js';

export const MAX_IDS = 500;

/**
 * The call an id names, or null when no connection this client may see knows it. Another tenant's
 * id answers exactly like a missing one, and its provider receives no request.
 */
export async function findCall(
  id: string,
  ctx: RequestContext,
  argument: string,
): Promise<CallRecord | null> {
  const ref = decodeCallId(id, argument);
  const connection = ctx.connection(ref);
  if (!connection) return null;
  // An upstream failure rejects this field alone; the formatter names the provider and connection.
  return ctx.loaders.call(connection, { key: ref.key, startedAt: ref.startedAt });
}
