import { emptyQuery, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord, CallStatus } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy } from '../../src/providers/http.js';
import type { ListRequest } from '../../src/calls/adapter.js';
import { CinnoxAdapter, type CinnoxSettings } from '../../src/providers/cinnox/client.js';
import { toCallRecord } from '../../src/providers/cinnox/map.js';
import { cinnoxCallSchema } from '../../src/providers/cinnox/schema.js';
import {
  type CinnoxCallRow,
  type CinnoxSimulator,
  createCinnoxSimulator,
} from '../../src/providers/cinnox/simulator.js';

const ref = { provider: 'CINNOX', connection: 'default' } as const;
const PATH = '/apps/demo-app/data/call-log';

let sim: CinnoxSimulator;
let baseUrl: string;

beforeAll(async () => {
  sim = createCinnoxSimulator();
  baseUrl = await sim.server.start();
});

afterAll(async () => {
  await sim.server.close();
});

beforeEach(() => {
  sim.server.resetCounters();
  sim.server.clearFaults();
});

/** A fresh adapter (and breaker) per test. */
function adapter(settings: Partial<CinnoxSettings> = {}, retries = 0): CinnoxAdapter {
  return new CinnoxAdapter(
    'default',
    { baseUrl, ...sim.credentials, ...settings },
    new ConnectionHttp(ref, { ...defaultHttpPolicy, retries }),
  );
}

const mapped = (row: CinnoxCallRow): CallRecord => toCallRecord(cinnoxCallSchema.parse(row), ref);
const at = (row: CinnoxCallRow | undefined): Date => new Date((row as CinnoxCallRow).callDate);

function request(overrides: Partial<ListRequest> = {}): ListRequest {
  return { query: emptyQuery, from: null, until: null, pageSize: 100, page: { index: 0 }, ...overrides };
}

/** Pages through with `list()` until `next` is null. */
async function walk(cinnox: CinnoxAdapter, overrides: Partial<ListRequest> = {}) {
  const calls: CallRecord[] = [];
  let page: ListRequest['page'] | null = { index: 0 };
  let pages = 0;
  while (page) {
    const result = await cinnox.list(request({ ...overrides, page }));
    expect(result.total).toBeNull();
    calls.push(...result.calls);
    page = result.next;
    pages += 1;
  }
  return { calls, pages };
}

const query = (statuses: CallStatus[]): CallQuery => ({ ...emptyQuery, statuses });
const lastQuery = () => sim.server.requests.at(-1)?.query ?? {};

