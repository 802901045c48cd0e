import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import { type CallRecord, compareCalls } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { PageRef } from '../../src/calls/adapter.js';
import { START_SLACK_MS, VapiAdapter, decodeVapiToken } from '../../src/providers/vapi/client.js';
import { toCallRecord } from '../../src/providers/vapi/map.js';
import { vapiCallSchema } from '../../src/providers/vapi/schema.js';
import { createVapiSimulator, type VapiRawCall, type VapiSimulator } from '../../src/providers/vapi/simulator.js';
import { SHARED_NUMBERS, sharedInstants } from '../../src/simulation/data.js';
import { failureOf, found } from '../helpers/lookups.js';
import { listRequest as request, walkAdapter as walk } from '../helpers/adapters.js';

const HOUR = 3600_000;

function adapterFor(sim: VapiSimulator, apiKey = sim.credentials.apiKey, policy: Partial<HttpPolicy> = {}): VapiAdapter {
  const http = new ConnectionHttp({ provider: 'VAPI', connection: 'default' }, { ...defaultHttpPolicy, retries: 0, ...policy });
  return new VapiAdapter('default', { baseUrl: sim.server.url, apiKey }, http);
}

/** What the page says a row is: mapped with its Vapi number from the phone-number resource or the row. */
function expected(sim: VapiSimulator, row: VapiRawCall): CallRecord {
  const agentNumber = row.phoneNumber?.twilioPhoneNumber ?? sim.phoneNumbers.find((p) => p.id === row.phoneNumberId)?.number ?? null;
  return toCallRecord(vapiCallSchema.parse(row), agentNumber, { connection: 'default', baseUrl: sim.server.url });
}

/**
 * `calls` with the expiry of signed recording links set aside: Vapi regenerates them per response,
 * valid an hour (the simulator likewise), so the row's stored value is not what was sent. Checks
 * each such expiry lies in the coming hour first.
 */
function withoutSignedExpiry<T extends CallRecord | null>(calls: T[], check = true): T[] {
  const now = Date.now();
  return calls.map((call) => {
    if (!call?.details) return call;
    const recordings = (call.details.recordings ?? []).map((link) => {
      if (link.expiresAt && check) {
        expect(new Date(link.expiresAt).getTime()).toBeGreaterThan(now);
        expect(new Date(link.expiresAt).getTime()).toBeLessThanOrEqual(now + HOUR);
      }
      return link.expiresAt ? { ...link, expiresAt: null } : link;
    });
    return { ...call, details: { ...call.details, recordings } };
  });
}

/** The simulator's calls in the merged order (newest startedAt first, then key). */
const inOrder = (sim: VapiSimulator, rows = sim.rows): CallRecord[] => rows.map((row) => expected(sim, row)).sort(compareCalls);

const listRequests = (sim: VapiSimulator) => sim.server.requests.filter((r) => r.path === '/call');

