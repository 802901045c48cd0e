import type { CallRecord, CallStatus } from '../../src/calls/model.js';
import { emptyQuery, type CallQuery } from '../../src/calls/filter.js';
import { UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { ListRequest } from '../../src/calls/adapter.js';
import { UnpodAdapter, type UnpodSettings } from '../../src/providers/unpod/client.js';
import { STATUS_TABLE, rowKey, toCallRecord } from '../../src/providers/unpod/map.js';
import { unpodRowSchema } from '../../src/providers/unpod/schema.js';
import { createUnpodSimulator, type UnpodRawRow, type UnpodSimulator } from '../../src/providers/unpod/simulator.js';
import { failureOf, found } from '../helpers/lookups.js';

const ORG = 'demo-org';
let sim: UnpodSimulator;
let baseUrl: string;

beforeEach(async () => {
  sim = createUnpodSimulator();
  baseUrl = await sim.server.start();
});
afterEach(async () => {
  await sim.server.close();
});

function adapterFor(settings: Partial<UnpodSettings> = {}, policy: Partial<HttpPolicy> = {}): UnpodAdapter {
  const http = new ConnectionHttp(
    { provider: 'UNPOD', connection: 'default' },
    { ...defaultHttpPolicy, retries: 0, ...policy },
  );
  return new UnpodAdapter('default', { baseUrl, ...sim.credentials, ...settings }, http);
}

const parsed = (row: UnpodRawRow) => unpodRowSchema.parse(row);
const keyOf = (row: UnpodRawRow) => rowKey(parsed(row), ORG);
const createdMs = (row: UnpodRawRow) => Date.parse(row.creation_time);
const expectedRecord = (row: UnpodRawRow) => toCallRecord(parsed(row), { connection: 'default', orgHandle: ORG });

const request = (overrides: Partial<ListRequest> = {}, query: Partial<CallQuery> = {}): ListRequest => ({
  query: { ...emptyQuery, ...query },
  from: null,
  until: null,
  pageSize: 100,
  page: { index: 0 },
  ...overrides,
});

/** Follows `next` to the end; returns every call and the totals reported. */
async function walk(adapter: UnpodAdapter, first: ListRequest): Promise<{ calls: CallRecord[]; totals: (number | null)[] }> {
  const calls: CallRecord[] = [];
  const totals: (number | null)[] = [];
  let page: ListRequest['page'] | null = first.page;
  while (page) {
    const result = await adapter.list({ ...first, page });
    calls.push(...result.calls);
    totals.push(result.total);
    page = result.next;
  }
  return { calls, totals };
}

const lastRequest = () => sim.server.requests[sim.server.requests.length - 1];

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }
  throw new Error('expected a rejection');
}

