/**
 * Dates end to end, over HTTP, with the simulators serving the odd values: a client's DateTime
 * arguments and every provider's date fields go through the one strict module (src/time.ts).
 * Runs in two process time zones (jest.config.js): no answer may depend on the zone.
 */
import { startSimulators } from '../../src/demo.js';
import { startHarness, type GraphQLResponse, type Harness } from '../helpers/switchboard.js';

type Provider = 'TWENTY2' | 'UNPOD' | 'CINNOX' | 'TALKSTACK' | 'TWILIO';
interface Listed {
  id: string;
  providerCallId: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
}

let h: Harness;
/** Undo the data changes of the running test. */
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  h = await startHarness({
    sims: () => startSimulators({ count: 30 }),
    // Refused bodies must not open a breaker for the tests after them.
    configure: (c) => ({ ...c, http: { ...c.http, breakerThreshold: 1000 } }),
  });
});
afterAll(() => h.stop());
afterEach(() => {
  while (cleanups.length > 0) cleanups.pop()!();
  h.resetCounters();
});

/** Adds `row` to `rows` for the current test only. */
function removeAfterTest<T>(rows: T[], row: T): T {
  cleanups.push(() => {
    const at = rows.indexOf(row);
    if (at >= 0) rows.splice(at, 1);
  });
  return row;
}

/** Sets `row[key]` for the current test only. */
function setForTest<T, K extends keyof T>(row: T, key: K, value: T[K]): void {
  const before = row[key];
  row[key] = value;
  cleanups.push(() => {
    row[key] = before;
  });
}

const FIELDS = 'id providerCallId startedAt answeredAt endedAt';

/** Every call of one provider (the simulators hold ~30 each, so one page of 100). */
async function listed(provider: Provider): Promise<GraphQLResponse<{ calls: { nodes: Listed[] } }>> {
  return h.gql(`query($p: [Provider!]) { calls(first: 100, filter: { providers: $p }) { nodes { ${FIELDS} } } }`, { p: [provider] });
}

async function byId(id: string): Promise<GraphQLResponse<{ node: Listed | null }>> {
  return h.gql(`query($id: ID!) { node(id: $id) { ... on Call { ${FIELDS} } } }`, { id });
}

const findCall = (res: GraphQLResponse<{ calls: { nodes: Listed[] } }>, providerCallId: string) =>
  res.body.data?.calls.nodes.find((call) => call.providerCallId === providerCallId);

/** The answer carries an error naming `provider` and its connection (the row or the body refused). */
function expectProviderError(res: GraphQLResponse, provider: Provider): void {
  expect(res.status).toBe(200);
  const named = res.body.errors?.filter((e) => e.extensions?.provider === provider) ?? [];
  expect(named.length).toBeGreaterThan(0);
  for (const error of named) {
    expect(error.extensions).toMatchObject({ connection: 'default' });
    expect(['PROVIDER_UNAVAILABLE', 'PROVIDER_DATA_INVALID']).toContain(error.extensions?.code);
  }
}

