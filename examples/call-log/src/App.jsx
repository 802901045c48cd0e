import { gql, NetworkStatus, useQuery } from '@apollo/client';
import { useEffect, useState } from 'react';

export const PAGE_SIZE = 10;

// The schema's Provider enum (schema/call.graphql).
const PROVIDERS = ['TWENTY2', 'UNPOD', 'CINNOX', 'TALKSTACK', 'TWILIO', 'VAPI', 'RETELL'];
const STATUSES = ['QUEUED', 'INITIATED', 'RINGING', 'IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED', 'UNKNOWN'];

/** The fields a row shows: the list and the live events select the same ones. */
const CALL_ROW = gql`
  fragment CallRow on Call {
    id
    provider
    status
    direction
    startedAt
    durationSeconds
    from { phoneNumber rawPhoneNumber displayName }
    to { phoneNumber rawPhoneNumber displayName }
  }
`;

export const CALL_LOG = gql`
  query CallLog($first: Int!, $after: String, $filter: CallFilter) {
    calls(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node { ...CallRow }
      }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
  ${CALL_ROW}
`;

/**
 * Changes to the calls the same filter matches (docs/live.md), over WebSocket (src/apollo.js).
 * Each event's call is written to the cache by id, so a listed row updates in place by itself.
 */
export const CALL_EVENTS = gql`
  subscription CallLogEvents($filter: CallFilter) {
    callEvents(filter: $filter) {
      type
      call { ...CallRow }
    }
  }
  ${CALL_ROW}
`;

/**
 * subscribeToMore's updateQuery: a call the list does not hold yet goes on top (it is new; with a
 * status filter a call may first match on its CALL_ENDED). One already listed is left to the cache
 * (the same id is the same cached Call), so no row is ever shown twice.
 */
export function prependNewCall(previous, { subscriptionData }) {
  const call = subscriptionData.data?.callEvents?.call;
  const connection = previous?.calls;
  if (!call || !connection || connection.edges.some((edge) => edge.node.id === call.id)) return previous;
  return {
    ...previous,
    calls: {
      ...connection,
      // The call's cursor is not sent with events; the page only pages forward, from endCursor.
      edges: [{ __typename: 'CallEdge', cursor: '', node: call }, ...connection.edges],
      totalCount: connection.totalCount == null ? connection.totalCount : connection.totalCount + 1,
    },
  };
}

/** The CallFilter for the selects; empty selects filter nothing. */
function toFilter(provider, status) {
  const filter = {};
  if (provider) filter.providers = [provider];
  if (status) filter.statuses = [status];
  return filter;
}

const party = (p) => p.displayName ?? p.phoneNumber ?? p.rawPhoneNumber ?? '—';
const when = (iso) => new Date(iso).toISOString().replace('T', ' ').slice(0, 19);
const duration = (s) => (s == null ? '—' : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`);

export function App() {
  const [provider, setProvider] = useState('');
  const [status, setStatus] = useState('');
  const filter = toFilter(provider, status);
  const { data, error, loading, fetchMore, networkStatus, subscribeToMore } = useQuery(CALL_LOG, {
    variables: { first: PAGE_SIZE, filter },
    notifyOnNetworkStatusChange: true,
  });
  // New calls arrive live: one subscription per filter, replaced when the selects change.
  useEffect(
    () => subscribeToMore({ document: CALL_EVENTS, variables: { filter: toFilter(provider, status) }, updateQuery: prependNewCall }),
    [subscribeToMore, provider, status],
  );
  const connection = data?.calls;
  const loadingMore = networkStatus === NetworkStatus.fetchMore;

  return (
    <main>
      <header>
        <h1>Call log</h1>
        <div className="filters">
          <label>
            Provider{' '}
            <select aria-label="Provider" value={provider} onChange={(e) => setProvider(e.target.value)}>
              <option value="">All providers</option>
              {PROVIDERS.map((p) => (
                <option key={p} value={p}>{p}</option>
              ))}
            </select>
          </label>
          <label>
            Status{' '}
            <select aria-label="Status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">All statuses</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
      </header>

      {error && <p role="alert" className="error">{error.message}</p>}

      <table>
        <thead>
          <tr>
            <th>Started (UTC)</th><th>Provider</th><th>Status</th><th>Direction</th><th>From</th><th>To</th><th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {connection?.edges.map(({ node }) => (
            <tr key={node.id} data-testid="call-row" data-call-id={node.id}>
              <td>{when(node.startedAt)}</td>
              <td>{node.provider}</td>
              <td><span className={`status status-${node.status.toLowerCase()}`}>{node.status}</span></td>
              <td>{node.direction ?? '—'}</td>
              <td>{party(node.from)}</td>
              <td>{party(node.to)}</td>
              <td>{duration(node.durationSeconds)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <footer>
        <span data-testid="row-count">
          {connection ? `${connection.edges.length} shown${connection.totalCount != null ? ` of ${connection.totalCount}` : ''}` : ''}
        </span>
        {loading && !loadingMore && <span data-testid="loading"> Loading…</span>}
        {connection?.pageInfo.hasNextPage && (
          <button
            type="button"
            disabled={loadingMore}
            onClick={() => fetchMore({ variables: { after: connection.pageInfo.endCursor } })}
          >
            {loadingMore ? 'Loading…' : 'Load more'}
          </button>
        )}
      </footer>
    </main>
  );
}