describe('Unpod simulator data', () => {
  it('is deterministic and newest first', () => {
    const again = createUnpodSimulator();
    expect(again.rows).toEqual(sim.rows);
    expect(sim.rows).toHaveLength(300);
    for (let i = 1; i < sim.rows.length; i++) {
      expect(createdMs(sim.rows[i - 1] as UnpodRawRow)).toBeGreaterThanOrEqual(createdMs(sim.rows[i] as UnpodRawRow));
    }
  });

  it('carries every quirk and every status word', () => {
    const withId = sim.rows.filter((r) => r.id !== undefined);
    expect(withId.length).toBeGreaterThan(100);
    expect(sim.rows.length - withId.length).toBeGreaterThan(100);
    for (const row of withId) expect(row.id).toMatch(/^call_[0-9a-f]{12}$/);
    expect(sim.rows.some((r) => typeof r.call_duration === 'number')).toBe(true);
    expect(sim.rows.some((r) => typeof r.call_duration === 'string' && /^\d+:\d{2}:\d{2}$/.test(r.call_duration))).toBe(true);
    expect(sim.rows.some((r) => r.bridge === 1)).toBe(true);
    expect(new Set(sim.rows.map((r) => r.call_status))).toEqual(
      new Set(['completed', 'missed', 'no-answer', 'failed', 'transferred']),
    );
    expect(new Set(sim.rows.map((r) => r.call_type))).toEqual(new Set(['inbound', 'outbound']));
    expect(sim.rows.some((r) => r.source_number === '+919876543210' || r.destination_number === '+919876543210')).toBe(true);
    for (const row of sim.rows.filter((r) => r.call_status === 'missed')) {
      expect(row.start_time).toBeNull();
      expect(row.end_time).toBeNull();
    }
    for (const row of sim.rows) expect(row.creation_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('keys every row uniquely', () => {
    expect(new Set(sim.rows.map(keyOf)).size).toBe(sim.rows.length);
  });
});

describe('Unpod authentication', () => {
  it('sends Authorization: Token and Org-Handle', async () => {
    await adapterFor().list(request({ pageSize: 5 }));
    const sent = lastRequest();
    expect(sent?.path).toBe('/call-logs/');
    expect(sent?.headers.authorization).toBe('Token unpod-demo-token');
    expect(sent?.headers['org-handle']).toBe('demo-org');
  });

  it('a wrong token is UNAUTHORIZED and the message carries no credential', async () => {
    const error = await rejection(adapterFor({ token: 'wrong-secret-token' }).list(request()));
    expect(error.failure).toBe('UNAUTHORIZED');
    expect(error.details.status).toBe(401);
    expect(error.provider).toBe('UNPOD');
    expect(error.message).not.toContain('wrong-secret-token');
    expect(error.message).not.toContain('Invalid token');
  });

  it('a wrong organisation handle is UNAUTHORIZED (403)', async () => {
    const [lookup] = await adapterFor({ orgHandle: 'someone-else' }).getCalls([
      { key: 'call_000000000000', startedAt: new Date(createdMs(sim.rows[0] as UnpodRawRow)) },
    ]);
    const error = failureOf(lookup);
    expect(error.failure).toBe('UNAUTHORIZED');
    expect(error.details.status).toBe(403);
    expect(error.message).not.toContain('someone-else');
  });

  it('a missing Org-Handle is an error (400)', async () => {
    const error = await rejection(adapterFor({ orgHandle: '' }).list(request()));
    expect(error.failure).toBe('HTTP_STATUS');
    expect(error.details.status).toBe(400);
  });
});

describe('Unpod simulator errors (raw HTTP)', () => {
  const get = async (query: string, headers: Record<string, string>) => {
    const response = await fetch(`${baseUrl}/call-logs/${query}`, { headers });
    return { status: response.status, body: (await response.json()) as unknown };
  };
  const auth = { authorization: 'Token unpod-demo-token', 'org-handle': 'demo-org' };

  it.each([
    ['', {}, 401, 'Authentication credentials were not provided.'],
    ['', { authorization: 'Token nope', 'org-handle': 'demo-org' }, 401, 'Invalid token.'],
    ['', { authorization: 'Token unpod-demo-token' }, 400, undefined],
    ['', { authorization: 'Token unpod-demo-token', 'org-handle': 'other' }, 403, undefined],
    ['?call_type=sideways', auth, 400, undefined],
    ['?call_status=busy', auth, 400, undefined],
    ['?start_date=yesterday', auth, 400, undefined],
    ['?end_date=2026-13-01T00:00:00Z', auth, 400, undefined],
    ['?page=0', auth, 400, undefined],
  ])('%s %j → %i', async (query, headers, status, message) => {
    const answer = await get(query, headers);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ status_code: status, message: message ?? expect.any(String) });
  });

  it('answers the documented success shape with 20 rows by default', async () => {
    const answer = await get('', auth);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ count: 300, status_code: 200, message: 'Call logs fetched successfully' });
    expect((answer.body as { data: unknown[] }).data).toHaveLength(20);
  });

  it('accepts no-answer as a call_status', async () => {
    const answer = await get('?call_status=no-answer', auth);
    expect(answer.status).toBe(200);
    expect((answer.body as { count: number }).count).toBe(sim.rows.filter((r) => r.call_status === 'no-answer').length);
  });
});