describe('DateTime arguments', () => {
  const query = 'query($after: DateTime) { calls(first: 5, filter: { startedAfter: $after }) { nodes { id } } }';

  it.each<[string, RegExp]>([
    ['2023-02-29T00:00:00Z', /February 2023 has 28 days/], // was read as 2023-03-01
    ['2024-02-30T00:00:00Z', /February 2024 has 29 days/],
    ['2024-04-31T10:00:00Z', /April 2024 has 30 days/],
    ['2024-12-25T24:00:00Z', /hour 24/],
    ['2016-12-31T23:59:60Z', /leap second/],
    ['2026-11-20T10:00:00', /no UTC offset/], // would depend on the server's zone
    ['2026-11-20', /without a time of day/],
    ['2026-11-20T10:00:00+24:00', /offset/],
    ['20261120T100000Z', /not an ISO 8601/],
  ])('%j is refused naming why, as a variable and as a literal, before any upstream request', async (value, why) => {
    const asVariable = await h.gql(query, { after: value });
    const asLiteral = await h.gql(`{ calls(first: 5, filter: { startedAfter: ${JSON.stringify(value)} }) { nodes { id } } }`);
    // A bad variable is BAD_USER_INPUT; a bad literal fails validation, as every bad literal does.
    for (const [res, code] of [[asVariable, 'BAD_USER_INPUT'], [asLiteral, 'GRAPHQL_VALIDATION_FAILED']] as const) {
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors![0]!.extensions?.code).toBe(code);
      expect(res.body.errors![0]!.message).toMatch(why);
    }
    expect(h.upstreamCount()).toBe(0);
  });

  it('reads every accepted spelling of one instant alike', async () => {
    const spellings = [
      '2026-11-10T00:00:00Z',
      '2026-11-10T00:00:00.000Z',
      '2026-11-10t00:00:00z',
      '2026-11-10 00:00:00Z',
      '2026-11-10T00:00Z',
      '2026-11-10T05:30:00+05:30',
      '2026-11-10T05:30:00+0530',
      '2026-11-09T16:00:00-08:00',
      '2026-11-10T00:00:00-00:00',
    ];
    const pages = await Promise.all(
      spellings.map((after) =>
        h.gql<{ calls: { nodes: { id: string; startedAt: string }[] } }>(
          'query($after: DateTime) { calls(first: 100, filter: { startedAfter: $after }) { nodes { id startedAt } } }',
          { after },
        ),
      ),
    );
    const first = pages[0]!.body.data!.calls.nodes;
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((call) => call.startedAt >= '2026-11-10T00:00:00.000Z')).toBe(true);
    for (const page of pages) {
      expect(page.body.errors).toBeUndefined();
      expect(page.body.data!.calls.nodes).toEqual(first);
    }
  });
});

