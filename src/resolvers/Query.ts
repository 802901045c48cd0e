import { responsePathAsArray } from 'graphql';
import type { QueryResolvers } from '../__generated__/resolvers-types.js';
import { callsPage } from './callsPage.js';
import { selects } from './selection.js';
import { MAX_IDS, findCall } from './lookup.js';
import type { CallRecord } from '../calls/model.js';
import { BadInputError } from '../errors.js';

export const Query: QueryResolvers = {
  calls: (_root, args, ctx, info) =>
    callsPage(args, ctx, { countTotal: selects(info, 'totalCount'), path: responsePathAsArray(info.path) }),
  call: (_root, { id }, ctx) => findCall(id, ctx, 'id'),
  node: (_root, { id }, ctx) => findCall(id, ctx, 'id'),
  nodes: (_root, { ids }, ctx) => {
    if (ids.length > MAX_IDS) throw new BadInputError('ids', `at most ${MAX_IDS} ids, got ${ids.length}`);
    // Each id resolves (or fails) on its own: a bad or unreachable one is null with its own error.
    // (The generated wrapper type has no slot for a nullable item promise; GraphQL resolves each.)
    return ids.map((id, i) => findCall(id, ctx, `ids[${i}]`)) as unknown as Promise<CallRecord>[];
  },
};
