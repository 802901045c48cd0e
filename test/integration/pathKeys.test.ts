/**
 * Call keys that are, or spell, path segments (`..`, `.`, `%2e%2e`, `a/../b`): a crafted `Call.id`
 * carries any key, and adapters that put a key into a URL path (Retell's get-call, Vapi's call and
 * phone-number, Twilio's Calls) must not let URL parsing resolve it into another path. Through
 * call, node, nodes and _entities over HTTP, every provider answers such a key as a call that does
 * not exist (null, no error), and every request its simulator saw is one of its look-up paths.
 */
import type { Provider } from '../../src/calls/model.js';
import { PROVIDERS } from '../../src/calls/model.js';
import type { RecordedRequest } from '../../src/simulation/harness.js';
import { startSimulators } from '../../src/demo.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ sims: () => startSimulators({ count: 20 }) });
});

afterAll(async () => {
  await h?.stop();
});

/** The only paths a look-up by key may request, per provider (its adapter's client.ts). */
const LOOKUP_PATHS: Record<Provider, RegExp> = {
  TWENTY2: /^\/call\/(?:detail|logs)$/,
  UNPOD: /^\/call-logs\/$/,
  CINNOX: /^\/apps\/[^/]+\/data\/call-log$/,
  TALKSTACK: /^\/call(?:\/get-call-history)?$/,
  TWILIO: /^\/2010-04-01\/Accounts\/[^/]+\/Calls\/CA[0-9a-fA-F]{32}\.json$/,
  VAPI: /^\/(?:call|phone-number)\/[^/]+$/,
  RETELL: /^\/v2\/get-call\/[^/]+$/,
};

/** Providers whose look-up puts the key into the URL path. */
const PATH_KEYED: readonly Provider[] = ['TWILIO', 'VAPI', 'RETELL'];

const KEYS = ['..', '.', '%2e%2e', '.%2e', '%2E.', 'a/../b', '../calls', '..\\..', './', '..%2f..'];

/** A well-formed id (as Switchboard encodes one) for `key` at a connection that exists. */
const idOf = (provider: Provider, key: string) =>
  Buffer.from(JSON.stringify(['Call', provider, 'default', key, Date.UTC(2026, 10, 1, 12)])).toString('base64url');

const ENTRY_POINTS = {
  call: { query: 'query($id: ID!) { call(id: $id) { id } }', variables: (id: string) => ({ id }), answer: (data: any) => data.call },
  node: { query: 'query($id: ID!) { node(id: $id) { id } }', variables: (id: string) => ({ id }), answer: (data: any) => data.node },
  nodes: { query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: (id: string) => ({ ids: [id] }), answer: (data: any) => data.nodes[0] },
  _entities: {
    query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }',
    variables: (id: string) => ({ r: [{ __typename: 'Call', id }] }),
    answer: (data: any) => data._entities[0],
  },
} as const;

const simOf = (provider: Provider) => (h.sims as unknown as Record<string, { server: { requests: RecordedRequest[] } }>)[provider.toLowerCase()]!;

describe.each(PROVIDERS.map((p) => [p]))('%s', (provider) => {
  it.each(Object.keys(ENTRY_POINTS) as (keyof typeof ENTRY_POINTS)[])('%s answers keys that spell path segments as no call, requesting only look-up paths', async (entry) => {
    const { query, variables, answer } = ENTRY_POINTS[entry];
    const requests = simOf(provider).server.requests;
    for (const key of KEYS) {
      const before = requests.length;
      const res = await h.gql(query, variables(idOf(provider, key)));
      expect({ key, errors: res.body.errors, answer: answer(res.body.data) }).toEqual({ key, errors: undefined, answer: null });
      const paths = requests.slice(before).map((r) => r.path);
      expect({ key, outside: paths.filter((path) => !LOOKUP_PATHS[provider].test(path)) }).toEqual({ key, outside: [] });
      // Where the key is a path segment, a dot segment is not asked at all.
      if (PATH_KEYED.includes(provider) && (key === '.' || key === '..')) expect({ key, paths }).toEqual({ key, paths: [] });
    }
  });
});

describe('values from upstream rows that spell path segments', () => {
  it("Vapi: a row's phoneNumberId `..` is a number that does not exist, not a request for /", async () => {
    const sim = h.sims.vapi;
    const rows = ['..', '.', '%2e%2e'].map((phoneNumberId) => sim.addCall({ phoneNumberId, phoneNumber: undefined }));
    for (const row of rows) {
      const before = sim.server.requests.length;
      const res = await h.gql('query($id: ID!) { call(id: $id) { providerCallId direction from { phoneNumber } to { phoneNumber } } }', {
        id: idOf('VAPI', row.id),
      });
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.call.providerCallId).toBe(row.id);
      const paths = sim.server.requests.slice(before).map((r) => r.path);
      expect({ phoneNumberId: row.phoneNumberId, outside: paths.filter((path) => !LOOKUP_PATHS.VAPI.test(path)) }).toEqual({ phoneNumberId: row.phoneNumberId, outside: [] });
    }
  });

  it.each(['RETELL', 'VAPI'] as const)('%s: a listed call whose id is `..` or `.` does not read (it could never be looked up)', async (provider) => {
    const sim = provider === 'RETELL' ? h.sims.retell : h.sims.vapi;
    for (const key of ['..', '.']) {
      const row = provider === 'RETELL' ? h.sims.retell.addCall({ call_id: key }) : h.sims.vapi.addCall({ id: key });
      try {
        const before = sim.server.requests.length;
        const res = await h.gql(`{ calls(first: 3, filter: { providers: [${provider}] }) { nodes { providerCallId } } }`);
        expect(res.body.data.calls.nodes.map((n: { providerCallId: string }) => n.providerCallId)).not.toContain(key);
        // Named by its path (the id itself is what did not read), the rest of the page answered.
        expect(res.body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['PROVIDER_DATA_INVALID', expect.stringMatching(/(?:\.call_id|\.id): expected a call id, not \. or \.\.$/)]]);
        expect(res.body.data.calls.nodes).toHaveLength(3);
        expect(sim.server.requests.slice(before).map((r) => r.path).filter((path) => path === '/' || path === '/v2/' || path === '/v2/get-call/')).toEqual([]);
      } finally {
        (sim.rows as unknown[]).splice((sim.rows as unknown[]).indexOf(row), 1);
      }
    }
  });

  it("Twilio: a recording whose uri has a dot segment is data that does not read, never a link elsewhere on Twilio's host", async () => {
    const sim = h.sims.twilio;
    const [sid, list] = [...sim.recordings].find(([, recordings]) => recordings.some((r) => r.status === 'completed' && !r.encryption_details))!;
    const recording = list.find((r) => r.status === 'completed' && !r.encryption_details)!;
    const uri = recording.uri;
    try {
      for (const bad of [`/2010-04-01/../../Accounts/ACother/x.json`, `/2010-04-01/%2e%2e/x.json`, `/2010-04-01/a\\..\\..\\x.json`]) {
        recording.uri = bad;
        const res = await h.gql('query($id: ID!) { call(id: $id) { providerCallId recordings { url } } }', { id: idOf('TWILIO', sid) });
        // The page does not read: no link, and the field's coded error names the call.
        expect(res.body.data?.call?.recordings).toEqual([]);
        expect(res.body.errors?.map((e) => [e.path, e.extensions?.code, e.extensions?.providerCallId])).toEqual([[['call', 'recordings'], 'PROVIDER_DATA_INVALID', sid]]);
      }
    } finally {
      recording.uri = uri;
    }
  });
});
