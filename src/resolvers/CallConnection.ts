import type { CallConnectionResolvers } from '../__generated__/resolvers-types.js';

export const CallConnection: CallConnectionResolvers = {
  // Counting may cost a request per connection: only when the query selects it.
  totalCount: (page) => page.totalCount(),
};
