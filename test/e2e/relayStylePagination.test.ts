/**
 * A real Apollo Client (the call-log example's, with `relayStylePagination`) follows pages the
 * scan budget ended short: `fetchMore` with `after: endCursor` (or `before: startCursor`) until
 * `hasNextPage` (`hasPreviousPage`) is false leaves exactly the filtered list in its cache.
 * The client is the example's dependency (an npm workspace: the root `npm ci` installs it, hoisted).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulators, type Simulators } from '../../src/demo.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls, applyFilter, idsOf } from '../helpers/truth.js';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/call-log');
/** @apollo/client as the example resolves it (hoisted to the root node_modules, or its own). */
const CLIENT = path.dirname(createRequire(path.join(EXAMPLE, 'package.json')).resolve('@apollo/client/package.json'));

let sims: Simulators;
let h: Harness;
let apollo: any;
beforeAll(async () => {
  apollo = {
    ...(await import(`${CLIENT}/core/index.js`)),
    ...(await import(`${CLIENT}/utilities/index.js`)),
  };
  sims = await startSimulators({ count: 120 });
  h = await startHarness({ sims: async () => sims, env: { SWITCHBOARD_SCAN_BUDGET: '1' } });
});
afterAll(() => h?.stop());

const filter = { phoneNumber: SHARED_NUMBERS.india };

function client() {
  const { ApolloClient, InMemoryCache, HttpLink, relayStylePagination } = apollo;
  return new ApolloClient({
    link: new HttpLink({ uri: h.server.url, fetch }),
    cache: new InMemoryCache({ typePolicies: { Query: { fields: { calls: relayStylePagination(['filter']) } } } }),
  });
}

it.each(['forward', 'backward'] as const)('%s: fetchMore over short pages ends with exactly the filtered list', async (direction) => {
  const { gql } = apollo;
  const query = gql`
    query Calls($first: Int, $after: String, $last: Int, $before: String, $filter: CallFilter) {
      calls(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
        edges { cursor node { id } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }
  `;
  const forward = direction === 'forward';
  const variables = forward ? { first: 3, filter } : { last: 3, filter };
  const apolloClient = client();
  let { data } = await apolloClient.query({ query, variables });
  // The list as a component holds it: a watch on the cache, grown by fetchMore.
  const watched = apolloClient.watchQuery({ query, variables, fetchPolicy: 'cache-only' });
  const subscription = watched.subscribe({});
  let fetches = 0;
  let shortPages = 0;
  while (forward ? data.calls.pageInfo.hasNextPage : data.calls.pageInfo.hasPreviousPage) {
    const before = data.calls.edges.length;
    const more = await watched.fetchMore({
      variables: forward ? { after: data.calls.pageInfo.endCursor } : { before: data.calls.pageInfo.startCursor },
    });
    if (more.data.calls.edges.length < 3) shortPages++;
    data = watched.getCurrentResult().data;
    expect(data.calls.edges.length).toBeGreaterThanOrEqual(before);
    if (++fetches > 200) throw new Error('the walk did not end');
  }
  subscription.unsubscribe();
  expect(shortPages).toBeGreaterThan(0); // the budget of 1 did cut pages short
  expect(data.calls.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(idsOf(applyFilter(allCalls(sims), filter)));
}, 60_000);
