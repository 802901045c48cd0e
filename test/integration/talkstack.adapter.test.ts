import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { ListRequest, PageRef } from '../../src/calls/adapter.js';
import { TalkStackAdapter, type TalkStackSettings } from '../../src/providers/talkstack/client.js';
import { toCallRecord } from '../../src/providers/talkstack/map.js';
import { talkStackCallSchema } from '../../src/providers/talkstack/schema.js';
import {
  createTalkStackSimulator,
  formatRfc2822,
  type TalkStackRawCall,
  type TalkStackSimulator,
} from '../../src/providers/talkstack/simulator.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { listRequest, walkAdapter } from '../helpers/adapters.js';

const DAY = 86_400_000;

function adapterFor(
  sim: TalkStackSimulator,
  settings: Partial<TalkStackSettings> = {},
  policy: Partial<HttpPolicy> = {},
): TalkStackAdapter {
  const http = new ConnectionHttp(
    { provider: 'TALKSTACK', connection: 'default' },
    { ...defaultHttpPolicy, retries: 0, ...policy },
  );
  return new TalkStackAdapter(
    'default',
    {
      baseUrl: sim.server.url,
      apiKey: sim.credentials.apiKey,
      projectId: sim.credentials.projectId,
      currency: 'USD',
      ...settings,
    },
    http,
  );
}

const expected = (row: TalkStackRawCall, currency = 'USD'): CallRecord =>
  toCallRecord(talkStackCallSchema.parse(row), { connection: 'default', currency });

const request = (overrides: Partial<ListRequest> = {}): ListRequest => listRequest({ pageSize: 100, ...overrides });

const instantOf = (row: TalkStackRawCall): number => Date.parse(row.date);