describe('impossible dates from providers are refused, never rolled over', () => {
  it('Twenty2 started_at "2025-02-29T10:00:00Z": no call on 1 March, an error naming Twenty2', async () => {
    removeAfterTest(h.sims.twenty2.rows, h.sims.twenty2.addCall({ call_id: 'call_leap0000001', started_at: '2025-02-29T10:00:00Z' }));
    const res = await listed('TWENTY2');
    expectProviderError(res, 'TWENTY2');
    expect(JSON.stringify(res.body.data ?? null)).not.toContain('2025-03-01');
  });

  it('Twenty2 ended_at on 30 February: the call, its end unknown (null), not 2 March', async () => {
    removeAfterTest(
      h.sims.twenty2.rows,
      h.sims.twenty2.addCall({ call_id: 'call_leap0000002', started_at: '2026-11-19T09:00:00Z', ended_at: '2026-02-30T09:05:00Z' }),
    );
    const res = await listed('TWENTY2');
    expect(res.body.errors).toBeUndefined();
    expect(findCall(res, 'call_leap0000002')).toMatchObject({ startedAt: '2026-11-19T09:00:00.000Z', endedAt: null });
  });

  it('Twenty2 by id: a detail body whose started_at does not exist is an error naming Twenty2', async () => {
    const row = removeAfterTest(h.sims.twenty2.rows, h.sims.twenty2.addCall({ call_id: 'call_leap0000003' }));
    const id = findCall(await listed('TWENTY2'), 'call_leap0000003')!.id;
    setForTest(row, 'started_at', '2026-02-29T10:00:00Z');
    const res = await byId(id);
    expect(res.body.data?.node).toBeNull();
    expectProviderError(res, 'TWENTY2');
  });

  it('CINNOX callDate on 29 February 2026: refused (Date.parse read it as 1 March)', async () => {
    removeAfterTest(h.sims.cinnox.rows, h.sims.cinnox.addCall({ callID: 'leap-cinnox-1', callDate: '2026-02-29T10:00:00.000Z' }));
    const res = await listed('CINNOX');
    expectProviderError(res, 'CINNOX');
    expect(JSON.stringify(res.body.data ?? null)).not.toContain('2026-03-01');
  });

  it('CINNOX callEndTime on 31 April: the call, its end null', async () => {
    removeAfterTest(
      h.sims.cinnox.rows,
      h.sims.cinnox.addCall({ callID: 'leap-cinnox-2', callDate: '2026-11-19T09:00:00.000Z', callEndTime: '2026-04-31T09:05:00.000Z' }),
    );
    const res = await listed('CINNOX');
    expect(res.body.errors).toBeUndefined();
    expect(findCall(res, 'leap-cinnox-2')).toMatchObject({ startedAt: '2026-11-19T09:00:00.000Z', endedAt: null });
  });

  it('CINNOX by id: a callDate that no longer exists is an error naming CINNOX', async () => {
    const row = removeAfterTest(h.sims.cinnox.rows, h.sims.cinnox.addCall({ callID: 'leap-cinnox-3' }));
    const id = findCall(await listed('CINNOX'), 'leap-cinnox-3')!.id;
    setForTest(row, 'callDate', '2026-02-29T10:00:00.000Z');
    const res = await byId(id);
    expect(res.body.data?.node).toBeNull();
    expectProviderError(res, 'CINNOX');
  });

  it('Unpod creation_time on 29 February 2025 is refused; a start_time on 30 February is null', async () => {
    removeAfterTest(
      h.sims.unpod.rows,
      h.sims.unpod.addCall({ id: 'call_leapunpod01', creation_time: '2026-11-19T09:00:00Z', start_time: '2026-02-30T09:00:05Z' }),
    );
    const ok = await listed('UNPOD');
    expect(ok.body.errors).toBeUndefined();
    expect(findCall(ok, 'call_leapunpod01')).toMatchObject({ startedAt: '2026-11-19T09:00:00.000Z', answeredAt: null });
    removeAfterTest(h.sims.unpod.rows, h.sims.unpod.addCall({ id: 'call_leapunpod02', creation_time: '2025-02-29T10:00:00Z' }));
    const refused = await listed('UNPOD');
    expectProviderError(refused, 'UNPOD');
    expect(JSON.stringify(refused.body.data ?? null)).not.toContain('2025-03-01');
  });

  it('TalkStack "Sun, 29 Feb 2026" is refused', async () => {
    removeAfterTest(h.sims.talkstack.rows, h.sims.talkstack.addCall({ callSid: 'CAleap', date: 'Sun, 29 Feb 2026 10:00:00 +0000' }));
    const res = await listed('TALKSTACK');
    expectProviderError(res, 'TALKSTACK');
    expect(JSON.stringify(res.body.data ?? null)).not.toContain('2026-03-01');
  });
});

