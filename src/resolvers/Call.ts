import type { CallResolvers, NodeResolvers } from '../__generated__/resolvers-types.js';
import { encodeCallId } from '../calls/ids.js';
import { findCall } from '../calls/lookup.js';
import type { CallDetails, CallRecord } from '../calls/model.js';
import type { RequestContext } from '../context.js';

/** Detail-only fields: from the row when it has them, else one batched detail request per call. */
async function details(call: CallRecord, ctx: RequestContext): Promise<CallDetails> {
  if (call.details) return call.details;
  const connection = ctx.connection(call);
  if (!connection) throw new Error(`connection of ${call.provider}/${call.connection} is not visible`);
  return ctx.loaders.details(connection, call);
}

export const Call: CallResolvers = {
  __resolveReference: (reference, ctx) => findCall(reference.id, ctx, 'representations.id'),
  id: (call) => encodeCallId(call),
  billedDurationSeconds: async (call, _args, ctx) => (await details(call, ctx)).billedDurationSeconds,
  recordings: async (call, _args, ctx) => (await details(call, ctx)).recordings,
  transcript: async (call, _args, ctx) => (await details(call, ctx)).transcript,
  inputParameters: async (call, _args, ctx) => (await details(call, ctx)).inputParameters ?? null,
  outputParameters: async (call, _args, ctx) => (await details(call, ctx)).outputParameters ?? null,
};

export const Node: NodeResolvers = {
  __resolveType: () => 'Call',
};
