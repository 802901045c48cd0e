import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { PageRef } from '../../src/calls/adapter.js';
import { TwilioAdapter, type TwilioSettings } from '../../src/providers/twilio/client.js';
import { toCallRecord } from '../../src/providers/twilio/map.js';
import { twilioRowSchema } from '../../src/providers/twilio/schema.js';
import { createTwilioSimulator, type TwilioRawCall, type TwilioSimulator } from '../../src/providers/twilio/simulator.js';
import { SHARED_NUMBERS, sharedInstants } from '../../src/simulation/data.js';
import { listRequest as request, walkAdapter as walk } from '../helpers/adapters.js';

const DAY = 86_400_000;

function adapterFor(sim: TwilioSimulator, settings: Partial<TwilioSettings> = {}, policy: Partial<HttpPolicy> = {}): TwilioAdapter {
  const http = new ConnectionHttp({ provider: 'TWILIO', connection: 'default' }, { ...defaultHttpPolicy, retries: 0, ...policy });
  return new TwilioAdapter(
    'default',
    { baseUrl: sim.server.url, accountSid: sim.credentials.accountSid, authToken: sim.credentials.authToken, ...settings },
    http,
  );
}

const expected = (row: TwilioRawCall): CallRecord => toCallRecord(twilioRowSchema.parse(row), 'default');

/** What the core keeps of a walk: the rows matching the query and inside [from, until]. */
const kept = (calls: CallRecord[], query: CallQuery, from: Date | null = null, until: Date | null = null) =>
  calls.filter(
    (call) =>
      matches(call, query) &&
      (from === null || call.startedAt >= from) &&
      (until === null || call.startedAt <= until),
  );

