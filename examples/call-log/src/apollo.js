import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';

/**
 * `calls` is a Relay-style connection: relayStylePagination appends each page fetched with
 * `after: endCursor` to the cached list. `filter` is its key argument, so each filter keeps its own
 * list and `first`/`after` are left to the pagination policy.
 */
export function createClient(uri = '/graphql') {
  return new ApolloClient({
    link: new HttpLink({ uri }),
    cache: new InMemoryCache({
      typePolicies: {
        Query: { fields: { calls: relayStylePagination(['filter']) } },
      },
    }),
  });
}