describe('TalkStack adapter over HTTP', () => {
  let sim: TalkStackSimulator;
  let adapter: TalkStackAdapter;

  beforeAll(async () => {
    sim = createTalkStackSimulator();
    await sim.server.start();
    adapter = adapterFor(sim);
  });
  afterAll(() => sim.server.close());
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
  });

  it('simulates realistic data: every status word, unknown words, shared numbers, costs', () => {
    expect(sim.rows).toHaveLength(300);
    const words = new Set(sim.rows.map((row) => row.status));
    for (const word of ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'voicemail', 'silence']) {
      expect(words).toContain(word);
    }
    expect(words).toContain('canceled-by-user');
    expect(sim.rows.some((row) => row.from === SHARED_NUMBERS.us || row.to === SHARED_NUMBERS.us)).toBe(true);
    expect(sim.rows.some((row) => row.cost === 0.077)).toBe(true);
    expect(sim.rows.filter((row) => row.status === 'completed').every((row) => row.recordingUrls.length > 0)).toBe(true);
    // Newest first, and deterministic.
    const instants = sim.rows.map(instantOf);
    expect(instants).toEqual([...instants].sort((a, b) => b - a));
    expect(createTalkStackSimulator().rows).toEqual(sim.rows);
  });

  it('authenticates with x-api-key and sends the project in a JSON body', async () => {
    await adapter.list(request({ pageSize: 5 }));
    const [sent] = sim.server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/call/get-call-history');
    expect(sent?.headers['x-api-key']).toBe(sim.credentials.apiKey);
    expect(sent?.headers['content-type']).toMatch(/^application\/json/);
    expect(sent?.body).toEqual({ projectId: 'proj_demo', pageSize: 5 });
    expect(sent?.query).toEqual({});
  });

  it('the simulator also accepts a Bearer token, and refuses no credentials', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${sim.server.url}/call/get-call-history`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ projectId: 'proj_demo', pageSize: 1 }),
      });
    expect((await post({ authorization: `Bearer ${sim.credentials.apiKey}` })).status).toBe(200);
    const refused = await post({});
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ message: 'Unauthorized' });
  });

  it('wrong credentials → UNAUTHORIZED without the credential in the message', async () => {
    const wrong = adapterFor(sim, { apiKey: 'leaked-secret-key' });
    const failure = await wrong.list(request()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).failure).toBe('UNAUTHORIZED');
    expect((failure as UpstreamError).message).not.toContain('leaked-secret-key');
    expect((failure as UpstreamError).message).not.toContain('proj_demo');
    const [byId] = await wrong.getCalls([{ key: sim.rows[0]!.callSid, startedAt: new Date() }]);
    expect(byId).toBeInstanceOf(UpstreamError);
    expect((byId as UpstreamError).failure).toBe('UNAUTHORIZED');
  });

  it('pages through the whole history once, newest first, mapped, in the fewest requests', async () => {
    const { calls, pages } = await walkAdapter(adapter, { pageSize: 100 });
    expect(pages).toBe(3);
    expect(sim.server.count('/call/get-call-history')).toBe(3);
    expect(calls).toEqual(sim.rows.map((row) => expected(row)));
  });

  it('walks every row exactly once with small pages (token paging)', async () => {
    const { calls, pages } = await walkAdapter(adapter, { pageSize: 7 });
    expect(pages).toBe(Math.ceil(300 / 7));
    expect(calls.map((call) => call.key)).toEqual(sim.rows.map((row) => row.callSid));
    expect(new Set(calls.map((call) => call.key)).size).toBe(300);
    // Later requests carry the token and the same page size.
    const tokens = sim.server.requests.slice(1).map((sent) => (sent.body as { pageToken?: unknown }).pageToken);
    expect(tokens.every((token) => typeof token === 'string' && token.length > 0)).toBe(true);
  });

  it('clamps the page size to 100, which the provider enforces', async () => {
    const result = await adapter.list(request({ pageSize: 500 }));
    expect(result.calls).toHaveLength(100);
    expect((sim.server.requests[0]?.body as { pageSize: number }).pageSize).toBe(100);
    const direct = await fetch(`${sim.server.url}/call/get-call-history`, {
      method: 'POST',
      headers: { 'x-api-key': sim.credentials.apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ projectId: 'proj_demo', pageSize: 101 }),
    });
    expect(direct.status).toBe(400);
  });

  it('a call arriving between two pages is neither repeated nor shifts the walk', async () => {
    const own = createTalkStackSimulator({ seed: 77, count: 40 });
    await own.server.start();
    try {
      const ownAdapter = adapterFor(own);
      const before = own.rows.map((row) => row.callSid);
      const first = await ownAdapter.list(request({ pageSize: 15 }));
      const added = own.addCall();
      expect(own.rows[0]).toBe(added);
      expect(instantOf(added)).toBeGreaterThan(instantOf(own.rows[1]!));
      const keys = first.calls.map((call) => call.key);
      let page: PageRef | null = first.next;
      while (page) {
        const result = await ownAdapter.list(request({ pageSize: 15, page }));
        keys.push(...result.calls.map((call) => call.key));
        page = result.next;
      }
      expect(keys).toEqual(before);
      const fresh = await ownAdapter.list(request({ pageSize: 1 }));
      expect(fresh.calls[0]).toEqual(expected(added));
    } finally {
      await own.server.close();
    }
  });

  it('pushes a time window down as whole UTC days and keeps every row inside it', async () => {
    const from = new Date('2026-11-03T17:45:12.000Z');
    const until = new Date('2026-11-09T06:10:00.000Z');
    const { calls } = await walkAdapter(adapter, { pageSize: 100, from, until });
    const sent = sim.server.requests[0];
    expect(sent?.query).toEqual({ startTimeAfter: '2026-11-03', startTimeBefore: '2026-11-10' });
    const inside = sim.rows.filter((row) => instantOf(row) >= from.getTime() && instantOf(row) <= until.getTime());
    expect(inside.length).toBeGreaterThan(10);
    const keys = new Set(calls.map((call) => call.key));
    for (const row of inside) expect(keys).toContain(row.callSid);
    // A superset, but only of whole days around the window, in the provider's order.
    const dayStart = Date.parse('2026-11-03T00:00:00Z');
    const dayAfterEnd = Date.parse('2026-11-10T00:00:00Z');
    expect(calls).toEqual(
      sim.rows
        .filter((row) => instantOf(row) >= dayStart && instantOf(row) <= dayAfterEnd)
        .map((row) => expected(row)),
    );
    expect(calls.length).toBeLessThan(sim.rows.length);
  });

  it('a one-instant window still returns that call', async () => {
    const row = sim.rows[150]!;
    const instant = new Date(instantOf(row));
    const { calls } = await walkAdapter(adapter, { pageSize: 100, from: instant, until: instant });
    expect(calls.map((call) => call.key)).toContain(row.callSid);
    expect(calls.every((call) => call.startedAt.toISOString().slice(0, 10) >= instant.toISOString().slice(0, 10))).toBe(true);
  });

  it.each([
    ['BUSY', 'busy'],
    ['FAILED', 'failed'],
    ['QUEUED', 'queued'],
    ['IN_PROGRESS', 'in-progress'],
  ] as const)('pushes statuses [%s] down as status=%s, exactly', async (status, word) => {
    const query: CallQuery = { ...emptyQuery, statuses: [status] };
    const { calls } = await walkAdapter(adapter, { pageSize: 100, query });
    expect(sim.server.requests[0]?.query).toEqual({ status: word });
    expect(calls).toEqual(sim.rows.filter((row) => row.status === word).map((row) => expected(row)));
    expect(calls.length).toBeGreaterThan(0);
  });

  it.each([
    ['COMPLETED', ['completed', 'silence']],
    ['NO_ANSWER', ['no-answer', 'voicemail']],
  ] as const)('does not push %s down (two words); the core finds them all', async (status, words) => {
    const query: CallQuery = { ...emptyQuery, statuses: [status] };
    const { calls } = await walkAdapter(adapter, { pageSize: 100, query });
    expect(sim.server.requests.every((sent) => sent.query.status === undefined)).toBe(true);
    const wanted = sim.rows.filter((row) => (words as readonly string[]).includes(row.status));
    expect(calls.filter((call) => matches(call, query)).map((call) => call.key)).toEqual(
      wanted.map((row) => row.callSid),
    );
    expect(wanted.some((row) => row.status === words[1])).toBe(true);
  });

  it('an unknown status word reaches the core as UNKNOWN', async () => {
    const query: CallQuery = { ...emptyQuery, statuses: ['UNKNOWN'] };
    const { calls } = await walkAdapter(adapter, { pageSize: 100, query });
    const unknown = calls.filter((call) => matches(call, query));
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.every((call) => call.providerStatus === 'canceled-by-user')).toBe(true);
  });

  it('asks nothing for statuses no TalkStack word maps to', async () => {
    const result = await adapter.list(request({ query: { ...emptyQuery, statuses: ['CANCELED'] } }));
    expect(result).toEqual({ calls: [], next: null, total: null });
    expect(sim.server.count()).toBe(0);
  });

  it('pushes the number down one party at a time (the core merges both), never both at once', async () => {
    const query: CallQuery = { ...emptyQuery, phoneNumber: SHARED_NUMBERS.us };
    await adapter.list(request({ query }));
    await adapter.list(request({ query, party: 'from' }));
    await adapter.list(request({ query, party: 'to' }));
    expect(sim.server.requests.map((r) => r.query)).toEqual([{}, { from: SHARED_NUMBERS.us }, { to: SHARED_NUMBERS.us }]);
    // From-walk and to-walk together are exactly the calls with the number on either side.
    const from = (await walkAdapter(adapter, { pageSize: 100, query, party: 'from' })).calls;
    const to = (await walkAdapter(adapter, { pageSize: 100, query, party: 'to' })).calls;
    const either = new Set([...from, ...to].map((call) => call.key));
    expect([...from, ...to].every((call) => matches(call, query))).toBe(true);
    expect(sim.rows.filter((row) => either.has(row.callSid)).map((row) => row.callSid)).toEqual(
      sim.rows.filter((row) => row.from === SHARED_NUMBERS.us || row.to === SHARED_NUMBERS.us).map((row) => row.callSid),
    );
    expect(either.size).toBeGreaterThan(1);
  });

  it('sends nothing for a direction: TalkStack reports none, so no call can match', async () => {
    const result = await adapter.list(request({ query: { ...emptyQuery, direction: 'INBOUND' } }));
    expect(result).toEqual({ calls: [], next: null, total: null });
    expect(sim.server.count()).toBe(0);
  });

  it('applies only the empty filter exactly', () => {
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, providers: ['TALKSTACK'] })).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, statuses: ['BUSY'] })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, startedAfter: new Date() })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, phoneNumber: '+14152148508' })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, direction: 'OUTBOUND' })).toBe(false);
    expect(adapter.capabilities).toEqual({ maxPageSize: 100, resume: 'window', reportsTotal: false, numberFilter: 'per-party', listsOngoing: true });
  });

  it('404 for a project without calls is an empty, final page', async () => {
    const empty = adapterFor(sim, { projectId: 'proj_empty' });
    expect(await empty.list(request())).toEqual({ calls: [], next: null, total: null });
    expect(sim.server.count()).toBe(1);
  });

  it('404 for a filter that matches nothing is an empty, final page', async () => {
    const result = await adapter.list(
      request({
        query: { ...emptyQuery, statuses: ['QUEUED'] },
        from: new Date('2020-01-01T00:00:00Z'),
        until: new Date('2020-01-02T00:00:00Z'),
      }),
    );
    expect(result).toEqual({ calls: [], next: null, total: null });
  });

  it('reads RFC 2822 dates exactly', async () => {
    const { calls } = await walkAdapter(adapter, { pageSize: 100 });
    for (const [i, call] of calls.entries()) {
      const row = sim.rows[i]!;
      expect(row.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
      expect(formatRfc2822(call.startedAt.getTime())).toBe(row.date);
    }
  });

  it('gives bare-number costs the configured currency', async () => {
    const euro = adapterFor(sim, { currency: 'EUR' });
    const { calls } = await walkAdapter(euro, { pageSize: 100 });
    const billed = calls.filter((call) => call.cost !== null);
    expect(billed.length).toBeGreaterThan(100);
    expect(billed.every((call) => call.cost?.currency === 'EUR')).toBe(true);
    const sample = sim.rows.find((row) => row.cost === 0.077)!;
    expect(calls.find((call) => call.key === sample.callSid)?.cost).toEqual({ amount: '0.077', currency: 'EUR' });
    expect(calls.every((call) => call.cost === null || /^-?\d+(\.\d+)?$/.test(call.cost.amount))).toBe(true);
  });

  it('list rows carry complete details: recordings and the extracted data', async () => {
    const { calls } = await walkAdapter(adapter, { pageSize: 100 });
    const completed = calls.filter((call) => call.providerStatus === 'completed');
    expect(completed.every((call) => (call.details?.recordings?.length ?? 0) > 0)).toBe(true);
    expect(completed[0]?.details?.outputParameters).toMatchObject({ employeeGoToWork: expect.any(String) });
    expect(calls.every((call) => call.details !== null && call.direction === null)).toBe(true);
  });

  it('getCalls finds known calls in order and null for an unknown one, in parallel', async () => {
    const known = [sim.rows[3]!, sim.rows[120]!, sim.rows[299]!];
    const locators = [
      { key: known[0]!.callSid, startedAt: new Date(instantOf(known[0]!)) },
      { key: 'CA00000000000000000000000000000000', startedAt: new Date() },
      { key: known[1]!.callSid, startedAt: new Date(instantOf(known[1]!)) },
      { key: known[2]!.callSid, startedAt: new Date(instantOf(known[2]!)) },
    ];
    sim.server.latencyMs = 250;
    try {
      const found = await adapter.getCalls(locators);
      expect(sim.server.maxInFlight).toBe(4); // all four at once, not in a row
      expect(found).toEqual([expected(known[0]!), null, expected(known[1]!), expected(known[2]!)]);
    } finally {
      sim.server.latencyMs = 0;
    }
    expect(sim.server.count('/call')).toBe(4);
    expect(sim.server.requests.map((sent) => sent.body)).toContainEqual({
      sid: known[0]!.callSid,
      projectId: 'proj_demo',
    });
    expect(await adapter.getCalls([])).toEqual([]);
  });

  it('a date that is not RFC 2822 is an unreadable row, not a wrong time: the others still read', async () => {
    const [before, row, after] = sim.rows.slice(0, 3) as [TalkStackRawCall, TalkStackRawCall, TalkStackRawCall];
    const body = { calls: [before, { ...row, date: '2026-11-20T09:02:54Z' }, after], nextPageToken: null };
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify(body) });
    const result = await adapter.list(request());
    expect(result.calls).toEqual([expected(before), expected(after)]);
    expect(result.invalid).toEqual([{ index: 1, error: expect.any(InvalidRowError), startedAt: null, key: row.callSid }]);
    const error = result.invalid![0]!.error;
    expect([error.provider, error.connection, error.providerCallId]).toEqual(['TALKSTACK', 'default', row.callSid]);
    expect(error.problem).toBe('calls[1].date: the value is not an RFC 5322 date (e.g. "Tue, 30 Jan 2024 13:39:53 +0000")');
    expect(error.message).not.toContain('2026-11-20');
  });

  it('an unreadable row by sid is that call\'s error, naming the sid asked for', async () => {
    const row = sim.rows[4]!;
    sim.unreadable.set(row, { callSid: true }); // a JSON number would read: numeric ids keep their digits
    try {
      const [found] = await adapter.getCalls([{ key: row.callSid, startedAt: new Date(instantOf(row)) }]);
      expect(found).toBeInstanceOf(InvalidRowError);
      expect((found as InvalidRowError).providerCallId).toBe(row.callSid);
      expect((found as InvalidRowError).problem).toBe('callSid: expected a string or a number');
    } finally {
      sim.unreadable.clear();
    }
  });

  it('a 500 fails the list; a 429 with Retry-After is retried', async () => {
    sim.server.faultQueue.push({ kind: 'status', status: 500 });
    const failure = await adapter.list(request()).catch((error: unknown) => error);
    expect((failure as UpstreamError).failure).toBe('HTTP_STATUS');

    const patient = adapterFor(sim, {}, { retries: 1 });
    sim.server.resetCounters();
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '0' });
    const result = await patient.list(request({ pageSize: 3 }));
    expect(result.calls.map((call) => call.key)).toEqual(sim.rows.slice(0, 3).map((row) => row.callSid));
    expect(sim.server.count()).toBe(2);
  });

});

describe('TalkStack adapter: bare-array history', () => {
  let sim: TalkStackSimulator;
  beforeAll(async () => {
    sim = createTalkStackSimulator({ bareArray: true, count: 120 });
    await sim.server.start();
  });
  afterAll(() => sim.server.close());

  it('reads a bare array as a single, final page', async () => {
    const adapter = adapterFor(sim);
    const result = await adapter.list(request({ pageSize: 20 }));
    expect(result.next).toBeNull();
    expect(result.calls).toEqual(sim.rows.map((row) => expected(row)));
    expect(sim.server.count()).toBe(1);
  });

  it('applies filters to the bare array too', async () => {
    const adapter = adapterFor(sim);
    const result = await adapter.list(request({ query: { ...emptyQuery, statuses: ['BUSY'] } }));
    expect(result.next).toBeNull();
    expect(result.calls.map((call) => call.key)).toEqual(
      sim.rows.filter((row) => row.status === 'busy').map((row) => row.callSid),
    );
  });
});

describe('TalkStack simulator', () => {
  let sim: TalkStackSimulator;
  beforeAll(async () => {
    sim = createTalkStackSimulator({ count: 60, credentials: { apiKey: 'k2', projectId: 'p2' } });
    await sim.server.start();
  });
  afterAll(() => sim.server.close());

  const post = (path: string, body: unknown, query = '') =>
    fetch(`${sim.server.url}${path}${query}`, {
      method: 'POST',
      headers: { 'x-api-key': 'k2', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('answers 400 { message } without projectId or sid, and for bad filters', async () => {
    const noProject = await post('/call/get-call-history', {});
    expect(noProject.status).toBe(400);
    expect(await noProject.json()).toEqual({ message: 'projectId is required' });
    expect((await post('/call', { projectId: 'p2' })).status).toBe(400);
    expect((await post('/call/get-call-history', { projectId: 'p2' }, '?status=voicemail')).status).toBe(400);
    expect((await post('/call/get-call-history', { projectId: 'p2' }, '?startTime=2026-02-30')).status).toBe(400);
    expect((await post('/call/get-call-history', { projectId: 'p2', pageToken: 'nonsense' })).status).toBe(400);
  });

  it('defaults to pages of 20', async () => {
    const body = (await (await post('/call/get-call-history', { projectId: 'p2' })).json()) as { calls: unknown[] };
    expect(body.calls).toHaveLength(20);
  });

  it('filters by to, from, startTime (one UTC day) and end time', async () => {
    const row = sim.rows[30]!;
    const day = new Date(Date.parse(row.date)).toISOString().slice(0, 10);
    const byTo = (await (
      await post('/call/get-call-history', { projectId: 'p2', pageSize: 100 }, `?to=${encodeURIComponent(row.to)}`)
    ).json()) as { calls: TalkStackRawCall[] };
    expect(byTo.calls.every((call) => call.to === row.to)).toBe(true);
    expect(byTo.calls.map((call) => call.callSid)).toContain(row.callSid);
    const byFrom = (await (
      await post('/call/get-call-history', { projectId: 'p2', pageSize: 100 }, `?from=${encodeURIComponent(row.from)}`)
    ).json()) as { calls: TalkStackRawCall[] };
    expect(byFrom.calls.every((call) => call.from === row.from)).toBe(true);
    const onDay = (await (
      await post('/call/get-call-history', { projectId: 'p2', pageSize: 100 }, `?startTime=${day}`)
    ).json()) as { calls: TalkStackRawCall[] };
    expect(onDay.calls.map((call) => call.callSid)).toEqual(
      sim.rows.filter((r) => new Date(Date.parse(r.date)).toISOString().startsWith(day)).map((r) => r.callSid),
    );
    const endedAfter = (await (
      await post('/call/get-call-history', { projectId: 'p2', pageSize: 100 }, `?endTimeAfter=${day}`)
    ).json()) as { calls: TalkStackRawCall[] };
    expect(endedAfter.calls.map((call) => call.callSid)).toEqual(
      sim.rows
        .filter((r) => Date.parse(r.date) + r.seconds * 1000 >= Date.parse(`${day}T00:00:00Z`))
        .map((r) => r.callSid),
    );
  });

  it('answers 404 for an unknown sid and an unknown project', async () => {
    expect((await post('/call', { sid: 'CAnope', projectId: 'p2' })).status).toBe(404);
    expect((await post('/call', { sid: sim.rows[0]!.callSid, projectId: 'other' })).status).toBe(404);
    expect((await post('/call', { sid: sim.rows[0]!.callSid, projectId: 'p2' })).status).toBe(200);
  });

  it('does not start at import time', () => {
    const idle = createTalkStackSimulator({ count: 5 });
    expect(() => idle.server.url).toThrow();
  });
});