describe('Twilio dates: RFC 2822, start_time empty until the call is dialled, day-granular filters', () => {
  const SID = (n: number) => `CA${String(n).padStart(32, '0')}`;

  it('start_time "Sun, 29 Feb 2026" is refused naming Twilio (no call on 1 March); end_time on 31 November is an unknown end (null)', async () => {
    removeAfterTest(h.sims.twilio.rows, h.sims.twilio.addCall({ sid: SID(1), start_time: 'Sun, 29 Feb 2026 10:00:00 +0000' }));
    removeAfterTest(h.sims.twilio.rows, h.sims.twilio.addCall({ sid: SID(2), start_time: 'Thu, 19 Nov 2026 09:00:00 +0000', end_time: 'Tue, 31 Nov 2026 09:05:00 +0000' }));
    const res = await listed('TWILIO');
    expectProviderError(res, 'TWILIO');
    expect(JSON.stringify(res.body.data ?? null)).not.toContain('2026-03-01');
    expect(findCall(res, SID(1))).toBeUndefined();
    expect(findCall(res, SID(2))).toMatchObject({ startedAt: '2026-11-19T09:00:00.000Z', endedAt: null });
  });

  it('a call not dialled yet (empty start_time) is placed at its date_created, in the list and by id (FetchCall)', async () => {
    removeAfterTest(
      h.sims.twilio.rows,
      h.sims.twilio.addCall({ sid: SID(3), status: 'queued', start_time: '', end_time: '', duration: '', price: null, date_created: 'Thu, 19 Nov 2026 20:15:00 +0530' }),
    );
    const list = await listed('TWILIO');
    expect(list.body.errors).toBeUndefined();
    const call = findCall(list, SID(3))!;
    expect(call).toMatchObject({ startedAt: '2026-11-19T14:45:00.000Z', endedAt: null });
    const again = await byId(call.id);
    expect(again.body.errors).toBeUndefined();
    expect(again.body.data?.node).toMatchObject({ providerCallId: SID(3), startedAt: '2026-11-19T14:45:00.000Z' });
  });

  it('by id: a start_time that no longer exists is an error naming Twilio', async () => {
    const row = removeAfterTest(h.sims.twilio.rows, h.sims.twilio.addCall({ sid: SID(4) }));
    const id = findCall(await listed('TWILIO'), SID(4))!.id;
    setForTest(row, 'start_time', 'Sun, 29 Feb 2026 10:00:00 +0000');
    const res = await byId(id);
    expect(res.body.data?.node).toBeNull();
    expectProviderError(res, 'TWILIO');
  });

  it(`a window inside one UTC day asks Twilio for whole UTC days, never the process zone's (here ${process.env.TZ}), and answers exactly`, async () => {
    removeAfterTest(h.sims.twilio.rows, h.sims.twilio.addCall({ sid: SID(5), start_time: 'Thu, 19 Nov 2026 23:59:59 +0000' }));
    removeAfterTest(h.sims.twilio.rows, h.sims.twilio.addCall({ sid: SID(6), start_time: 'Fri, 20 Nov 2026 00:00:00 +0000' }));
    h.resetCounters();
    const res = await h.gql<{ calls: { nodes: { providerCallId: string }[] } }>(
      `{ calls(first: 10, filter: { providers: [TWILIO], startedAfter: "2026-11-20T05:30:00+05:30", startedBefore: "2026-11-19T16:00:01-08:00" }) { nodes { providerCallId } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.calls.nodes.map((n) => n.providerCallId)).toEqual([SID(6)]);
    const asked = h.sims.twilio.server.requests.find((r) => r.path.endsWith('/Calls.json'))!;
    expect(asked.query).toMatchObject({ 'StartTime>': '2026-11-20', 'StartTime<': '2026-11-21' });
  });
});

describe('TalkStack dates: the RFC 5322 grammar real servers emit', () => {
  const forms: [string, string, string][] = [
    ['CAcomment', 'Thu, 19 Nov 2026 14:06:45 +0000 (UTC)', '2026-11-19T14:06:45.000Z'], // the reported one
    ['CAnested', 'Thu, 19 Nov 2026 14:07:45 +0000 (Coordinated (Universal) Time)', '2026-11-19T14:07:45.000Z'],
    ['CAnoweekday', '19 Nov 2026 14:08:45 +0000', '2026-11-19T14:08:45.000Z'],
    ['CAoneday', 'Mon, 9 Nov 2026 14:09:45 +0000', '2026-11-09T14:09:45.000Z'],
    ['CAest', 'Thu, 19 Nov 2026 09:10:45 EST', '2026-11-19T14:10:45.000Z'],
    ['CApdt', 'Thu, 19 Nov 2026 07:11:45 PDT', '2026-11-19T14:11:45.000Z'],
    ['CAgmt', 'Thu, 19 Nov 2026 14:12:45 GMT', '2026-11-19T14:12:45.000Z'],
    ['CAmilitary', 'Thu, 19 Nov 2026 14:13:45 Z', '2026-11-19T14:13:45.000Z'],
    ['CAyear2', 'Thu, 19 Nov 26 14:14:45 +0000', '2026-11-19T14:14:45.000Z'],
    ['CAyear3', 'Thu, 19 Nov 126 14:15:45 +0000', '2026-11-19T14:15:45.000Z'],
    ['CAnoseconds', 'Thu, 19 Nov 2026 14:16 +0000', '2026-11-19T14:16:00.000Z'],
    ['CAfolded', 'Thu, 19 Nov 2026\r\n 14:17:45 +0000', '2026-11-19T14:17:45.000Z'],
    ['CAlower', 'thu, 19 nov 2026 14:18:45 +0000', '2026-11-19T14:18:45.000Z'],
    ['CAoffset', 'Thu, 19 Nov 2026 19:49:45 +0530', '2026-11-19T14:19:45.000Z'],
  ];

  beforeEach(() => {
    for (const [callSid, date] of forms) removeAfterTest(h.sims.talkstack.rows, h.sims.talkstack.addCall({ callSid, date }));
  });

  it('lists every form at its instant, the connection intact', async () => {
    const res = await listed('TALKSTACK');
    expect(res.body.errors).toBeUndefined();
    for (const [callSid, , startedAt] of forms) expect(findCall(res, callSid)?.startedAt).toBe(startedAt);
  });

  it('finds each again by id (POST /call)', async () => {
    const list = await listed('TALKSTACK');
    const answers = await Promise.all(forms.map(([callSid]) => byId(findCall(list, callSid)!.id)));
    answers.forEach((res, i) => {
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data?.node).toMatchObject({ providerCallId: forms[i]![0], startedAt: forms[i]![2] });
    });
  });

  it('refuses a weekday that contradicts the date (19 Nov 2026 is a Thursday)', async () => {
    removeAfterTest(h.sims.talkstack.rows, h.sims.talkstack.addCall({ callSid: 'CAweekday', date: 'Fri, 19 Nov 2026 14:20:45 +0000' }));
    const res = await listed('TALKSTACK');
    expectProviderError(res, 'TALKSTACK');
    expect(findCall(res, 'CAweekday')).toBeUndefined();
  });
});

describe('the process time zone never shows in an answer', () => {
  it(`CINNOX callDate without an offset is read as UTC (here in ${process.env.TZ})`, async () => {
    removeAfterTest(
      h.sims.cinnox.rows,
      h.sims.cinnox.addCall({ callID: 'zoneless-cinnox', callDate: '2026-11-20T10:00:00', callEndTime: '2026-11-20T10:05:00' }),
    );
    const res = await listed('CINNOX');
    expect(res.body.errors).toBeUndefined();
    expect(findCall(res, 'zoneless-cinnox')).toMatchObject({ startedAt: '2026-11-20T10:00:00.000Z', endedAt: '2026-11-20T10:05:00.000Z' });
    // The filter and the provider's own window agree on the instant too.
    const window = await h.gql<{ calls: { nodes: { providerCallId: string }[] } }>(
      `{ calls(first: 10, filter: { providers: [CINNOX], startedAfter: "2026-11-20T10:00:00Z", startedBefore: "2026-11-20T10:00:00.001Z" }) { nodes { providerCallId } } }`,
    );
    expect(window.body.data?.calls.nodes.map((n) => n.providerCallId)).toEqual(['zoneless-cinnox']);
  });

  it('Twenty2 and Unpod instants without an offset are UTC too', async () => {
    removeAfterTest(h.sims.twenty2.rows, h.sims.twenty2.addCall({ call_id: 'call_zoneless01', started_at: '2026-11-19T08:00:00', ended_at: '2026-11-19T08:01:00' }));
    removeAfterTest(h.sims.unpod.rows, h.sims.unpod.addCall({ id: 'call_zonelessup', creation_time: '2026-11-19 08:00:00', start_time: '2026-11-19T08:00:07' }));
    const twenty2 = await listed('TWENTY2');
    expect(findCall(twenty2, 'call_zoneless01')).toMatchObject({ startedAt: '2026-11-19T08:00:00.000Z', endedAt: '2026-11-19T08:01:00.000Z' });
    const unpod = await listed('UNPOD');
    expect(findCall(unpod, 'call_zonelessup')).toMatchObject({ startedAt: '2026-11-19T08:00:00.000Z', answeredAt: '2026-11-19T08:00:07.000Z' });
  });
});