async function upstreamError(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

describe('CINNOX adapter over HTTP', () => {
  it('sends the app token as a Bearer token and asks for JSON', async () => {
    await adapter().list(request({ pageSize: 5 }));
    const sent = sim.server.requests[0];
    expect(sent?.method).toBe('GET');
    expect(sent?.path).toBe(PATH);
    expect(sent?.headers.authorization).toBe('Bearer cinnox-demo-token');
    expect(sent?.headers.accept).toBe('application/json');
    expect(sent?.query).toEqual({ offset: '0', limit: '5' });
  });

  it('reports a wrong token as UNAUTHORIZED without the credentials', async () => {
    const error = await upstreamError(adapter({ appToken: 'wrong-token-123' }).list(request()));
    expect(error.failure).toBe('UNAUTHORIZED');
    expect(error.details.status).toBe(401);
    expect(error.provider).toBe('CINNOX');
    expect(error.connection).toBe('default');
    expect(error.message).not.toMatch(/wrong-token-123|cinnox-demo-token|unauthorized"/);
  });

  it('reports an unknown app as an HTTP status failure', async () => {
    const error = await upstreamError(adapter({ appId: 'other-app' }).list(request()));
    expect(error.failure).toBe('HTTP_STATUS');
    expect(error.details.status).toBe(404);
    expect(error.message).not.toContain('app not found');
  });

  it('pages through every row exactly once, newest first, mapped, by offset until a short page', async () => {
    const { calls, pages } = await walk(adapter(), { pageSize: 70 });
    expect(calls.map((call) => call.key)).toEqual(sim.rows.map((row) => row.callID));
    expect(new Set(calls.map((call) => call.key)).size).toBe(sim.rows.length);
    expect(calls).toEqual(sim.rows.map(mapped));
    // 70 + 70 + 70 + 70 + 20: the short fifth page is the last; no count is needed.
    expect(pages).toBe(5);
    expect(sim.server.count(PATH)).toBe(5);
    expect(sim.server.requests.map((r) => [r.query.offset, r.query.limit])).toEqual([
      ['0', '70'],
      ['70', '70'],
      ['140', '70'],
      ['210', '70'],
      ['280', '70'],
    ]);
  });

  it('asks once more after a full last page and stops at the empty one', async () => {
    const { calls, pages } = await walk(adapter(), { pageSize: 100 });
    expect(calls).toHaveLength(300);
    expect(pages).toBe(4);
  });

  it('reads everything in one request of 500 and never asks for more than 500', async () => {
    const cinnox = adapter();
    const result = await cinnox.list(request({ pageSize: 500 }));
    expect(result.calls).toHaveLength(300);
    expect(result.next).toBeNull();
    expect(lastQuery().limit).toBe('500');
    expect(cinnox.capabilities).toEqual({ maxPageSize: 500, resume: 'window', reportsTotal: false, listsOngoing: false });
    await cinnox.list(request({ pageSize: 501 }));
    expect(lastQuery().limit).toBe('500');
    expect(sim.server.count()).toBe(2);
  });

  it('pushes the time window down: from inclusive, until inclusive as endAt + 1 ms', async () => {
    const from = at(sim.rows[200]);
    const until = at(sim.rows[50]);
    const { calls } = await walk(adapter(), { from, until, pageSize: 40 });
    const expected = sim.rows.filter((row) => {
      const t = Date.parse(row.callDate);
      return t >= from.getTime() && t <= until.getTime();
    });
    expect(calls.map((call) => call.key)).toEqual(expected.map((row) => row.callID));
    // Both boundary rows are in.
    expect(calls.map((call) => call.key)).toContain(sim.rows[50]?.callID);
    expect(calls.map((call) => call.key)).toContain(sim.rows[200]?.callID);
    expect(sim.server.requests[0]?.query).toMatchObject({
      startAt: from.toISOString(),
      endAt: new Date(until.getTime() + 1).toISOString(),
    });
  });

  it('pushes an open-ended window down', async () => {
    const from = at(sim.rows[30]);
    const { calls } = await walk(adapter(), { from, pageSize: 500 });
    expect(calls.map((call) => call.key)).toEqual(
      sim.rows.filter((row) => Date.parse(row.callDate) >= from.getTime()).map((row) => row.callID),
    );
    expect(lastQuery().endAt).toBeUndefined();
  });

  it.each([
    ['COMPLETED', 'Call Ended'],
    ['NO_ANSWER', 'Not Answered'],
  ] as const)('pushes %s down as status=%s', async (status, word) => {
    const { calls } = await walk(adapter(), { query: query([status]), pageSize: 50 });
    const expected = sim.rows.filter((row) => row.status === word);
    expect(expected.length).toBeGreaterThan(0);
    expect(calls.map((call) => call.key)).toEqual(expected.map((row) => row.callID));
    expect(calls.every((call) => call.status === status)).toBe(true);
    expect(sim.server.requests.every((r) => r.query.status === word)).toBe(true);
  });

  it.each([
    [['BUSY']], // Declined and Busy: two words
    [['CANCELED']], // Cancelled and Abandoned
    [['COMPLETED', 'FAILED']],
    [['UNKNOWN']], // no word at all
  ] as CallStatus[][][])('does not push %j down and returns every row for the core to filter', async (statuses) => {
    const cinnox = adapter();
    const result = await cinnox.list(request({ query: query(statuses), pageSize: 500 }));
    expect(result.calls).toHaveLength(sim.rows.length);
    expect(lastQuery().status).toBeUndefined();
    expect(cinnox.appliesExactly(query(statuses))).toBe(false);
  });

  it('says which queries it applies exactly', () => {
    const cinnox = adapter();
    expect(cinnox.appliesExactly(emptyQuery)).toBe(true);
    expect(cinnox.appliesExactly(query(['COMPLETED']))).toBe(true);
    expect(cinnox.appliesExactly({ ...emptyQuery, direction: 'INBOUND' })).toBe(false);
    expect(cinnox.appliesExactly({ ...emptyQuery, phoneNumber: '+919876543210' })).toBe(false);
  });

  it('reads direction from isStaff both ways, and none when neither party is staff', async () => {
    const { calls } = await walk(adapter(), { pageSize: 500 });
    const byKey = new Map(calls.map((call) => [call.key, call]));
    for (const row of sim.rows) {
      const call = byKey.get(row.callID) as CallRecord;
      const expected = row.callerInfo.isStaff ? 'OUTBOUND' : row.calleeInfo.isStaff ? 'INBOUND' : null;
      expect(call.direction).toBe(expected);
      expect(call.agentId).toBe(
        row.callerInfo.isStaff ? row.callerInfo.eid : row.calleeInfo.isStaff ? row.calleeInfo.eid : null,
      );
      // The callee never has a number; the caller's JSON number becomes E.164 with its raw digits.
      expect(call.to.phoneNumber).toBeNull();
      expect(call.to.rawPhoneNumber).toBeNull();
      expect(call.from.rawPhoneNumber).toBe(String(row.callerInfo.phoneNumber));
      expect(call.from.phoneNumber).toBe(`+${row.callerInfo.phoneNumber}`);
    }
    const directions = calls.map((call) => call.direction);
    expect(directions.filter((d) => d === 'INBOUND').length).toBeGreaterThan(50);
    expect(directions.filter((d) => d === 'OUTBOUND').length).toBeGreaterThan(50);
    expect(directions.filter((d) => d === null).length).toBeGreaterThan(0);
    expect(calls.filter((call) => call.status === 'UNKNOWN').map((call) => call.providerStatus)).toEqual(
      expect.arrayContaining(['Transferred']),
    );
  });

  it('finds calls by locator in parallel requests and answers null for an unknown one', async () => {
    const known = [sim.rows[0], sim.rows[123], sim.rows[299]] as CinnoxCallRow[];
    const locators = [
      { key: known[0]!.callID, startedAt: at(known[0]) },
      { key: 'no-such-call', startedAt: new Date() },
      { key: known[1]!.callID, startedAt: at(known[1]) },
      { key: known[2]!.callID, startedAt: at(known[2]) },
    ];
    sim.server.latencyMs = 100;
    try {
      const calls = await adapter().getCalls(locators);
      expect(calls).toEqual([mapped(known[0]!), null, mapped(known[1]!), mapped(known[2]!)]);
    } finally {
      sim.server.latencyMs = 0;
    }
    // Four requests of 100 ms each, all in flight at once rather than one after another.
    expect(sim.server.maxInFlight).toBe(4);
    expect(sim.server.count(PATH)).toBe(4);
    expect(sim.server.requests.map((r) => r.query).sort((a, b) => (a.callID ?? '').localeCompare(b.callID ?? ''))).toEqual(
      locators
        .map((l) => ({ callID: l.key, limit: '1' }))
        .sort((a, b) => a.callID.localeCompare(b.callID)),
    );
  });

  it('treats a non-zero code with HTTP 200 as an error, without the upstream message', async () => {
    sim.server.faultQueue.push({
      kind: 'status',
      status: 200,
      body: JSON.stringify({ code: 50010, message: 'internal detail: db-host-7 secret' }),
    });
    const error = await upstreamError(adapter().list(request()));
    expect(error.failure).toBe('HTTP_STATUS');
    expect(error.message).toContain('error code 50010');
    expect(error.message).not.toContain('secret');
    expect(error.retryable).toBe(false);
  });

  it('reports a 400 error body as an HTTP status failure without its message', async () => {
    sim.server.faultQueue.push({
      kind: 'status',
      status: 400,
      body: JSON.stringify({ code: 40003, message: 'limit must be a non-negative integer' }),
    });
    const error = await upstreamError(adapter().list(request()));
    expect(error.failure).toBe('HTTP_STATUS');
    expect(error.details.status).toBe(400);
    expect(error.message).not.toContain('limit must');
  });

  it.each([
    ['wrongShape', { kind: 'wrongShape' }],
    ['invalidJson', { kind: 'invalidJson' }],
    ['html', { kind: 'html' }],
    ['code 0 without result', { kind: 'status', status: 200, body: '{"code":0}' }],
    ['result not a list', { kind: 'status', status: 200, body: '{"code":0,"result":{"callID":"x"}}' }],
  ] as const)('reports a malformed body (%s) as BAD_BODY', async (_name, fault) => {
    sim.server.faultQueue.push(fault);
    const error = await upstreamError(adapter().list(request()));
    expect(error.failure).toBe('BAD_BODY');
  });

  it('leaves out a record without callID, reports it, and counts it towards a full page', async () => {
    const [first, third] = [sim.rows[0]!, sim.rows[2]!];
    const body = { code: 0, result: [first, { status: 'Busy', callDate: '2022-11-07T00:00:00.000Z' }, third] };
    sim.server.faultQueue.push({ kind: 'status', status: 200, body: JSON.stringify(body) });
    const result = await adapter().list(request({ pageSize: 3 }));
    expect(result.calls).toEqual([mapped(first), mapped(third)]);
    expect(result.invalid).toEqual([
      { index: 1, error: expect.any(InvalidRowError), startedAt: new Date('2022-11-07T00:00:00.000Z'), key: null },
    ]);
    expect(result.invalid![0]!.error.problem).toBe('result[1].callID: required');
    expect(result.invalid![0]!.error.providerCallId).toBeNull();
    // Three records sent for a limit of 3: not the last page.
    expect(result.next).toEqual({ index: 1 });
  });

  it('a look-up whose record does not read is that call\'s error, named by the callID asked for', async () => {
    const row = sim.rows[9]!;
    sim.unreadable.set(row, { callID: undefined, callDate: 'later' });
    try {
      const [found] = await adapter().getCalls([{ key: row.callID, startedAt: at(row) }]);
      expect(found).toBeInstanceOf(InvalidRowError);
      expect((found as InvalidRowError).providerCallId).toBe(row.callID);
      expect((found as InvalidRowError).problem).toBe('result[0].callID: required');
    } finally {
      sim.unreadable.clear();
    }
  });

  it('waits out a 429 with Retry-After when retries are allowed', async () => {
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '0' });
    const result = await adapter({}, 1).list(request({ pageSize: 10 }));
    expect(result.calls).toHaveLength(10);
    expect(sim.server.count()).toBe(2);
    sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '1' });
    const error = await upstreamError(adapter().list(request()));
    expect(error.failure).toBe('RATE_LIMITED');
    expect(error.details.retryAfter).toBe(1);
  });

  it('keeps pages stable when calls arrive between two pages of a bounded window', async () => {
    const local = createCinnoxSimulator({ seed: 77, count: 40 });
    const url = await local.server.start();
    try {
      const cinnox = new CinnoxAdapter(
        'default',
        { baseUrl: url, ...local.credentials },
        new ConnectionHttp(ref, { ...defaultHttpPolicy, retries: 0 }),
      );
      const until = at(local.rows[0]);
      const before = local.rows.map((row) => row.callID);
      const first = await cinnox.list(request({ until, pageSize: 15 }));
      const added = local.addCall({ status: 'Busy' });
      expect(Date.parse(added.callDate)).toBeGreaterThan(until.getTime());
      expect(local.rows[0]).toBe(added);
      const second = await cinnox.list(request({ until, pageSize: 15, page: first.next! }));
      const third = await cinnox.list(request({ until, pageSize: 15, page: second.next! }));
      expect(third.next).toBeNull();
      // With `until` fixed, the new call stays out and the offsets do not shift.
      expect([...first.calls, ...second.calls, ...third.calls].map((call) => call.key)).toEqual(before);
      // Unbounded, the new call is the newest row.
      const fresh = await cinnox.list(request({ pageSize: 1 }));
      expect(fresh.calls[0]?.key).toBe(added.callID);
      expect(fresh.calls[0]?.status).toBe('BUSY');
    } finally {
      await local.server.close();
    }
  });
});