describe('Vapi adapter over HTTP', () => {
  let sim: VapiSimulator;
  let adapter: VapiAdapter;

  beforeAll(async () => {
    sim = createVapiSimulator();
    await sim.server.start();
    adapter = adapterFor(sim);
  });
  afterAll(() => sim.server.close());
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
    sim.unreadable.clear();
  });

  it('simulates realistic, deterministic data: every status word, type and reason family, shared instants and numbers', () => {
    expect(sim.rows).toHaveLength(300);
    const statuses = new Set(sim.rows.map((row) => row.status));
    for (const word of ['scheduled', 'queued', 'ringing', 'in-progress', 'forwarding', 'ended']) expect(statuses).toContain(word);
    const types = new Set(sim.rows.map((row) => row.type));
    for (const type of ['inboundPhoneCall', 'outboundPhoneCall', 'webCall', 'vapi.websocketCall']) expect(types).toContain(type);
    const mapped = new Set(sim.rows.map((row) => expected(sim, row).status));
    for (const status of ['QUEUED', 'RINGING', 'IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED']) expect(mapped).toContain(status);
    const starts = new Set(sim.rows.map((row) => Date.parse(row.startedAt ?? row.createdAt)));
    for (const instant of sharedInstants()) expect(starts).toContain(instant);
    expect(sim.rows.some((row) => row.customer?.number === SHARED_NUMBERS.us)).toBe(true);
    expect(sim.rows.some((row) => row.phoneNumber?.twilioPhoneNumber)).toBe(true);
    // Newest createdAt first, ties in createdAt present, and the same data every time.
    const created = sim.rows.map((row) => Date.parse(row.createdAt));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(new Set(created).size).toBeLessThan(created.length);
    expect(createVapiSimulator().rows).toEqual(sim.rows);
  });

  it('sends the private key as a Bearer token; the simulator refuses others with Vapi’s NestJS body', async () => {
    await adapter.list(request({ pageSize: 5 }));
    const [sent] = sim.server.requests;
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe('/call');
    expect(sent?.headers.authorization).toBe(`Bearer ${sim.credentials.apiKey}`);
    // 5 rows and room for those the cut holds back or the core drops: ⌈5 / 10⌉ + 2 more.
    expect(sent?.query).toEqual({ limit: '8' });
    const refused = await fetch(`${sim.server.url}/call`, { headers: { authorization: 'Bearer public-key' } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({
      message: 'Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.',
      error: 'Unauthorized',
      statusCode: 401,
    });
  });

  it('a wrong key → UNAUTHORIZED naming the connection, never the key, for lists and look-ups', async () => {
    const wrong = adapterFor(sim, 'leaked-vapi-secret');
    const failure = (await wrong.list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure.failure).toBe('UNAUTHORIZED');
    expect(failure.message).toContain('Vapi connection "default"');
    expect(failure.message).not.toContain('leaked-vapi-secret');
    const [byId] = await wrong.getCalls([{ key: sim.rows[0]!.id, startedAt: new Date() }]);
    expect(failureOf(byId).failure).toBe('UNAUTHORIZED');
  });

  it('one page of 1000 holds the whole history: every call once, in order, mapped as the page says, each phone number looked up once', async () => {
    const { calls, pages } = await walk(adapterFor(sim));
    expect(pages).toBe(1);
    expect(listRequests(sim)).toHaveLength(1);
    expect(listRequests(sim)[0]?.query).toEqual({ limit: '1000' });
    expect(withoutSignedExpiry(calls)).toEqual(withoutSignedExpiry(inOrder(sim), false));
    expect(sim.server.count('/phone-number/' + sim.phoneNumbers[0]!.id)).toBe(1);
    expect(sim.server.requests.filter((r) => r.path.startsWith('/phone-number/'))).toHaveLength(sim.phoneNumbers.length);
  });

  it('walks with small pages by createdAt windows: every call exactly once, in order, one request per page', async () => {
    const fresh = adapterFor(sim);
    const { calls, pages } = await walk(fresh, { pageSize: 7 });
    expect(calls.map((call) => call.key)).toEqual(inOrder(sim).map((call) => call.key));
    expect(listRequests(sim)).toHaveLength(pages);
    // Each later page asks for createdAt up to the oldest createdAt of the page before.
    const sent = listRequests(sim);
    expect(sent[0]?.query.createdAtLe).toBeUndefined();
    for (const later of sent.slice(1)) expect(later.query.createdAtLe).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Phone numbers: once per id for the whole walk (one adapter = one GraphQL request).
    expect(sim.server.requests.filter((r) => r.path.startsWith('/phone-number/'))).toHaveLength(sim.phoneNumbers.length);
  });

  it('pages through calls created at one instant without repeating or losing any', async () => {
    const own = createVapiSimulator({ seed: 31, count: 10 });
    await own.server.start();
    try {
      const createdAt = '2026-11-25T10:00:00.000Z';
      for (let i = 0; i < 5; i++) own.addCall({ createdAt, startedAt: `2026-11-25T10:00:0${i + 1}.000Z`, endedAt: `2026-11-25T10:01:0${i + 1}.000Z` });
      const { calls } = await walk(adapterFor(own), { pageSize: 2 });
      expect(calls.map((call) => call.key)).toEqual(inOrder(own).map((call) => call.key));
      // Rows returned and read again at the cut are skipped by id (the token), never returned twice.
      expect(new Set(calls.map((call) => call.key)).size).toBe(calls.length);
      expect(listRequests(own).some((r) => r.query.createdAtLe !== undefined && Number(r.query.limit) > 2)).toBe(true);
    } finally {
      await own.server.close();
    }
  });

  it('resumes at a position with one request: createdAtLe = the position’s time (a call is created before it starts)', async () => {
    const anchor = inOrder(sim)[150]!;
    const result = await adapter.list(request({ until: anchor.startedAt, pageSize: 20 }));
    expect(listRequests(sim)).toHaveLength(1);
    expect(listRequests(sim)[0]?.query).toEqual({ limit: '24', createdAtLe: anchor.startedAt.toISOString() });
    const older = inOrder(sim).filter((call) => call.startedAt.getTime() <= anchor.startedAt.getTime());
    // Rows started within START_HOLD_MS of the page's oldest creation wait for the next page; the
    // room asked for beyond 20 still leaves a full page (else the core would need a second request).
    expect(result.calls.length).toBeGreaterThanOrEqual(20);
    expect(result.calls.map((call) => call.key)).toEqual(older.slice(0, result.calls.length).map((call) => call.key));
    expect(result.next).not.toBeNull();
  });

  it.each<[string, Partial<CallQuery>]>([
    ['a time window', { startedAfter: new Date('2026-11-01T00:00:00.000Z'), startedBefore: new Date('2026-11-08T12:00:00.000Z') }],
    ['only startedAfter', { startedAfter: new Date('2026-11-15T06:30:00.000Z') }],
    ['only startedBefore', { startedBefore: new Date('2026-10-20T00:00:00.000Z') }],
  ])('pushes %s down as createdAt bounds and loses no call the core’s filter keeps', async (_name, filter) => {
    const query: CallQuery = { ...emptyQuery, ...filter };
    const from = query.startedAfter;
    const until = query.startedBefore ? new Date(query.startedBefore.getTime() - 1) : null;
    const { calls } = await walk(adapterFor(sim), { query, from, until, pageSize: 50 });
    const truth = inOrder(sim).filter((call) => matches(call, query));
    expect(truth.length).toBeGreaterThan(5);
    expect(withoutSignedExpiry(calls.filter((call) => matches(call, query)))).toEqual(withoutSignedExpiry(truth, false));
    const first = listRequests(sim)[0]!.query;
    if (from) expect(first.createdAtGe).toBe(new Date(from.getTime() - START_SLACK_MS).toISOString());
    if (until) expect(first.createdAtLe).toBe(until.toISOString());
  });

  it('quirk: a scheduled call created hours before the window but started inside it is found (the 24 h slack)', async () => {
    const own = createVapiSimulator({ seed: 32, count: 20 });
    await own.server.start();
    try {
      const late = own.addCall({ createdAt: '2026-12-01T02:00:00.000Z', startedAt: '2026-12-01T14:00:00.000Z', endedAt: '2026-12-01T14:05:00.000Z' });
      const from = new Date('2026-12-01T12:00:00.000Z');
      const { calls } = await walk(adapterFor(own), { query: { ...emptyQuery, startedAfter: from }, from });
      expect(calls.map((call) => call.key)).toContain(late.id);
    } finally {
      await own.server.close();
    }
  });

  it('status, direction and number are not pushed down: the core filters them, and appliesExactly says so', async () => {
    const query: CallQuery = { ...emptyQuery, statuses: ['BUSY'], direction: 'OUTBOUND', phoneNumber: SHARED_NUMBERS.us };
    await adapter.list(request({ query }));
    expect(listRequests(sim)[0]?.query).toEqual({ limit: '1000' });
    expect(adapter.appliesExactly(query)).toBe(false);
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
    expect(adapter.capabilities).toEqual({ maxPageSize: 1000, resume: 'window', reportsTotal: false, listsOngoing: true });
  });

  it('web and websocket calls have no direction and no numbers; transient numbers need no look-up', async () => {
    const { calls } = await walk(adapterFor(sim));
    const byKey = new Map(calls.map((call) => [call.key, call]));
    const web = sim.rows.filter((row) => row.type === 'webCall' || row.type === 'vapi.websocketCall');
    expect(web.length).toBeGreaterThan(0);
    for (const row of web) {
      const call = byKey.get(row.id)!;
      expect(call.direction).toBeNull();
      expect([call.from.phoneNumber, call.to.phoneNumber]).toEqual([null, null]);
    }
    const transient = sim.rows.find((row) => row.phoneNumber && row.type === 'outboundPhoneCall') ?? sim.rows.find((row) => row.phoneNumber)!;
    const call = byKey.get(transient.id)!;
    expect([call.from, call.to].find((party) => party.isStaff)?.phoneNumber).toBe(transient.phoneNumber!.twilioPhoneNumber);
  });

  it('signed recording links carry their expiry; without them, the download endpoint answers 302 to a signed link', async () => {
    const { calls } = await walk(adapterFor(sim));
    const signed = calls.find((call) => call.details?.recordings?.[0]?.expiresAt);
    expect(signed?.details?.recordings?.[0]?.url).toMatch(/X-Amz-Signature=/);
    const unsigned = calls.find((call) => call.details?.recordings?.length && call.details.recordings[0]!.expiresAt === null)!;
    expect(unsigned.details!.recordings![0]!.url).toBe(`${sim.server.url}/call/${unsigned.key}/mono-recording`);
    const download = await fetch(unsigned.details!.recordings![0]!.url, {
      headers: { authorization: `Bearer ${sim.credentials.apiKey}` },
      redirect: 'manual',
    });
    expect(download.status).toBe(302);
    expect(download.headers.get('location')).toMatch(/X-Amz-Signature=/);
    const none = await fetch(`${sim.server.url}/call/${calls.find((c) => c.details?.recordings?.length === 0)!.key}/mono-recording`, {
      headers: { authorization: `Bearer ${sim.credentials.apiKey}` },
      redirect: 'manual',
    });
    expect(none.status).toBe(404);
    expect(calls.find((call) => call.key === unsigned.key)?.details?.transcriptText).toMatch(/^AI: /);
  });

  it('the simulator applies every filter the page lists and refuses a limit over 1000', async () => {
    const get = async (query: string) => {
      const response = await fetch(`${sim.server.url}/call?${query}`, { headers: { authorization: `Bearer ${sim.credentials.apiKey}` } });
      return { status: response.status, body: (await response.json()) as VapiRawCall[] };
    };
    const row = sim.rows[40]!;
    expect((await get(`id=${row.id}`)).body.map((r) => r.id)).toEqual([row.id]);
    const byAssistant = (await get(`assistantId=${row.assistantId ?? sim.rows.find((r) => r.assistantId)!.assistantId}&limit=1000`)).body;
    expect(byAssistant.length).toBeGreaterThan(10);
    expect(new Set(byAssistant.map((r) => r.assistantId)).size).toBe(1);
    const byNumber = (await get(`phoneNumberId=${sim.phoneNumbers[1]!.id}&limit=1000`)).body;
    expect(byNumber.length).toBeGreaterThan(5);
    expect(byNumber.every((r) => r.phoneNumberId === sim.phoneNumbers[1]!.id)).toBe(true);
    const gt = (await get(`createdAtGt=${row.createdAt}&limit=1000`)).body;
    expect(gt.every((r) => Date.parse(r.createdAt) > Date.parse(row.createdAt))).toBe(true);
    expect((await get(`createdAtGe=${row.createdAt}&limit=1000`)).body.length).toBeGreaterThan(gt.length);
    const lt = (await get(`createdAtLt=${row.createdAt}&limit=1000`)).body;
    expect(lt.every((r) => Date.parse(r.createdAt) < Date.parse(row.createdAt))).toBe(true);
    expect((await get(`updatedAtGe=${row.updatedAt}&updatedAtLe=${row.updatedAt}`)).body.map((r) => r.id)).toEqual([row.id]);
    expect((await get(`updatedAtGt=${row.updatedAt}&updatedAtLt=${row.updatedAt}`)).body).toEqual([]);
    expect((await get('')).body).toHaveLength(100); // default limit
    const bad = await get('limit=1001');
    expect(bad.status).toBe(400);
    expect((await get('createdAtLt=yesterday')).status).toBe(400);
  });

  it.each([500, 503, 404])('HTTP %i on the list → UpstreamError naming the connection, no body leaked', async (status) => {
    sim.server.faultQueue.push({ kind: 'status', status, body: JSON.stringify({ message: 'secret upstream text', statusCode: status }) });
    const failure = (await adapter.list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure.failure).toBe('HTTP_STATUS');
    expect(failure.details.status).toBe(status);
    expect(failure.provider).toBe('VAPI');
    expect(failure.connection).toBe('default');
    expect(failure.message).not.toContain('secret upstream text');
  });

  it('429 with Retry-After is retried after the wait, and reported as RATE_LIMITED when retries run out', async () => {
    const retrying = adapterFor(sim, sim.credentials.apiKey, { retries: 1 });
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '1', body: '{"message":"Rate limit exceeded","statusCode":429}' });
    const started = Date.now();
    const result = await retrying.list(request({ pageSize: 3 }));
    expect(result.calls.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '2' });
    const failure = (await adapter.list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure.failure).toBe('RATE_LIMITED');
    expect(failure.details.retryAfter).toBe(2);
  });

  it('a failed phone-number look-up fails the page (the Vapi side cannot be told), named as the connection', async () => {
    sim.server.targetedFaults.push({ match: (r) => r.path.startsWith('/phone-number/'), fault: { kind: 'status', status: 500 } });
    const failure = (await adapterFor(sim).list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure).toBeInstanceOf(UpstreamError);
    expect(failure.connection).toBe('default');
  });

  it('a deleted phone-number resource (404) leaves the Vapi number null', async () => {
    const row = sim.rows.find((r) => r.phoneNumberId)!;
    sim.server.targetedFaults.push({ match: (r) => r.path === `/phone-number/${row.phoneNumberId}`, fault: { kind: 'status', status: 404 } });
    const [call] = found(await adapterFor(sim).getCalls([{ key: row.id, startedAt: new Date() }]));
    expect([call!.from, call!.to].find((party) => party.isStaff)).toMatchObject({ phoneNumber: null, rawPhoneNumber: null });
  });

  it('an unreadable row costs itself alone, placed by its start', async () => {
    const bad = sim.rows[10]!;
    sim.unreadable.set(bad, { cost: 'twelve cents' });
    const result = await adapterFor(sim).list(request());
    expect(result.calls).toHaveLength(299);
    expect(result.calls.map((call) => call.key)).not.toContain(bad.id);
    expect(result.invalid).toHaveLength(1);
    const [invalid] = result.invalid!;
    expect(invalid!.error).toBeInstanceOf(InvalidRowError);
    expect(invalid!.error.message).toContain('cost');
    expect(invalid!.error.message).not.toContain('twelve cents');
    expect(invalid!.key).toBe(bad.id);
    expect(invalid!.startedAt).toEqual(new Date(bad.startedAt ?? bad.createdAt));
    const before = result.calls.slice(0, invalid!.index);
    expect(before.every((call) => call.startedAt.getTime() >= invalid!.startedAt!.getTime())).toBe(true);
    const [byId] = await adapter.getCalls([{ key: bad.id, startedAt: new Date() }]);
    expect(byId).toBeInstanceOf(InvalidRowError);
  });

  it('looks calls up by id: found, unknown (404), not a UUID (400 → unknown), and a failed one fails only its key', async () => {
    const [a, b] = [sim.rows[3]!, sim.rows[4]!];
    sim.server.targetedFaults.push({ match: (r) => r.path === `/call/${b.id}`, fault: { kind: 'status', status: 502 } });
    const results = await adapterFor(sim).getCalls([
      { key: a.id, startedAt: new Date() },
      { key: '00000000-0000-4000-8000-000000000000', startedAt: new Date() },
      { key: 'not-a-uuid', startedAt: new Date() },
      { key: b.id, startedAt: new Date() },
    ]);
    expect(withoutSignedExpiry([results[0] as CallRecord])).toEqual(withoutSignedExpiry([expected(sim, a)], false));
    expect(results[1]).toBeNull();
    expect(results[2]).toBeNull();
    expect(failureOf(results[3]).details.status).toBe(502);
    expect(sim.server.requests.filter((r) => r.path.startsWith('/call/'))).toHaveLength(4);
  });

  it('a call arriving between two pages is newer than the walk’s window: neither repeated nor shifting it', async () => {
    const own = createVapiSimulator({ seed: 33, count: 30 });
    await own.server.start();
    try {
      const ownAdapter = adapterFor(own);
      const before = inOrder(own).map((call) => call.key);
      const first = await ownAdapter.list(request({ pageSize: 10 }));
      own.addCall();
      const keys = first.calls.map((call) => call.key);
      let page: PageRef | null = first.next;
      while (page) {
        const result = await ownAdapter.list(request({ pageSize: 10, page }));
        keys.push(...result.calls.map((call) => call.key));
        page = result.next;
      }
      expect(keys).toEqual(before);
    } finally {
      await own.server.close();
    }
  });

  it('a page token from elsewhere is refused', async () => {
    await expect(adapter.list(request({ page: { token: 'bogus' } }))).rejects.toThrow(TypeError);
    expect(() => decodeVapiToken(Buffer.from('[1,[2]]').toString('base64url'))).toThrow(TypeError);
  });
});

void HOUR;
