import type { Resolvers } from '../__generated__/resolvers-types.js';
import { Call, Node } from './Call.js';
import { CallConnection } from './CallConnection.js';
import { Query } from './Query.js';
import { Subscription } from './Subscription.js';
import { DateTime, JSONScalar } from './scalars.js';

export const resolvers: Resolvers = {
  Query,
  Subscription,
  Call,
  Node,
  CallConnection,
  DateTime,
  JSON: JSONScalar,
};
