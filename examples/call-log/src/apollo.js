import { ApolloClient, HttpLink, InMemoryCache, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities';
import { createClient as createWsClient } from 'graphql-ws';

/** `ws://host/graphql` (or `wss:`) for a path on the page's own origin, as the queries use. */
function webSocketUrl(uri) {
  const url = new URL(uri, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

const isSubscription = ({ query }) => {
  const definition = getMainDefinition(query);
  return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
};

/**
 * Queries go over HTTP, subscriptions over graphql-ws on the same `/graphql` (docs/live.md,
 * "Clients"); graphql-ws reconnects by itself after a dropped connection.
 *
 * `calls` is a Relay-style connection: relayStylePagination appends each page fetched with
 * `after: endCursor` to the cached list. `filter` is its key argument, so each filter keeps its own
 * list and `first`/`after` are left to the pagination policy.
 */
export function createClient(uri = '/graphql') {
  return new ApolloClient({
    link: split(isSubscription, new GraphQLWsLink(createWsClient({ url: webSocketUrl(uri) })), new HttpLink({ uri })),
    cache: new InMemoryCache({
      typePolicies: {
        Query: { fields: { calls: relayStylePagination(['filter']) } },
      },
    }),
  });
}
