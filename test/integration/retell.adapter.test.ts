import { emptyQuery, matches, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { PageRef } from '../../src/calls/adapter.js';
import { RetellAdapter, type RetellSettings } from '../../src/providers/retell/client.js';
import { toCallRecord } from '../../src/providers/retell/map.js';
import { retellCallSchema } from '../../src/providers/retell/schema.js';
import { createRetellSimulator, type RetellRawCall, type RetellSimulator } from '../../src/providers/retell/simulator.js';
import { SHARED_NUMBERS, sharedInstants } from '../../src/simulation/data.js';
import { listRequest as request, walkAdapter as walk } from '../helpers/adapters.js';

function adapterFor(sim: RetellSimulator, settings: Partial<RetellSettings> = {}, policy: Partial<HttpPolicy> = {}): RetellAdapter {
  const http = new ConnectionHttp({ provider: 'RETELL', connection: 'default' }, { ...defaultHttpPolicy, retries: 0, breakerThreshold: 1000, ...policy });
  return new RetellAdapter('default', { baseUrl: sim.server.url, apiKey: sim.credentials.apiKey, ...settings }, http);
}

const expected = (row: RetellRawCall): CallRecord => toCallRecord(retellCallSchema.parse(row), { connection: 'default' })!;

type Body = { filter_criteria?: Record<string, unknown>; pagination_key?: string; limit?: number; sort_order?: string; skip?: number };
const bodyOf = (sim: RetellSimulator, i = 0): Body => sim.server.requests[i]?.body as Body;

describe('Retell AI adapter over HTTP', () => {
  let sim: RetellSimulator;
  let adapter: RetellAdapter;
  /** The rows the list places: every call but those not started yet (registered). */
  let listed: RetellRawCall[];

  beforeAll(async () => {
    sim = createRetellSimulator();
    await sim.server.start();
    adapter = adapterFor(sim);
    listed = sim.rows.filter((row) => row.start_timestamp !== undefined);
  });
  afterAll(() => sim.server.close());
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
  });

  it('simulates realistic, deterministic data: every status word, refinements, web calls, ties with other providers', () => {
    expect(sim.rows).toHaveLength(302);
    const words = new Set(sim.rows.map((row) => row.call_status));
    for (const word of ['registered', 'ongoing', 'ended', 'not_connected', 'error', 'transferring']) expect(words).toContain(word);
    const statuses = new Set(sim.rows.filter((row) => row.start_timestamp !== undefined).map((row) => expected(row).status));
    for (const status of ['IN_PROGRESS', 'COMPLETED', 'BUSY', 'NO_ANSWER', 'CANCELED', 'FAILED', 'UNKNOWN']) expect(statuses).toContain(status);
    expect(sim.rows.some((row) => row.call_type === 'web_call' && row.direction === undefined && row.from_number === undefined)).toBe(true);
    expect(sim.rows.some((row) => row.from_number === SHARED_NUMBERS.us || row.to_number === SHARED_NUMBERS.us)).toBe(true);
    const starts = new Set(sim.rows.map((row) => row.start_timestamp));
    for (const instant of sharedInstants()) expect(starts).toContain(instant);
    expect(sim.rows.some((row) => !Number.isInteger(row.call_cost?.combined_cost ?? 0))).toBe(true);
    expect(createRetellSimulator().rows).toEqual(sim.rows);
  });

  it('authenticates with a Bearer key and POSTs a JSON body', async () => {
    await adapter.list(request({ pageSize: 5 }));
    const [sent] = sim.server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/v3/list-calls');
    expect(sent?.headers.authorization).toBe(`Bearer ${sim.credentials.apiKey}`);
    expect(sent?.headers['content-type']).toMatch(/^application\/json/);
    expect(sent?.body).toEqual({ sort_order: 'descending', limit: 5 });
  });

  it('the simulator refuses a missing or wrong key with Retell\'s error shape', async () => {
    const refused = await fetch(`${sim.server.url}/v3/list-calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ status: 'error', message: 'API key is missing or invalid.' });
  });

  it('wrong key → UNAUTHORIZED naming the connection, without the key', async () => {
    const wrong = adapterFor(sim, { apiKey: 'key_leaked_secret_value' });
    const failure = await wrong.list(request()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).failure).toBe('UNAUTHORIZED');
    expect((failure as UpstreamError).message).toContain('Retell AI connection "default"');
    expect((failure as UpstreamError).message).not.toContain('key_leaked_secret_value');
    const [byId] = await wrong.getCalls([{ key: listed[0]!.call_id, startedAt: new Date() }]);
    expect((byId as UpstreamError).failure).toBe('UNAUTHORIZED');
  });

  it('pages to the end by pagination_key, newest first, every started call once, mapped', async () => {
    const { calls, pages } = await walk(adapter, { pageSize: 40 });
    expect(pages).toBe(Math.ceil(listed.length / 40));
    expect(calls).toEqual(listed.map(expected));
    const keys = sim.server.requests.slice(1).map((sent) => (sent.body as Body).pagination_key);
    expect(keys.every((key) => typeof key === 'string' && key.length > 0)).toBe(true);
    // The same body on every page, but for the key; never with skip.
    expect(sim.server.requests.every((sent) => (sent.body as Body).skip === undefined && (sent.body as Body).limit === 40)).toBe(true);
  });

  it('one request for all at limit 1000; a larger page size is clamped, which the simulator enforces', async () => {
    const { pages } = await walk(adapter, { pageSize: 5000 });
    expect(pages).toBe(1);
    expect(bodyOf(sim).limit).toBe(1000);
    const direct = await fetch(`${sim.server.url}/v3/list-calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sim.credentials.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ limit: 1001 }),
    });
    expect(direct.status).toBe(400);
  });

  it('leaves out calls not started yet (registered: no start_timestamp), still found by id', async () => {
    const registered = sim.rows.filter((row) => row.call_status === 'registered');
    expect(registered).toHaveLength(2);
    const { calls } = await walk(adapter);
    expect(calls.map((call) => call.key)).not.toContain(registered[0]!.call_id);
    const at = new Date('2026-11-20T12:00:00.000Z');
    const [found] = await adapter.getCalls([{ key: registered[0]!.call_id, startedAt: at }]);
    expect(found).toMatchObject({ key: registered[0]!.call_id, status: 'INITIATED', startedAt: at });
  });

  it('resumes from a position in one request: a window bounded at the cursor\'s instant', async () => {
    const position = listed[200]!;
    const until = new Date(position.start_timestamp!);
    const result = await adapter.list(request({ until, pageSize: 10 }));
    expect(sim.server.count()).toBe(1);
    expect(bodyOf(sim).filter_criteria).toEqual({ start_timestamp: { type: 'number', op: 'le', value: until.getTime() } });
    expect(result.calls.map((call) => call.key)).toEqual(listed.filter((row) => row.start_timestamp! <= until.getTime()).slice(0, 10).map((row) => row.call_id));
  });

  it('a call arriving between two pages is neither repeated nor shifts the walk', async () => {
    const own = createRetellSimulator({ seed: 91, count: 40 });
    await own.server.start();
    try {
      const ownAdapter = adapterFor(own);
      const before = own.rows.filter((row) => row.start_timestamp !== undefined).map((row) => row.call_id);
      const first = await ownAdapter.list(request({ pageSize: 15 }));
      const added = own.addCall();
      const keys = first.calls.map((call) => call.key);
      let page: PageRef | null = first.next;
      while (page) {
        const result = await ownAdapter.list(request({ pageSize: 15, page }));
        keys.push(...result.calls.map((call) => call.key));
        page = result.next;
      }
      expect(keys).toEqual(before);
      const fresh = await ownAdapter.list(request({ pageSize: 3 }));
      expect(fresh.calls[0]).toEqual(expected(added));
    } finally {
      await own.server.close();
    }
  });

  it('pushes a two-sided window down as bt, 1 ms wider each side, and loses no call at its edges', async () => {
    const from = new Date(listed[250]!.start_timestamp!);
    const until = new Date(listed[100]!.start_timestamp!);
    const { calls } = await walk(adapter, { from, until });
    expect(bodyOf(sim).filter_criteria).toEqual({ start_timestamp: { type: 'range', op: 'bt', value: [from.getTime() - 1, until.getTime() + 1] } });
    const query: CallQuery = { ...emptyQuery, startedAfter: from, startedBefore: new Date(until.getTime() + 1) };
    const inside = listed.map(expected).filter((call) => matches(call, query));
    expect(calls.filter((call) => matches(call, query))).toEqual(inside);
    expect(inside.map((call) => call.key)).toContain(listed[250]!.call_id);
    expect(inside.map((call) => call.key)).toContain(listed[100]!.call_id);
  });

  it.each([
    [['COMPLETED'], ['ended']],
    [['IN_PROGRESS'], ['ongoing']],
    [['CANCELED'], ['not_connected']],
  ] as const)('pushes statuses %j down as call_status in %j; the core\'s filter gives the same rows', async (statuses, words) => {
    const query: CallQuery = { ...emptyQuery, statuses: [...statuses] };
    const { calls } = await walk(adapter, { query });
    expect(bodyOf(sim).filter_criteria).toEqual({ call_status: { type: 'enum', op: 'in', value: words } });
    const wanted = listed.map(expected).filter((call) => matches(call, query));
    expect(wanted.length).toBeGreaterThan(0);
    expect(calls.filter((call) => matches(call, query))).toEqual(wanted);
  });

  it.each([['BUSY'], ['NO_ANSWER'], ['FAILED'], ['UNKNOWN']] as const)(
    'does not push %s down (a refinement or an unfilterable word); the core finds them all',
    async (status) => {
      const query: CallQuery = { ...emptyQuery, statuses: [status] };
      const { calls } = await walk(adapter, { query });
      expect(bodyOf(sim).filter_criteria).toBeUndefined();
      const wanted = listed.map(expected).filter((call) => matches(call, query));
      expect(wanted.length).toBeGreaterThan(0);
      expect(calls.filter((call) => matches(call, query))).toEqual(wanted);
    },
  );

  it('asks nothing for statuses no Retell call can have', async () => {
    const result = await adapter.list(request({ query: { ...emptyQuery, statuses: ['QUEUED', 'RINGING'] } }));
    expect(result).toEqual({ calls: [], next: null, total: null });
    expect(sim.server.count()).toBe(0);
  });

  it.each(['INBOUND', 'OUTBOUND'] as const)('pushes direction %s down exactly (web calls have none)', async (direction) => {
    const query: CallQuery = { ...emptyQuery, direction };
    const { calls } = await walk(adapter, { query });
    expect(bodyOf(sim).filter_criteria).toEqual({ direction: { type: 'enum', op: 'in', value: [direction.toLowerCase()] } });
    expect(calls).toEqual(listed.map(expected).filter((call) => matches(call, query)));
    expect(adapter.appliesExactly(query)).toBe(true);
  });

  it('pushes the number down one party at a time; the two walks hold exactly the core\'s matches', async () => {
    const query: CallQuery = { ...emptyQuery, phoneNumber: SHARED_NUMBERS.us };
    const from = await walk(adapter, { query, party: 'from' });
    expect(bodyOf(sim).filter_criteria).toEqual({ from_number: { type: 'string', op: 'eq', value: SHARED_NUMBERS.us } });
    sim.server.resetCounters();
    const to = await walk(adapter, { query, party: 'to' });
    expect(bodyOf(sim).filter_criteria).toEqual({ to_number: { type: 'string', op: 'eq', value: SHARED_NUMBERS.us } });
    const merged = [...from.calls, ...to.calls].map((call) => call.key).sort();
    const wanted = listed.map(expected).filter((call) => matches(call, query)).map((call) => call.key).sort();
    expect(wanted.length).toBeGreaterThan(0);
    expect(merged).toEqual(wanted);
    expect(adapter.appliesExactly(query)).toBe(false);
  });

  it('combines every pushed filter in one filter_criteria (AND)', async () => {
    const query: CallQuery = { ...emptyQuery, statuses: ['COMPLETED'], direction: 'OUTBOUND', phoneNumber: SHARED_NUMBERS.us };
    await adapter.list(request({ query, party: 'to', from: new Date(0), until: new Date(2e12) }));
    expect(Object.keys(bodyOf(sim).filter_criteria ?? {}).sort()).toEqual(['call_status', 'direction', 'start_timestamp', 'to_number']);
    expect(adapter.appliesExactly({ ...emptyQuery, statuses: ['COMPLETED'] })).toBe(false);
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
  });

  it('the simulator applies every filter the page lists, and refuses bad ones', async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${sim.server.url}/v3/list-calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.credentials.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { items: RetellRawCall[]; total?: number; message?: string } };
    };
    const ids = async (criteria: unknown) => (await post({ filter_criteria: criteria, limit: 1000 })).body.items.map((row) => row.call_id);
    const idsOf = (test: (row: RetellRawCall) => boolean) => sim.rows.filter(test).map((row) => row.call_id);
    expect(await ids({ duration_ms: { type: 'number', op: 'gt', value: 60000 } })).toEqual(idsOf((r) => (r.duration_ms ?? -1) > 60000));
    expect(await ids({ combined_cost: { type: 'range', op: 'bt', value: [100, 200] } })).toEqual(idsOf((r) => (r.call_cost?.combined_cost ?? -1) >= 100 && (r.call_cost?.combined_cost ?? -1) <= 200));
    expect(await ids({ end_timestamp: { type: 'number', op: 'lt', value: listed[100]!.start_timestamp } })).toEqual(idsOf((r) => r.end_timestamp !== undefined && r.end_timestamp < listed[100]!.start_timestamp!));
    expect(await ids({ call_type: { type: 'enum', op: 'in', value: ['web_call'] } })).toEqual(idsOf((r) => r.call_type === 'web_call'));
    expect(await ids({ call_id: { type: 'string', op: 'sw', value: 'call_a' } })).toEqual(idsOf((r) => r.call_id.startsWith('call_a')));
    expect(await ids({ from_number: { type: 'string', op: 'co', value: '415' } })).toEqual(idsOf((r) => (r.from_number ?? '').includes('415')));
    const batch = sim.rows.find((r) => r.batch_call_id)!.batch_call_id!;
    expect(await ids({ batch_call_id: { type: 'string', op: 'eq', value: batch } })).toEqual(idsOf((r) => r.batch_call_id === batch));
    expect((await post({ include_total: true, filter_criteria: { call_status: { type: 'enum', op: 'in', value: ['ended'] } } })).body.total).toBe(sim.rows.filter((r) => r.call_status === 'ended').length);
    // registered cannot be filtered; pagination_key and skip are mutually exclusive.
    expect((await post({ filter_criteria: { call_status: { type: 'enum', op: 'in', value: ['registered'] } } })).status).toBe(400);
    expect((await post({ pagination_key: 'x', skip: 1 })).status).toBe(400);
    expect((await post({ skip: 10, limit: 5 })).body.items.map((row) => row.call_id)).toEqual(sim.rows.slice(10, 15).map((row) => row.call_id));
    const ascending = (await post({ sort_order: 'ascending', limit: 3 })).body.items.map((row) => row.call_id);
    expect(ascending).toEqual(sim.rows.slice(-3).reverse().map((row) => row.call_id));
  });

  it('list items carry no transcript; transcriptText is left for get-call (getDetails), one request per call', async () => {
    const row = listed.find((r) => r.transcript)!;
    const first = await adapter.list(request({ pageSize: 1000 }));
    const call = first.calls.find((c) => c.key === row.call_id)!;
    expect(call.details).not.toHaveProperty('transcriptText');
    expect(call.details?.recordings?.length).toBe(2);
    sim.server.resetCounters();
    const details = await adapter.getDetails(call);
    expect(details.transcriptText).toBe(row.transcript);
    expect(sim.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /v2/get-call/${row.call_id}`]);
    const silent = listed.find((r) => !r.transcript && r.call_status === 'not_connected')!;
    expect((await adapter.getDetails(expected(silent))).transcriptText).toBeNull();
  });

  it('getCalls finds calls in order with their transcripts, null for an unknown id (422)', async () => {
    const [a, b] = [listed[5]!, listed[6]!];
    const found = await adapter.getCalls([
      { key: a.call_id, startedAt: new Date(a.start_timestamp!) },
      { key: 'call_unknown', startedAt: new Date() },
      { key: b.call_id, startedAt: new Date(b.start_timestamp!) },
    ]);
    expect(found[0]).toEqual({ ...expected(a), details: { ...expected(a).details, transcriptText: a.transcript ?? null } });
    expect(found[1]).toBeNull();
    expect((found[2] as CallRecord).key).toBe(b.call_id);
    expect(await adapter.getCalls([])).toEqual([]);
  });

  it('a timestamp that is not epoch milliseconds is an unreadable row; the others still read', async () => {
    const [before, row, after] = listed.slice(3, 6) as [RetellRawCall, RetellRawCall, RetellRawCall];
    sim.unreadable.set(row, { start_timestamp: '2026-11-20T09:02:54Z' });
    try {
      const result = await adapter.list(request({ pageSize: 3, until: new Date(before.start_timestamp!) }));
      expect(result.calls).toEqual([expected(before), expected(after)]);
      expect(result.invalid).toEqual([{ index: 1, error: expect.any(InvalidRowError), startedAt: null, key: row.call_id }]);
      const error = result.invalid![0]!.error;
      expect([error.provider, error.connection, error.providerCallId]).toEqual(['RETELL', 'default', row.call_id]);
      expect(error.problem).toMatch(/^items\[1\]\.start_timestamp: /);
      expect(error.message).not.toContain('2026-11-20');
      const [byId] = await adapter.getCalls([{ key: row.call_id, startedAt: new Date() }]);
      expect(byId).toBeInstanceOf(InvalidRowError);
      await expect(adapter.getDetails(expected(row))).rejects.toBeInstanceOf(InvalidRowError);
    } finally {
      sim.unreadable.clear();
    }
  });

  it.each([400, 402, 500])('a %i fails the list as a typed UpstreamError naming the connection', async (status) => {
    sim.server.faultQueue.push({ kind: 'status', status, body: JSON.stringify({ status: 'error', message: 'An unexpected server error occurred.' }) });
    const failure = await adapter.list(request()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).failure).toBe('HTTP_STATUS');
    expect([(failure as UpstreamError).provider, (failure as UpstreamError).connection]).toEqual(['RETELL', 'default']);
    expect((failure as UpstreamError).message).not.toContain('unexpected server error');
  });

  it('a 429 with Retry-After is retried; without retries it is RATE_LIMITED with the wait', async () => {
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '7' });
    const failure = (await adapter.list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure.failure).toBe('RATE_LIMITED');
    expect(failure.details.retryAfter).toBe(7);
    const patient = adapterFor(sim, {}, { retries: 1 });
    sim.server.resetCounters();
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '0' });
    const result = await patient.list(request({ pageSize: 3 }));
    // The two registered calls come first and are left out.
    expect(result.calls.map((call) => call.key)).toEqual(listed.slice(0, 1).map((row) => row.call_id));
    expect(sim.server.count()).toBe(2);
  });

  it('a body that is not the list envelope is BAD_BODY', async () => {
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify([{ call_id: 'x' }]) });
    const failure = (await adapter.list(request()).catch((error: unknown) => error)) as UpstreamError;
    expect(failure.failure).toBe('BAD_BODY');
  });

  it('a missing has_more: a full page with a key goes on, a short one is the last', async () => {
    const rows = listed.slice(0, 2).map((row) => ({ ...row, transcript: undefined }));
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify({ items: rows, pagination_key: 'k1' }) });
    expect((await adapter.list(request({ pageSize: 2 }))).next).toEqual({ token: 'k1' });
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify({ items: rows, pagination_key: 'k1' }) });
    expect((await adapter.list(request({ pageSize: 3 }))).next).toBeNull();
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify({ items: [], pagination_key: 'k1', has_more: true }) });
    expect((await adapter.list(request({ pageSize: 3 }))).next).toBeNull();
  });

});