describe('Unpod list', () => {
  it('pages through every row exactly once, newest first, mapped', async () => {
    const adapter = adapterFor();
    const { calls, totals } = await walk(adapter, request({ pageSize: 100 }));
    expect(calls.map((c) => c.key)).toEqual(sim.rows.map(keyOf));
    expect(calls).toEqual(sim.rows.map(expectedRecord));
    expect(totals).toEqual([300, 300, 300]);
    expect(sim.server.count('/call-logs/')).toBe(3);
    expect(sim.server.requests.map((r) => [r.query.page, r.query.page_size])).toEqual([
      ['1', '100'],
      ['2', '100'],
      ['3', '100'],
    ]);
  });

  it('caps the page size at 100', async () => {
    const adapter = adapterFor();
    const capped = await adapter.list(request({ pageSize: 500 }));
    expect(capped.calls).toHaveLength(100);
    expect(lastRequest()?.query.page_size).toBe('100');
  });

  it('starts at the page it is given', async () => {
    const result = await adapterFor().list(request({ pageSize: 50, page: { index: 5 } }));
    expect(result.calls.map((c) => c.key)).toEqual(sim.rows.slice(250).map(keyOf));
    expect(result.next).toBeNull();
    expect(lastRequest()?.query.page).toBe('6');
  });

  it('pushes the time window down (inclusive, ISO with milliseconds)', async () => {
    const newest = sim.rows[40] as UnpodRawRow;
    const oldest = sim.rows[160] as UnpodRawRow;
    const from = new Date(createdMs(oldest));
    const until = new Date(createdMs(newest));
    const { calls, totals } = await walk(adapterFor(), request({ from, until, pageSize: 50 }));
    const expected = sim.rows.filter((r) => createdMs(r) >= from.getTime() && createdMs(r) <= until.getTime());
    expect(expected.length).toBeGreaterThanOrEqual(121);
    expect(calls.map((c) => c.key)).toEqual(expected.map(keyOf));
    expect(totals[0]).toBe(expected.length);
    expect(lastRequest()?.query.start_date).toBe(from.toISOString());
    expect(lastRequest()?.query.end_date).toBe(until.toISOString());
  });

  it('pushes an open-ended window down as one bound', async () => {
    const until = new Date(createdMs(sim.rows[250] as UnpodRawRow) - 1);
    const { calls } = await walk(adapterFor(), request({ until }));
    expect(calls.map((c) => c.key)).toEqual(sim.rows.filter((r) => createdMs(r) <= until.getTime()).map(keyOf));
    expect(lastRequest()?.query).not.toHaveProperty('start_date');
  });

  it.each<[CallStatus, string]>([
    ['COMPLETED', 'completed'],
    ['FAILED', 'failed'],
  ])('pushes statuses [%s] down as call_status=%s', async (status, word) => {
    const { calls, totals } = await walk(adapterFor(), request({}, { statuses: [status] }));
    const expected = sim.rows.filter((r) => r.call_status === word);
    expect(calls.map((c) => c.key)).toEqual(expected.map(keyOf));
    expect(calls.every((c) => c.status === status)).toBe(true);
    expect(totals[0]).toBe(expected.length);
    expect(lastRequest()?.query.call_status).toBe(word);
  });

  it.each<[CallStatus[]]>([[['NO_ANSWER']], [['COMPLETED', 'UNKNOWN']], [['COMPLETED', 'FAILED']]])(
    'does not push statuses %j down (more than one word) and leaves out no matching row',
    async (statuses) => {
      const { calls } = await walk(adapterFor(), request({}, { statuses }));
      expect(sim.server.requests.every((r) => r.query.call_status === undefined)).toBe(true);
      expect(calls.map((c) => c.key)).toEqual(sim.rows.map(keyOf));
      const matching = calls.filter((c) => statuses.includes(c.status));
      expect(matching.length).toBe(
        sim.rows.filter((r) => statuses.includes(STATUS_TABLE[r.call_status] ?? 'UNKNOWN')).length,
      );
    },
  );

  it.each<['INBOUND' | 'OUTBOUND', string]>([
    ['INBOUND', 'inbound'],
    ['OUTBOUND', 'outbound'],
  ])('pushes direction %s down as call_type=%s', async (direction, word) => {
    const { calls, totals } = await walk(adapterFor(), request({}, { direction }));
    const expected = sim.rows.filter((r) => r.call_type === word);
    expect(calls.map((c) => c.key)).toEqual(expected.map(keyOf));
    expect(calls.every((c) => c.direction === direction)).toBe(true);
    expect(totals[0]).toBe(expected.length);
    expect(lastRequest()?.query.call_type).toBe(word);
  });

  it('combines window, direction and status push-down', async () => {
    const from = new Date(createdMs(sim.rows[200] as UnpodRawRow));
    const until = new Date(createdMs(sim.rows[20] as UnpodRawRow));
    const { calls, totals } = await walk(
      adapterFor(),
      request({ from, until, pageSize: 10 }, { direction: 'OUTBOUND', statuses: ['COMPLETED'] }),
    );
    const expected = sim.rows.filter(
      (r) =>
        createdMs(r) >= from.getTime() &&
        createdMs(r) <= until.getTime() &&
        r.call_type === 'outbound' &&
        r.call_status === 'completed',
    );
    expect(expected.length).toBeGreaterThan(10);
    expect(calls.map((c) => c.key)).toEqual(expected.map(keyOf));
    expect(totals.every((t) => t === expected.length)).toBe(true);
  });

  it('says which queries it applies exactly', () => {
    const adapter = adapterFor();
    const query = (q: Partial<CallQuery>): CallQuery => ({ ...emptyQuery, ...q });
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
    expect(adapter.appliesExactly(query({ direction: 'INBOUND', statuses: ['FAILED'], startedAfter: new Date(0) }))).toBe(true);
    expect(adapter.appliesExactly(query({ statuses: ['NO_ANSWER'] }))).toBe(false);
    expect(adapter.appliesExactly(query({ statuses: ['COMPLETED', 'UNKNOWN'] }))).toBe(false);
    expect(adapter.appliesExactly(query({ phoneNumber: '+919876543210' }))).toBe(false);
  });

  it('is not disturbed by calls arriving after the window it pages through', async () => {
    const adapter = adapterFor();
    const until = new Date(createdMs(sim.rows[0] as UnpodRawRow));
    const first = await adapter.list(request({ until, pageSize: 100 }));
    const added = sim.addCall();
    expect(createdMs(added)).toBeGreaterThan(until.getTime());
    expect(sim.rows[0]).toBe(added);
    expect(first.next).toEqual({ index: 1 });
    const rest = await walk(adapter, request({ until, pageSize: 100, page: { index: 1 } }));
    expect([...first.calls, ...rest.calls].map((c) => c.key)).toEqual(sim.rows.slice(1).map(keyOf));
  });

  it('tolerates extra fields and reads both duration formats', async () => {
    const { calls } = await walk(adapterFor(), request());
    const byKey = new Map(calls.map((c) => [c.key, c]));
    const bridged = sim.rows.filter((r) => r.bridge === 1);
    expect(bridged.length).toBeGreaterThan(0);
    for (const row of bridged) expect(byKey.get(keyOf(row))).toBeDefined();
    const textual = sim.rows.find((r) => typeof r.call_duration === 'string' && r.call_duration !== '0:00:00');
    const numeric = sim.rows.find((r) => typeof r.call_duration === 'number' && r.call_duration > 0);
    const [h, m, s] = String(textual?.call_duration).split(':').map(Number) as [number, number, number];
    expect(byKey.get(keyOf(textual as UnpodRawRow))?.durationSeconds).toBe(h * 3600 + m * 60 + s);
    expect(byKey.get(keyOf(numeric as UnpodRawRow))?.durationSeconds).toBe(numeric?.call_duration);
  });

  it('gives id-less rows the same derived key on two fetches', async () => {
    const adapter = adapterFor();
    const once = await walk(adapter, request());
    const twice = await walk(adapter, request({ pageSize: 60 }));
    const idless = once.calls.filter((c) => c.providerCallId === null);
    expect(idless.length).toBeGreaterThan(100);
    for (const call of idless) expect(call.key).toMatch(/^d[0-9a-f]{20}$/);
    expect(twice.calls.map((c) => c.key)).toEqual(once.calls.map((c) => c.key));
  });

  it('fails on an unexpected body shape with BAD_BODY', async () => {
    sim.server.faultQueue.push({ kind: 'wrongShape' });
    const error = await rejection(adapterFor().list(request()));
    expect(error.failure).toBe('BAD_BODY');
  });

  it('leaves out a row that does not read and places it: an id-less row with a readable creation_time keeps its derived key', async () => {
    const rows = sim.rows.slice(0, 6);
    const idless = rows.findIndex((row) => row.id === undefined);
    const withId = rows.findIndex((row) => row.id !== undefined);
    expect(Math.min(idless, withId)).toBeGreaterThanOrEqual(0);
    try {
      sim.unreadable.set(rows[idless]!, { call_status: 404 });
      sim.unreadable.set(rows[withId]!, { creation_time: '2026-02-30T05:57:00Z' });
      const result = await adapterFor().list(request({ pageSize: 6 }));
      expect(result.calls.map((c) => c.key)).toEqual(rows.filter((_, i) => i !== idless && i !== withId).map(keyOf));
      const invalid = [...result.invalid!].sort((a, b) => a.index - b.index);
      const expectedRows = [
        { index: idless, startedAt: new Date(createdMs(rows[idless]!)), key: keyOf(rows[idless]!), providerCallId: null, problem: `data[${idless}].call_status: expected string, received number` },
        { index: withId, startedAt: null, key: rows[withId]!.id!, providerCallId: rows[withId]!.id!, problem: `data[${withId}].creation_time: the value is not a real date-time: February 2026 has 28 days` },
      ].sort((a, b) => a.index - b.index);
      expect(invalid.map((row) => ({ index: row.index, startedAt: row.startedAt, key: row.key, providerCallId: row.error.providerCallId, problem: row.error.problem }))).toEqual(expectedRows);
      // The count is Unpod's: the unreadable rows are in it.
      expect(result.total).toBe(sim.rows.length);
    } finally {
      sim.unreadable.clear();
    }
  });

  it('retries a 429 that says Retry-After', async () => {
    sim.server.faultQueue.push({
      kind: 'status',
      status: 429,
      retryAfter: '0',
      body: JSON.stringify({ status_code: 429, message: 'Request was throttled.' }),
    });
    const result = await adapterFor({}, { retries: 1 }).list(request({ pageSize: 5 }));
    expect(result.calls).toHaveLength(5);
    expect(sim.server.count()).toBe(2);
  });
});