describe('CINNOX simulator', () => {
  const get = async (query: Record<string, string>, token = sim.credentials.appToken, path = PATH) => {
    const response = await fetch(`${baseUrl}${path}?${new URLSearchParams(query)}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as { code: number; message?: string; result?: CinnoxCallRow[] } };
  };

  it('accepts limit 500 and refuses 501 with a 400 error body', async () => {
    expect((await get({ limit: '500' })).body.result).toHaveLength(300);
    expect(await get({ limit: '501' })).toEqual({
      status: 400,
      body: { code: 40001, message: 'limit must not exceed 500' },
    });
  });

  it('answers 401 for a wrong token and 404 for an unknown app, with CINNOX error bodies', async () => {
    expect(await get({}, 'nope')).toEqual({ status: 401, body: { code: 40100, message: 'unauthorized' } });
    const unknownApp = await get({}, sim.credentials.appToken, '/apps/nope/data/call-log');
    expect(unknownApp.status).toBe(404);
    expect(unknownApp.body.code).not.toBe(0);
  });

  it('defaults to offset 0 and limit 100, newest callDate first', async () => {
    const { body } = await get({});
    expect(body.code).toBe(0);
    expect(body.result?.map((row) => row.callID)).toEqual(sim.rows.slice(0, 100).map((row) => row.callID));
    const dates = sim.rows.map((row) => Date.parse(row.callDate));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });

  it('filters by callID, callType and status, and on callDate with endAt exclusive', async () => {
    const row = sim.rows[42] as CinnoxCallRow;
    expect((await get({ callID: row.callID })).body.result).toEqual([row]);
    for (const callType of ['onnet', 'offnet', 'smartcall']) {
      const { body } = await get({ callType, limit: '500' });
      expect(body.result?.map((r) => r.callID)).toEqual(
        sim.rows.filter((r) => sim.callTypes.get(r.callID) === callType).map((r) => r.callID),
      );
      expect(body.result?.length).toBeGreaterThan(0);
    }
    expect((await get({ callType: 'pstn' })).status).toBe(400);
    const { body } = await get({ startAt: row.callDate, endAt: row.callDate });
    expect(body.result).toEqual([]);
    const upTo = await get({ endAt: row.callDate, limit: '500' });
    expect(upTo.body.result?.every((r) => Date.parse(r.callDate) < Date.parse(row.callDate))).toBe(true);
  });

  it('holds realistic data: every status word, both directions, shared numbers, numeric phones', () => {
    const words = new Set(sim.rows.map((row) => row.status));
    for (const word of ['Call Ended', 'Declined', 'Busy', 'Not Answered', 'Cancelled', 'Abandoned', 'Unreachable', 'Call Failed', 'Transferred']) {
      expect(words).toContain(word);
    }
    expect(sim.rows.every((row) => typeof row.callerInfo.phoneNumber === 'number')).toBe(true);
    expect(sim.rows.every((row) => /\.000Z$/.test(row.callDate) && /\.000Z$/.test(row.callEndTime))).toBe(true);
    expect(sim.rows.some((row) => row.callerInfo.phoneNumber === 919876543210)).toBe(true);
    expect(sim.rows.some((row) => row.callerInfo.phoneNumber === 14152148508)).toBe(true);
    expect(sim.rows.some((row) => row.type === 'conference')).toBe(true);
    expect(createCinnoxSimulator().rows).toEqual(sim.rows); // deterministic
  });
});
