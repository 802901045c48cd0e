import { type GraphQLResolveInfo, responsePathAsArray } from 'graphql';
import type { CallResolvers, NodeResolvers } from '../__generated__/resolvers-types.js';
import { encodeCallId } from '../calls/ids.js';
import { findCall } from './lookup.js';
import type { CallDetails, CallRecord } from '../calls/model.js';
import type { RequestContext } from '../context.js';
import { InvalidRowError, UpstreamError } from '../errors.js';

/** Detail-only fields: from the row when it has them, else one batched detail request per call. */
async function details(call: CallRecord, ctx: RequestContext): Promise<CallDetails> {
  if (call.details) return call.details;
  const connection = ctx.connection(call);
  if (!connection) throw new Error(`connection of ${call.provider}/${call.connection} is not visible`);
  return ctx.loaders.details(connection, call);
}

/**
 * `recordings` is `[MediaLink!]!` (the contract), and so is every field above it up to `calls`: a
 * failed (or unreadable) detail request thrown from here would null the whole page. Like a failed
 * connection in `calls`, the failure is reported beside the data at this field's path, and the
 * field answers `[]`.
 */
async function recordings(call: CallRecord, ctx: RequestContext, info: GraphQLResolveInfo) {
  try {
    if (call.details?.recordings) return call.details.recordings;
    // Left to the detail request (Twilio's Recordings): asked now that the field is selected.
    return (await details(call.details ? { ...call, details: null } : call, ctx)).recordings ?? [];
  } catch (error) {
    if (!(error instanceof UpstreamError || error instanceof InvalidRowError)) throw error;
    ctx.upstreamFailures.push({ error, path: responsePathAsArray(info.path) });
    return [];
  }
}

/**
 * `transcriptText`: from the details when they hold it. A row whose details leave it undefined
 * (Retell list items carry every detail field but the transcript) has it from the adapter's detail
 * request, where the adapter has one; providers without one have no text: null.
 */
async function transcriptText(call: CallRecord, ctx: RequestContext): Promise<string | null> {
  if (!call.details) return (await details(call, ctx)).transcriptText ?? null;
  if (call.details.transcriptText !== undefined) return call.details.transcriptText;
  const connection = ctx.connection(call);
  if (!connection?.adapter.getDetails) return null;
  return (await ctx.loaders.details(connection, { ...call, details: null })).transcriptText ?? null;
}

export const Call: CallResolvers = {
  __resolveReference: (reference, ctx) => findCall(reference.id, ctx, 'representations.id'),
  id: (call) => encodeCallId(call),
  billedDurationSeconds: async (call, _args, ctx) => (await details(call, ctx)).billedDurationSeconds,
  recordings: (call, _args, ctx, info) => recordings(call, ctx, info),
  transcript: async (call, _args, ctx) => (await details(call, ctx)).transcript,
  transcriptText: (call, _args, ctx) => transcriptText(call, ctx),
  inputParameters: async (call, _args, ctx) => (await details(call, ctx)).inputParameters ?? null,
  outputParameters: async (call, _args, ctx) => (await details(call, ctx)).outputParameters ?? null,
};

export const Node: NodeResolvers = {
  __resolveType: () => 'Call',
};