describe('Unpod getCalls', () => {
  const locatorOf = (row: UnpodRawRow) => ({ key: keyOf(row), startedAt: new Date(createdMs(row)) });

  it('finds calls with and without ids, in locator order, null for unknown ones', async () => {
    const withId = sim.rows.filter((r) => r.id !== undefined).slice(3, 6);
    const withoutId = sim.rows.filter((r) => r.id === undefined).slice(10, 13);
    const known = [withId[0], withoutId[0], withId[1], withoutId[1], withId[2], withoutId[2]] as UnpodRawRow[];
    const unknownAtKnownTime = { key: 'call_ffffffffffff', startedAt: new Date(createdMs(known[0] as UnpodRawRow)) };
    const unknownElsewhere = { key: 'd00000000000000000000', startedAt: new Date('2020-01-01T00:00:00Z') };
    const result = found(await adapterFor().getCalls([
      ...known.map(locatorOf).slice(0, 3),
      unknownAtKnownTime,
      ...known.map(locatorOf).slice(3),
      unknownElsewhere,
    ]));
    expect(result).toEqual([
      ...known.slice(0, 3).map(expectedRecord),
      null,
      ...known.slice(3).map(expectedRecord),
      null,
    ]);
    expect(result.every((c) => c === null || (c as CallRecord).details !== null)).toBe(true);
  });

  it('queries a narrow creation_time window per group, groups in parallel', async () => {
    const a = sim.rows[30] as UnpodRawRow;
    const b = sim.rows[200] as UnpodRawRow;
    sim.server.latencyMs = 250;
    const result = found(await adapterFor().getCalls([locatorOf(a), locatorOf(b)]));
    expect(result.map((c) => c?.key)).toEqual([keyOf(a), keyOf(b)]);
    expect(sim.server.count('/call-logs/')).toBe(2);
    // Both windows in flight at once, not one after the other.
    expect(sim.server.maxInFlight).toBe(2);
    const windows = sim.server.requests.map((r) => [r.query.start_date, r.query.end_date, r.query.page_size]).sort();
    expect(windows).toEqual(
      [
        [new Date(createdMs(a)).toISOString(), new Date(createdMs(a)).toISOString(), '100'],
        [new Date(createdMs(b)).toISOString(), new Date(createdMs(b)).toISOString(), '100'],
      ].sort(),
    );
  });

  it('finds 50 id-less calls within one hour with exactly one request', async () => {
    const added = Array.from({ length: 50 }, () => sim.addCall({ id: undefined }));
    const first = added[0] as UnpodRawRow;
    const last = added[49] as UnpodRawRow;
    expect(createdMs(last) - createdMs(first)).toBeLessThanOrEqual(3_600_000);
    expect(added.every((r) => r.id === undefined)).toBe(true);
    // Shuffled, as a client's list of ids would be.
    const locators = added.map(locatorOf).sort((x, y) => (x.key < y.key ? -1 : 1));
    sim.server.resetCounters();
    const result = found(await adapterFor().getCalls(locators));
    expect(sim.server.count()).toBe(1);
    expect(result.map((c) => c?.key)).toEqual(locators.map((l) => l.key));
    expect(result.every((c) => c?.providerCallId === null)).toBe(true);
    expect(lastRequest()?.query.start_date).toBe(new Date(createdMs(first)).toISOString());
    expect(lastRequest()?.query.end_date).toBe(new Date(createdMs(last)).toISOString());
  });

  it('finds id-less rows found by list() again by key', async () => {
    const adapter = adapterFor();
    const page = await adapter.list(request({ pageSize: 40, page: { index: 2 } }));
    const idless = page.calls.filter((c) => c.providerCallId === null);
    expect(idless.length).toBeGreaterThan(5);
    const again = await adapter.getCalls(idless.map((c) => ({ key: c.key, startedAt: c.startedAt })));
    expect(again).toEqual(idless);
  });

  it('pages through a window holding more than 100 rows', async () => {
    // 150 calls 1–60 s apart; every tenth is wanted, so the locators chain into one window.
    const added = Array.from({ length: 150 }, () => sim.addCall());
    const wanted = added.filter((_, i) => i % 10 === 0 || i === 149);
    sim.server.resetCounters();
    const result = await adapterFor().getCalls(wanted.map(locatorOf));
    expect(result).toEqual(wanted.map(expectedRecord));
    expect(sim.server.requests.map((r) => [r.query.page, r.query.start_date, r.query.end_date])).toEqual(
      ['1', '2'].map((page) => [
        page,
        new Date(createdMs(added[0] as UnpodRawRow)).toISOString(),
        new Date(createdMs(added[149] as UnpodRawRow)).toISOString(),
      ]),
    );
  });

  /** Fails every request for the window (or span) that starts at `row`'s creation time. */
  const failWindowOf = (row: UnpodRawRow, page?: string) =>
    sim.server.targetedFaults.push({
      match: (r) => r.query.start_date === new Date(createdMs(row)).toISOString() && (page === undefined || r.query.page === page),
      fault: { kind: 'status', status: 500 },
    });

  it('a failed window fails only its own calls: the other windows still come back', async () => {
    const a = sim.rows[30] as UnpodRawRow;
    const b = sim.rows[200] as UnpodRawRow;
    failWindowOf(b); // the windows are keyed by their earliest call: b is older than a
    const unknownBesideB = { key: 'call_ffffffffffff', startedAt: new Date(createdMs(b)) };
    const [foundA, failedB, unknown] = await adapterFor().getCalls([locatorOf(a), locatorOf(b), unknownBesideB]);
    expect(foundA).toEqual(expectedRecord(a));
    expect(failureOf(failedB).details.status).toBe(500);
    // Not null: the request that would have told whether it exists failed.
    expect(failureOf(unknown).failure).toBe('HTTP_STATUS');
    expect(sim.server.count('/call-logs/')).toBe(2);
  });

  it('a failed later page of a window fails only the calls not found on the page that answered', async () => {
    // As in 'pages through a window holding more than 100 rows': one window, two pages.
    const added = Array.from({ length: 150 }, () => sim.addCall());
    const wanted = added.filter((_, i) => i % 10 === 0 || i === 149);
    failWindowOf(added[0]!, '2');
    const result = await adapterFor().getCalls(wanted.map(locatorOf));
    expect(sim.server.requests.map((r) => r.query.page)).toEqual(['1', '2']);
    const answered = result.flatMap((lookup, i) => (lookup instanceof Error ? [] : [[lookup, wanted[i]!] as const]));
    const failed = result.flatMap((lookup, i) => (lookup instanceof Error ? [[lookup, wanted[i]!] as const] : []));
    expect(answered.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    for (const [call, row] of answered) expect(call).toEqual(expectedRecord(row));
    for (const [error] of failed) expect(failureOf(error).details.status).toBe(500);
    // Page 1 holds the newest rows: every call found is newer than every call that failed.
    const oldestFound = Math.min(...answered.map(([, row]) => createdMs(row)));
    expect(Math.max(...failed.map(([, row]) => createdMs(row)))).toBeLessThanOrEqual(oldestFound);
  });
});