describe('Twilio adapter over HTTP', () => {
  let sim: TwilioSimulator;
  let adapter: TwilioAdapter;
  let all: CallRecord[];

  beforeAll(async () => {
    sim = createTwilioSimulator();
    await sim.server.start();
    adapter = adapterFor(sim);
    all = sim.rows.map(expected);
  });
  afterAll(() => sim.server.close());
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
  });

  it('simulates the page: every status word, initiated, child legs, non-phone parties, shared instants and numbers', () => {
    const words = new Set(sim.rows.map((row) => row.status));
    for (const word of ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'canceled', 'failed']) {
      expect(words).toContain(word);
    }
    expect(sim.rows).toHaveLength(300);
    const children = sim.rows.filter((row) => row.parent_call_sid !== null);
    expect(children.length).toBeGreaterThan(3);
    for (const child of children) {
      expect(child.direction).toBe('outbound-dial');
      expect(sim.rows.some((row) => row.sid === child.parent_call_sid)).toBe(true);
    }
    expect(sim.rows.some((row) => row.from.startsWith('client:') || row.to.startsWith('client:'))).toBe(true);
    expect(sim.rows.some((row) => row.to.startsWith('sip:') || row.from.startsWith('sip:'))).toBe(true);
    expect(sim.rows.some((row) => row.from === SHARED_NUMBERS.us || row.to === SHARED_NUMBERS.us)).toBe(true);
    const instants = new Set(sim.rows.map(sim.instantOf));
    for (const shared of sharedInstants()) expect(instants).toContain(shared);
    expect(sim.rows.find((row) => row.status === 'queued')?.start_time).toBe('');
    expect(sim.rows.some((row) => row.status === 'completed' && row.price === null)).toBe(true);
    expect(sim.rows.filter((row) => row.price !== null).every((row) => row.price!.startsWith('-'))).toBe(true);
    expect(createTwilioSimulator().rows).toEqual(sim.rows);
  });

  it('authenticates with HTTP Basic (Account SID + Auth Token) on the account path, asking for JSON', async () => {
    await adapter.list(request({ pageSize: 5 }));
    const [sent] = sim.server.requests;
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe(`/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls.json`);
    expect(sent?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${sim.credentials.accountSid}:${sim.credentials.authToken}`).toString('base64')}`,
    );
    expect(sent?.query).toEqual({ PageSize: '5' });
  });

  it('authenticates with an API Key SID and secret when configured', async () => {
    const keyed = adapterFor(sim, { authToken: undefined, apiKeySid: sim.credentials.apiKeySid, apiKeySecret: sim.credentials.apiKeySecret });
    const result = await keyed.list(request({ pageSize: 2 }));
    expect(result.calls).toHaveLength(2);
    expect(sim.server.requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from(`${sim.credentials.apiKeySid}:${sim.credentials.apiKeySecret}`).toString('base64')}`,
    );
  });

  it('wrong credentials → 401 with Twilio\'s body, UNAUTHORIZED, nothing secret in the message', async () => {
    const refused = await fetch(`${sim.server.url}/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls.json`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    const wrong = adapterFor(sim, { authToken: 'leaked-auth-token' });
    const failure = await wrong.list(request()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).failure).toBe('UNAUTHORIZED');
    expect((failure as UpstreamError).message).toBe('Twilio connection "default" refused the configured credentials (HTTP 401)');
    const [byId] = await wrong.getCalls([{ key: sim.rows[0]!.sid, startedAt: new Date() }]);
    expect((byId as UpstreamError).failure).toBe('UNAUTHORIZED');
    // Valid credentials on another account's path are refused too.
    const other = adapterFor(sim, { accountSid: `AC${'e'.repeat(32)}` });
    expect(((await other.list(request()).catch((e: unknown) => e)) as UpstreamError).failure).toBe('UNAUTHORIZED');
  });

  it('pages through the whole list once, newest first, mapped, in one request at PageSize 1000', async () => {
    const { calls, pages } = await walk(adapter);
    expect(pages).toBe(1);
    expect(calls).toEqual(all);
  });

  it('follows next_page_uri to the end with small pages: every row once, filters repeated, Page and PageToken added', async () => {
    const { calls, pages } = await walk(adapter, { pageSize: 7 });
    expect(pages).toBe(Math.ceil(sim.rows.length / 7));
    expect(calls.map((call) => call.key)).toEqual(sim.rows.map((row) => row.sid));
    const second = sim.server.requests[1]!;
    expect(second.query).toEqual({ PageSize: '7', Page: '1', PageToken: expect.stringMatching(/^PA/) });
    // Filters ride along in next_page_uri.
    sim.server.resetCounters();
    await walk(adapter, { pageSize: 3, query: { ...emptyQuery, statuses: ['BUSY'] } });
    expect(sim.server.requests.length).toBeGreaterThan(1);
    expect(sim.server.requests.every((sent) => sent.query.Status === 'busy')).toBe(true);
  });

  it('clamps the page size to 1000, which the simulator enforces', async () => {
    await adapter.list(request({ pageSize: 5000 }));
    expect(sim.server.requests[0]?.query.PageSize).toBe('1000');
    const auth = `Basic ${Buffer.from(`${sim.credentials.accountSid}:${sim.credentials.authToken}`).toString('base64')}`;
    const direct = await fetch(`${sim.server.url}/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls.json?PageSize=1001`, { headers: { authorization: auth } });
    expect(direct.status).toBe(400);
    expect(await direct.json()).toMatchObject({ code: 20001, status: 400 });
  });

  it('a call arriving between two pages is neither repeated nor shifts the walk', async () => {
    const own = createTwilioSimulator({ seed: 91, count: 40 });
    await own.server.start();
    try {
      const ownAdapter = adapterFor(own);
      const before = own.rows.map((row) => row.sid);
      const first = await ownAdapter.list(request({ pageSize: 15 }));
      const added = own.addCall();
      expect(own.rows[0]).toBe(added);
      const keys = first.calls.map((call) => call.key);
      let page: PageRef | null = first.next;
      while (page) {
        const result = await ownAdapter.list(request({ pageSize: 15, page }));
        keys.push(...result.calls.map((call) => call.key));
        page = result.next;
      }
      expect(keys).toEqual(before);
      expect((await ownAdapter.list(request({ pageSize: 1 }))).calls[0]).toEqual(expected(added));
    } finally {
      await own.server.close();
    }
  });

  it('resumes from a position in O(1) requests: StartTime< the day after, never the earlier pages', async () => {
    const position = sim.rows[200]!;
    const until = new Date(sim.instantOf(position));
    const sameDayNewer = sim.rows.filter(
      (row) => sim.instantOf(row) > until.getTime() && new Date(sim.instantOf(row)).toISOString().slice(0, 10) === until.toISOString().slice(0, 10),
    ).length;
    const result = await adapter.list(request({ until, pageSize: 20 }));
    expect(sim.server.count()).toBe(1);
    expect(sim.server.requests[0]?.query).toEqual({ 'StartTime<': new Date(until.getTime() + DAY).toISOString().slice(0, 10), PageSize: '20' });
    // The first page holds only that day's newer calls before the position (the core drops them).
    const inside = kept(result.calls, emptyQuery, null, until);
    expect(result.calls.length - inside.length).toBe(Math.min(20, sameDayNewer));
    expect(sameDayNewer).toBeLessThan(20);
    expect(inside[0]?.key).toBe(sim.rows.find((row) => sim.instantOf(row) <= until.getTime())?.sid);
  });

  it('pushes a time window down as whole UTC days and keeps every row inside it', async () => {
    const from = new Date('2026-11-03T17:45:12.000Z');
    const until = new Date('2026-11-09T06:10:00.000Z');
    const { calls } = await walk(adapter, { from, until });
    expect(sim.server.requests[0]?.query).toEqual({ 'StartTime>': '2026-11-03', 'StartTime<': '2026-11-10', PageSize: '1000' });
    expect(kept(calls, emptyQuery, from, until)).toEqual(kept(all, emptyQuery, from, until));
    expect(kept(all, emptyQuery, from, until).length).toBeGreaterThan(10);
    expect(calls.length).toBeLessThan(all.length);
    expect(calls.every((call) => call.startedAt >= new Date('2026-11-03T00:00:00Z') && call.startedAt < new Date('2026-11-10T00:00:00Z'))).toBe(true);
  });

  it('a one-instant window still returns that call; a queued call is found by its date_created', async () => {
    for (const row of [sim.rows[150]!, sim.rows.find((r) => r.status === 'queued')!]) {
      const instant = new Date(sim.instantOf(row));
      const { calls } = await walk(adapter, { from: instant, until: instant });
      expect(calls.map((call) => call.key)).toContain(row.sid);
    }
  });

  it.each([
    ['BUSY', 'busy'],
    ['CANCELED', 'canceled'],
    ['QUEUED', 'queued'],
    ['IN_PROGRESS', 'in-progress'],
    ['COMPLETED', 'completed'],
    ['NO_ANSWER', 'no-answer'],
  ] as const)('pushes statuses [%s] down as Status=%s, giving what the core would keep', async (status, word) => {
    const query: CallQuery = { ...emptyQuery, statuses: [status] };
    const { calls } = await walk(adapter, { query });
    expect(sim.server.requests[0]?.query).toEqual({ Status: word, PageSize: '1000' });
    expect(calls).toEqual(kept(all, query));
    expect(calls.length).toBeGreaterThan(0);
  });

  it('does not push INITIATED (the Status filter refuses it), nor two statuses; the core finds them all', async () => {
    for (const statuses of [['INITIATED'], ['BUSY', 'FAILED'], ['UNKNOWN']] as const) {
      sim.server.resetCounters();
      const query: CallQuery = { ...emptyQuery, statuses };
      const { calls } = await walk(adapter, { query });
      expect(sim.server.requests.every((sent) => sent.query.Status === undefined)).toBe(true);
      expect(kept(calls, query)).toEqual(kept(all, query));
    }
    expect(kept(all, { ...emptyQuery, statuses: ['INITIATED'] }).length).toBeGreaterThan(0);
    const auth = `Basic ${Buffer.from(`${sim.credentials.accountSid}:${sim.credentials.authToken}`).toString('base64')}`;
    const refused = await fetch(`${sim.server.url}/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls.json?Status=initiated`, { headers: { authorization: auth } });
    expect(refused.status).toBe(400);
  });

  it('asks nothing for an empty list of statuses', async () => {
    expect(await adapter.list(request({ query: { ...emptyQuery, statuses: [] } }))).toEqual({ calls: [], next: null, total: null });
    expect(sim.server.count()).toBe(0);
  });

  it('pushes the number down one party at a time as From / To; both walks together are "either party"', async () => {
    const query: CallQuery = { ...emptyQuery, phoneNumber: SHARED_NUMBERS.us };
    await adapter.list(request({ query }));
    await adapter.list(request({ query, party: 'from' }));
    await adapter.list(request({ query, party: 'to' }));
    expect(sim.server.requests.map((r) => r.query)).toEqual([
      { PageSize: '1000' },
      { From: SHARED_NUMBERS.us, PageSize: '1000' },
      { To: SHARED_NUMBERS.us, PageSize: '1000' },
    ]);
    const from = (await walk(adapter, { query, party: 'from' })).calls;
    const to = (await walk(adapter, { query, party: 'to' })).calls;
    const either = new Set([...from, ...to].map((call) => call.key));
    expect([...from, ...to].every((call) => matches(call, query))).toBe(true);
    expect(kept(all, query).map((call) => call.key)).toEqual(all.filter((call) => either.has(call.key)).map((call) => call.key));
    expect(either.size).toBeGreaterThan(1);
  });

  it('combines time, status and number push-down and agrees with the core', async () => {
    const query: CallQuery = { ...emptyQuery, statuses: ['COMPLETED'], phoneNumber: SHARED_NUMBERS.us, direction: 'INBOUND' };
    const from = new Date('2026-10-10T00:00:00Z');
    const until = new Date('2026-11-20T12:00:00Z');
    const pushed = [...(await walk(adapter, { query, from, until, party: 'from', pageSize: 5 })).calls, ...(await walk(adapter, { query, from, until, party: 'to', pageSize: 5 })).calls];
    const keys = new Set(kept(pushed, query, from, until).map((call) => call.key));
    expect(all.filter((call) => keys.has(call.key))).toEqual(kept(all, query, from, until));
  });

  it('does not push direction (no such filter); the core filters it', async () => {
    const query: CallQuery = { ...emptyQuery, direction: 'INBOUND' };
    const { calls } = await walk(adapter, { query });
    expect(sim.server.requests[0]?.query).toEqual({ PageSize: '1000' });
    expect(kept(calls, query).length).toBeGreaterThan(0);
    expect(kept(calls, query).every((call) => ['inbound', 'trunking-originating'].includes(sim.rows.find((r) => r.sid === call.key)!.direction))).toBe(true);
  });

  it('is honest about what it applies', () => {
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, providers: ['TWILIO'] })).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, statuses: ['BUSY'] })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, startedAfter: new Date() })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, phoneNumber: SHARED_NUMBERS.us })).toBe(false);
    expect(adapter.capabilities).toEqual({ maxPageSize: 1000, resume: 'window', reportsTotal: false, numberFilter: 'per-party', listsOngoing: true });
  });

  it('maps RFC 2822 dates, string durations and negative prices exactly', () => {
    const row = sim.rows.find((r) => r.status === 'completed' && r.price !== null && r.end_time !== '')!;
    const call = expected(row);
    expect(call.startedAt.getTime()).toBe(sim.instantOf(row));
    expect(call.durationSeconds).toBe(Number(row.duration));
    expect(call.endedAt!.getTime() - call.startedAt.getTime()).toBe(Number(row.duration) * 1000);
    expect(call.cost).toEqual({ amount: row.price!.slice(1), currency: 'USD' });
    expect(all.filter((c) => c.cost).every((c) => /^\d+\.\d{5}$/.test(c.cost!.amount))).toBe(true);
  });

  it('lists both legs of a <Dial>: the child is its own outbound call', async () => {
    const child = sim.rows.find((row) => row.parent_call_sid !== null)!;
    const { calls } = await walk(adapter);
    const keys = calls.map((call) => call.key);
    expect(keys).toContain(child.sid);
    expect(keys).toContain(child.parent_call_sid);
    expect(calls.find((call) => call.key === child.sid)?.direction).toBe('OUTBOUND');
    // The simulator's ParentCallSid filter lists exactly the children.
    const auth = `Basic ${Buffer.from(`${sim.credentials.accountSid}:${sim.credentials.authToken}`).toString('base64')}`;
    const res = await fetch(`${sim.server.url}/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls.json?ParentCallSid=${child.parent_call_sid}`, { headers: { authorization: auth } });
    expect(((await res.json()) as { calls: TwilioRawCall[] }).calls.map((c) => c.sid)).toEqual(sim.rows.filter((r) => r.parent_call_sid === child.parent_call_sid).map((r) => r.sid));
  });

  it('list rows leave details to the Recordings sub-resource, fetched per call on demand', async () => {
    await walk(adapter);
    expect(sim.server.count('/Recordings.json')).toBe(0);
    // A call that never connected has nothing recorded: its details need no request.
    for (const call of all) {
      const neverConnected = ['busy', 'no-answer', 'canceled', 'failed'].includes(call.providerStatus);
      // The others know every field but the recordings (left undefined: the sub-resource gives them).
      expect(call.details).toEqual({ billedDurationSeconds: null, transcript: null, transcriptText: null, inputParameters: null, outputParameters: null, ...(neverConnected ? { recordings: [] } : {}) });
    }
    expect(all.some((call) => call.details!.recordings === undefined) && all.some((call) => call.details!.recordings !== undefined)).toBe(true);
    const sid = [...sim.recordings.keys()].find((key) => sim.recordings.get(key)!.some((r) => r.encryption_details) && sim.recordings.get(key)!.some((r) => !r.encryption_details))
      ?? [...sim.recordings.keys()][0]!;
    const details = await adapter.getDetails(all.find((call) => call.key === sid)!);
    expect(sim.server.count('/Recordings.json')).toBe(1);
    const wanted = sim.recordings.get(sid)!.filter((r) => r.status === 'completed');
    expect(details.recordings!.map((r) => r.url).sort()).toEqual(
      wanted.map((r) => `${sim.server.url}${r.uri.replace(/\.json$/, r.encryption_details ? '.wav' : '.mp3')}`).sort(),
    );
    expect(details.recordings!.every((r) => r.expiresAt === null)).toBe(true);
    expect(details).toMatchObject({ billedDurationSeconds: null, transcript: null, inputParameters: null, outputParameters: null });
    const none = all.find((call) => call.providerStatus === 'completed' && !sim.recordings.has(call.key))!;
    expect((await adapter.getDetails(none)).recordings).toEqual([]);
  });

  it('getCalls finds known calls in order, null for an unknown or malformed sid, in parallel', async () => {
    const known = [sim.rows[3]!, sim.rows[120]!, sim.rows[sim.rows.length - 1]!];
    const locators = [
      { key: known[0]!.sid, startedAt: new Date() },
      { key: 'CA00000000000000000000000000000000', startedAt: new Date() },
      { key: known[1]!.sid, startedAt: new Date() },
      { key: '../Recordings', startedAt: new Date() },
      { key: known[2]!.sid, startedAt: new Date() },
    ];
    // Held until all four are in flight at once (no clock involved): they go out in parallel.
    sim.server.persistentFault = { kind: 'hang' };
    const pending = adapter.getCalls(locators);
    while (sim.server.hanging < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    sim.server.persistentFault = null;
    expect(sim.server.releaseHung()).toBe(4);
    expect(await pending).toEqual([expected(known[0]!), null, expected(known[1]!), null, expected(known[2]!)]);
    expect(sim.server.count()).toBe(4); // the malformed sid never went out
    expect(sim.server.requests[0]?.path).toBe(`/2010-04-01/Accounts/${sim.credentials.accountSid}/Calls/${known[0]!.sid}.json`);
    expect(await adapter.getCalls([])).toEqual([]);
  });

  it('a row that does not read costs itself alone, named by its sid, without its content', async () => {
    const [before, row, after] = sim.rows.slice(5, 8) as [TwilioRawCall, TwilioRawCall, TwilioRawCall];
    sim.unreadable.set(row, { start_time: '2026-11-20T09:02:54Z' });
    try {
      const result = await adapter.list(request({ pageSize: 8 }));
      expect(result.calls.map((call) => call.key)).toEqual(sim.rows.slice(0, 8).filter((r) => r !== row).map((r) => r.sid));
      expect(result.calls).toContainEqual(expected(before));
      expect(result.calls).toContainEqual(expected(after));
      // start_time is there but does not read: its start is unknown (date_created places only a call not yet dialled).
      expect(result.invalid).toEqual([{ index: 6, error: expect.any(InvalidRowError), startedAt: null, key: row.sid }]);
      const error = result.invalid![0]!.error;
      expect([error.provider, error.connection, error.providerCallId]).toEqual(['TWILIO', 'default', row.sid]);
      expect(error.problem).toMatch(/^calls\[6\]\.start_time: the value is not an RFC 5322 date/);
      expect(error.message).not.toContain('09:02:54');
      // By id it is that call's error.
      const [byId] = await adapter.getCalls([{ key: row.sid, startedAt: new Date() }]);
      expect(byId).toBeInstanceOf(InvalidRowError);
      expect((byId as InvalidRowError).problem).toMatch(/^start_time: /);
    } finally {
      sim.unreadable.clear();
    }
  });

  it('a bad price or duration is an unreadable row, never a wrong amount', async () => {
    const row = sim.rows[2]!;
    sim.unreadable.set(row, { price: '-0,20' });
    try {
      const result = await adapter.list(request({ pageSize: 5 }));
      expect(result.invalid?.map((i) => i.error.problem)).toEqual(['calls[2].price: expected a decimal amount such as "-0.200"']);
    } finally {
      sim.unreadable.clear();
    }
  });

  it('error statuses fail the list with a typed error naming the connection; 429 with Retry-After is retried', async () => {
    const adapter = adapterFor(sim); // its own breaker
    for (const status of [500, 503, 404, 400]) {
      sim.server.faultQueue.push({ kind: 'status', status, body: JSON.stringify({ code: 20500, message: 'secret upstream text', status }) });
      const failure = (await adapter.list(request()).catch((error: unknown) => error)) as UpstreamError;
      expect(failure).toBeInstanceOf(UpstreamError);
      expect([failure.provider, failure.connection]).toEqual(['TWILIO', 'default']);
      expect(failure.message).not.toContain('secret upstream text');
    }
    const patient = adapterFor(sim, {}, { retries: 1 });
    sim.server.resetCounters();
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '0', body: JSON.stringify({ code: 20429, message: 'Too Many Requests', status: 429 }) });
    const result = await patient.list(request({ pageSize: 3 }));
    expect(result.calls.map((call) => call.key)).toEqual(sim.rows.slice(0, 3).map((row) => row.sid));
    expect(sim.server.count()).toBe(2);
    sim.server.faultQueue.push({ kind: 'status', status: 429 });
    expect(((await adapter.list(request()).catch((e: unknown) => e)) as UpstreamError).failure).toBe('RATE_LIMITED');
  });

  it('a body of the wrong shape or a next_page_uri elsewhere is BAD_BODY', async () => {
    const adapter = adapterFor(sim); // its own breaker: earlier tests' failures do not open it
    sim.server.faultQueue.push({ kind: 'wrongShape' });
    expect(((await adapter.list(request()).catch((e: unknown) => e)) as UpstreamError).failure).toBe('BAD_BODY');
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify({ calls: [sim.rows[0]], next_page_uri: 'https://evil.example/steal' }) });
    expect(((await adapter.list(request()).catch((e: unknown) => e)) as UpstreamError).failure).toBe('BAD_BODY');
    await expect(adapter.list(request({ page: { token: '//evil.example/2010-04-01' } }))).rejects.toThrow(TypeError);
  });

});

describe('Twilio simulator', () => {
  let sim: TwilioSimulator;
  let auth: string;
  beforeAll(async () => {
    sim = createTwilioSimulator({ count: 80 });
    await sim.server.start();
    auth = `Basic ${Buffer.from(`${sim.credentials.accountSid}:${sim.credentials.authToken}`).toString('base64')}`;
  });
  afterAll(() => sim.server.close());

  const get = async (path: string) => {
    const res = await fetch(`${sim.server.url}/2010-04-01/Accounts/${sim.credentials.accountSid}${path}`, { headers: { authorization: auth } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { calls: TwilioRawCall[] } };
  };

  it('defaults to pages of 50 with Twilio\'s envelope', async () => {
    const { body } = await get('/Calls.json');
    expect(body.calls).toHaveLength(50);
    expect(body).toMatchObject({ page: 0, page_size: 50, start: 0, end: 49, previous_page_uri: null });
    expect(body.next_page_uri).toMatch(/^\/2010-04-01\/Accounts\/AC\w+\/Calls\.json\?PageSize=50&Page=1&PageToken=PA/);
  });

  it('answers 400 for bad filters and tokens, 404 (20404) for unknown calls', async () => {
    expect((await get('/Calls.json?StartTime%3E=2026-02-30')).status).toBe(400);
    expect((await get('/Calls.json?PageToken=nonsense')).status).toBe(400);
    expect((await get('/Calls.json?PageSize=0')).status).toBe(400);
    const missing = await get('/Calls/CA00000000000000000000000000000000.json');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ code: 20404, status: 404 });
  });

  it('filters by To, From, StartTime (one UTC day, time of day ignored), StartTime</> and EndTime', async () => {
    const row = sim.rows[30]!;
    const day = new Date(sim.instantOf(row)).toISOString().slice(0, 10);
    const ids = (calls: TwilioRawCall[]) => calls.map((c) => c.sid);
    const dayOf = (r: TwilioRawCall) => new Date(sim.instantOf(r)).toISOString().slice(0, 10);
    expect(ids((await get(`/Calls.json?PageSize=1000&To=${encodeURIComponent(row.to)}`)).body.calls)).toEqual(ids(sim.rows.filter((r) => r.to === row.to)));
    expect(ids((await get(`/Calls.json?PageSize=1000&From=${encodeURIComponent(row.from)}`)).body.calls)).toEqual(ids(sim.rows.filter((r) => r.from === row.from)));
    expect(ids((await get(`/Calls.json?PageSize=1000&StartTime=${day}T23:59:59Z`)).body.calls)).toEqual(ids(sim.rows.filter((r) => dayOf(r) === day)));
    expect(ids((await get(`/Calls.json?PageSize=1000&StartTime%3C=${day}`)).body.calls)).toEqual(ids(sim.rows.filter((r) => dayOf(r) < day)));
    expect(ids((await get(`/Calls.json?PageSize=1000&StartTime%3E=${day}`)).body.calls)).toEqual(ids(sim.rows.filter((r) => dayOf(r) >= day)));
    const ended = (await get(`/Calls.json?PageSize=1000&EndTime%3E=${day}`)).body.calls;
    expect(ids(ended)).toEqual(ids(sim.rows.filter((r) => r.end_time !== '' && new Date(Date.parse(r.end_time)).toISOString().slice(0, 10) >= day)));
  });

  it('serves recordings under the call, paged', async () => {
    const sid = [...sim.recordings.keys()][0]!;
    const res = await get(`/Calls/${sid}/Recordings.json?PageSize=1`);
    expect(res.status).toBe(200);
    expect((res.body as unknown as { recordings: unknown[] }).recordings).toHaveLength(1);
  });
});
