import { emptyQuery, type CallQuery } from '../../src/calls/filter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { InvalidRowError, UpstreamError } from '../../src/errors.js';
import { ConnectionHttp, defaultHttpPolicy, type HttpPolicy } from '../../src/providers/http.js';
import type { ListRequest, ListResult } from '../../src/calls/adapter.js';
import { Twenty2Adapter, type Twenty2Settings } from '../../src/providers/twenty2/client.js';
import { toCallRecord } from '../../src/providers/twenty2/map.js';
import { twenty2CallSchema } from '../../src/providers/twenty2/schema.js';
import {
  createTwenty2Simulator,
  type Twenty2CallJson,
  type Twenty2Simulator,
} from '../../src/providers/twenty2/simulator.js';
import { SHARED_NUMBERS } from '../../src/simulation/data.js';
import { failureOf, found as foundIn } from '../helpers/lookups.js';

const ref = { provider: 'TWENTY2', connection: 'default' } as const;

function adapterFor(
  sim: Twenty2Simulator,
  settings: Partial<Twenty2Settings> = {},
  policy: Partial<HttpPolicy> = {},
): Twenty2Adapter {
  const http = new ConnectionHttp(ref, { ...defaultHttpPolicy, retries: 0, ...policy });
  return new Twenty2Adapter(
    'default',
    {
      baseUrl: sim.server.url,
      username: sim.credentials.username,
      password: sim.credentials.password,
      workspaceId: sim.credentials.workspaceId,
      phoneRegion: 'IN',
      ...settings,
    },
    http,
  );
}

const request = (overrides: Partial<ListRequest> = {}): ListRequest => ({
  query: emptyQuery,
  from: null,
  until: null,
  pageSize: 20,
  page: { index: 0 },
  ...overrides,
});

/** Follows `next` from the first page to the last. */
async function walk(adapter: Twenty2Adapter, pageSize: number): Promise<{ calls: CallRecord[]; pages: ListResult[] }> {
  const calls: CallRecord[] = [];
  const pages: ListResult[] = [];
  let page: ListRequest['page'] | null = { index: 0 };
  while (page) {
    const result = await adapter.list(request({ pageSize, page }));
    pages.push(result);
    calls.push(...result.calls);
    page = result.next;
    if (pages.length > 1000) throw new Error('walk does not end');
  }
  return { calls, pages };
}

const basicHeaders = (sim: Twenty2Simulator): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${sim.credentials.username}:${sim.credentials.password}`).toString('base64')}`,
  'x-workspace-id': sim.credentials.workspaceId,
});

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamError);
    return error as UpstreamError;
  }
  throw new Error('expected the promise to reject');
}

const context = { ref, phoneRegion: 'IN' };
/** A row as the simulator sends it, read by the schema and mapped: what the adapter must return. */
const mapped = (row: unknown) => toCallRecord(twenty2CallSchema.parse(row), context);

describe('Twenty2 adapter over HTTP', () => {
  let sim: Twenty2Simulator;
  let base: string;

  beforeAll(async () => {
    sim = createTwenty2Simulator();
    base = await sim.server.start();
  });
  afterAll(async () => {
    await sim.server.close();
  });
  beforeEach(() => {
    sim.server.resetCounters();
    sim.server.clearFaults();
    sim.server.latencyMs = 0;
  });

  describe('authentication', () => {
    it('sends Basic credentials, the workspace header and a JSON content type', async () => {
      await adapterFor(sim).list(request());
      const sent = sim.server.requests[0];
      expect(sent?.path).toBe('/call/logs');
      expect(sent?.headers.authorization).toBe(`Basic ${Buffer.from('demo-user:demo-pass').toString('base64')}`);
      expect(sent?.headers['x-workspace-id']).toBe('ws_demo');
      expect(sent?.headers['content-type']).toBe('application/json');
    });

    it.each<[string, Partial<Twenty2Settings>]>([
      ['a wrong password', { password: 'wrong-secret-pass' }],
      ['a wrong username', { username: 'someone-else' }],
      ['a wrong workspace', { workspaceId: 'ws_other' }],
    ])('refuses %s with UNAUTHORIZED, without leaking credentials or retrying', async (_, settings) => {
      const adapter = adapterFor(sim, settings, { retries: 2 });
      const error = await rejection(adapter.list(request()));
      expect(error.failure).toBe('UNAUTHORIZED');
      expect(error.details.status).toBe(401);
      for (const secret of ['wrong-secret-pass', 'someone-else', 'ws_other', 'demo-pass', 'demo-user', 'Basic']) {
        expect(error.message).not.toContain(secret);
      }
      expect(error.message).not.toMatch(/[A-Za-z0-9+/]{16,}={0,2}/); // no base64 header value
      expect(sim.server.count()).toBe(1);
    });

    it('refuses wrong credentials on the detail endpoint too', async () => {
      const adapter = adapterFor(sim, { password: 'nope' });
      const locator = { key: sim.rows[0]!.call_id, startedAt: new Date(sim.rows[0]!.started_at) };
      expect(failureOf((await adapter.getCalls([locator]))[0]).failure).toBe('UNAUTHORIZED');
    });

    it('answers the provider error body for bad credentials', async () => {
      const response = await fetch(`${base}/call/logs`, { headers: { authorization: 'Basic eDp5' } });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        success: false,
        error: { code: 'UNAUTHORIZED', message: expect.any(String), status: 401 },
      });
    });
  });

  describe('list', () => {
    it('walks every call exactly once, newest first, mapped, in the fewest requests', async () => {
      const adapter = adapterFor(sim);
      const { calls, pages } = await walk(adapter, 100);
      expect(calls.map((call) => call.key)).toEqual(sim.rows.map((row) => row.call_id));
      expect(new Set(calls.map((call) => call.key)).size).toBe(sim.rows.length);
      expect(calls).toEqual(sim.rows.map(mapped));
      for (let i = 1; i < calls.length; i++) {
        expect(calls[i - 1]!.startedAt.getTime()).toBeGreaterThanOrEqual(calls[i]!.startedAt.getTime());
      }
      expect(sim.server.count('/call/logs')).toBe(3);
      expect(pages.map((page) => page.total)).toEqual([300, 300, 300]);
      expect(pages.map((page) => page.next)).toEqual([{ index: 1 }, { index: 2 }, null]);
    });

    it('sends only page (1-based) and limit: time bounds and the filter are not pushed down', async () => {
      const query: CallQuery = {
        ...emptyQuery,
        direction: 'INBOUND',
        statuses: ['COMPLETED'],
        startedAfter: new Date('2026-11-01T00:00:00Z'),
        phoneNumber: SHARED_NUMBERS.india,
      };
      const result = await adapterFor(sim).list(
        request({
          query,
          from: new Date('2026-11-01T00:00:00Z'),
          until: new Date('2026-11-10T00:00:00Z'),
          pageSize: 50,
          page: { index: 2 },
        }),
      );
      expect(sim.server.requests[0]?.query).toEqual({ page: '3', limit: '50' });
      expect(result.calls.map((call) => call.key)).toEqual(sim.rows.slice(100, 150).map((row) => row.call_id));
    });

    it('never asks for more than 100 rows (the simulator refuses limit > 100)', async () => {
      const result = await adapterFor(sim).list(request({ pageSize: 500 }));
      expect(result.calls).toHaveLength(100);
      expect(sim.server.requests[0]?.query.limit).toBe('100');
      const refused = await fetch(`${base}/call/logs?limit=101`, { headers: basicHeaders(sim) });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ success: false, error: { code: 'INVALID_LIMIT', status: 400 } });
    });

    it('follows the assumed defaults page 1 and limit 20', async () => {
      const response = await fetch(`${base}/call/logs`, { headers: basicHeaders(sim) });
      const body = (await response.json()) as { calls: { call_id: string }[]; pagination: unknown };
      expect(body.calls.map((row) => row.call_id)).toEqual(sim.rows.slice(0, 20).map((row) => row.call_id));
      expect(body.pagination).toEqual({ page: 1, limit: 20, total: 300, has_more: true });
    });

    it('maps national numbers to E.164, INR costs and unknown status words', async () => {
      const { calls } = await walk(adapterFor(sim), 100);
      for (const call of calls) {
        expect(call.from.phoneNumber).toMatch(/^\+91[6-9]\d{9}$/);
        expect(call.to.phoneNumber).toMatch(/^\+91[6-9]\d{9}$/);
        expect(call.from.rawPhoneNumber).toMatch(/^\d{10}$/);
        expect(call.from.countryCode).toBe('IN');
        expect(call.cost?.currency).toBe('INR');
        expect(call.details).toBeNull();
      }
      const shared = calls.filter(
        (call) => call.from.phoneNumber === SHARED_NUMBERS.india || call.to.phoneNumber === SHARED_NUMBERS.india,
      );
      expect(shared.length).toBeGreaterThanOrEqual(5);
      for (const call of shared) {
        const party = call.from.phoneNumber === SHARED_NUMBERS.india ? call.from : call.to;
        expect(party.rawPhoneNumber).toBe('9876543210');
      }
      const statuses = new Set(calls.map((call) => call.status));
      expect([...statuses].sort()).toEqual([
        'COMPLETED',
        'FAILED',
        'INITIATED',
        'IN_PROGRESS',
        'NO_ANSWER',
        'UNKNOWN',
      ]);
      const unknownWords = calls.filter((call) => call.status === 'UNKNOWN').map((c) => c.providerStatus);
      expect(new Set(unknownWords)).toEqual(new Set(['voicemail_detected']));
      expect(new Set(calls.map((call) => call.direction))).toEqual(new Set(['INBOUND', 'OUTBOUND']));
    });

    it('refuses a token page reference', async () => {
      await expect(adapterFor(sim).list(request({ page: { token: 'abc' } }))).rejects.toThrow(TypeError);
      expect(sim.server.count()).toBe(0);
    });
  });

  describe('getCalls and getDetails', () => {
    const locatorOf = (callId: string) => {
      const row = sim.rows.find((candidate) => candidate.call_id === callId);
      return { key: callId, startedAt: new Date(row ? row.started_at : '2026-01-01T00:00:00Z') };
    };
    const rowWith = (status: string, index = 0) => {
      const found = sim.rows.filter((row) => row.status === status)[index];
      if (!found) throw new Error(`no ${status} row`);
      return found;
    };

    it('finds known calls in order with details and answers null for an unknown one', async () => {
      const completed = sim.rows.find((row) => row.status === 'completed' && sim.detailOf(row.call_id)?.transcript)!;
      const failed = rowWith('failed');
      const found = foundIn(await adapterFor(sim).getCalls([
        locatorOf(completed.call_id),
        locatorOf('call_does_not_exist'),
        locatorOf(failed.call_id),
      ]));
      expect(found.map((call) => call?.key ?? null)).toEqual([completed.call_id, null, failed.call_id]);
      expect(sim.server.count('/call/detail')).toBe(3);

      const [full, , empty] = found;
      const { details, ...fields } = full!;
      const { details: _none, ...listFields } = mapped(completed);
      expect(fields).toEqual(listFields);
      const expectedDetail = sim.detailOf(completed.call_id)!;
      expect(details).toEqual({
        billedDurationSeconds: expectedDetail.call.billed_duration_seconds,
        recordings: [{ url: expect.stringMatching(/\/media\/call_[0-9a-f]+\.mp3/), expiresAt: expect.any(Date) }],
        transcript: { url: expect.stringMatching(/\/media\/call_[0-9a-f]+\.txt/), expiresAt: expect.any(Date) },
        inputParameters: expectedDetail.input_parameters,
        outputParameters: expectedDetail.output_parameters,
      });
      expect(details?.recordings?.[0]?.url.startsWith(`${base}/media/${completed.call_id}.mp3`)).toBe(true);
      expect((details?.recordings?.[0]?.expiresAt as Date).getTime()).toBeGreaterThan(Date.now());
      expect(details?.billedDurationSeconds).toBeGreaterThanOrEqual(completed.duration_seconds ?? 0);

      // Failed calls leave recording and transcript out of the body.
      expect(sim.detailOf(failed.call_id)).not.toHaveProperty('recording');
      expect(empty?.details).toMatchObject({ recordings: [], transcript: null, billedDurationSeconds: 0 });
    });

    it('maps a null recording and transcript to none', async () => {
      const notConnected = rowWith('not_connected');
      expect(sim.detailOf(notConnected.call_id)).toMatchObject({ recording: null, transcript: null });
      const [call] = foundIn(await adapterFor(sim).getCalls([locatorOf(notConnected.call_id)]));
      expect(call?.details).toMatchObject({ recordings: [], transcript: null });
    });

    it('sends one detail request per locator, in parallel', async () => {
      sim.server.latencyMs = 150;
      const ids = sim.rows.slice(0, 8).map((row) => row.call_id);
      const found = foundIn(await adapterFor(sim).getCalls(ids.map(locatorOf)));
      expect(found.map((call) => call?.key)).toEqual(ids);
      expect(sim.server.count('/call/detail')).toBe(8);
      expect(sim.server.requests.map((r) => r.query.call_id).sort()).toEqual([...ids].sort());
      expect(sim.server.maxInFlight).toBe(8);
    });

    it('getDetails returns the detail fields of a listed call', async () => {
      const adapter = adapterFor(sim);
      const completed = rowWith('completed', 3);
      const listed = mapped(completed);
      const details = await adapter.getDetails(listed);
      const expected = sim.detailOf(completed.call_id)!;
      expect(details.billedDurationSeconds).toBe(expected.call.billed_duration_seconds);
      expect(details.recordings!).toHaveLength(1);
      expect(details.inputParameters).toEqual(expected.input_parameters);
      expect(details.outputParameters).toEqual(expected.output_parameters);
      expect(sim.server.requests[0]?.query).toEqual({ call_id: completed.call_id });
    });

    it('getDetails of a call Twenty2 does not know fails with HTTP 404', async () => {
      const ghost = mapped({ ...sim.rows[0]!, call_id: 'call_gone' });
      const error = await rejection(adapterFor(sim).getDetails(ghost));
      expect(error.failure).toBe('HTTP_STATUS');
      expect(error.details.status).toBe(404);
    });

    it('the simulator answers CALL_NOT_FOUND with the provider error body', async () => {
      const response = await fetch(`${base}/call/detail?call_id=call_gone`, { headers: basicHeaders(sim) });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        success: false,
        error: { code: 'CALL_NOT_FOUND', message: expect.any(String), status: 404 },
      });
    });
  });

  describe('failures', () => {
    it('waits for Retry-After on 429 and retries', async () => {
      sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '1' });
      const started = performance.now();
      const result = await adapterFor(sim, {}, { retries: 1 }).list(request());
      expect(result.calls).toHaveLength(20);
      expect(sim.server.count('/call/logs')).toBe(2);
      expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    });

    it('reports RATE_LIMITED when no retry is left', async () => {
      sim.server.faultQueue.push({ kind: 'status', status: 429, retryAfter: '1' });
      const error = await rejection(adapterFor(sim).list(request()));
      expect(error.failure).toBe('RATE_LIMITED');
      expect(error.details.retryAfter).toBe(1);
    });

    it.each(['wrongShape', 'invalidJson', 'html'] as const)('reports BAD_BODY for a %s body', async (kind) => {
      sim.server.faultQueue.push({ kind });
      expect((await rejection(adapterFor(sim).list(request()))).failure).toBe('BAD_BODY');
    });

    it('leaves out a row without a readable started_at, and reports it', async () => {
      const [row, next] = sim.rows as [Twenty2CallJson, Twenty2CallJson];
      const body = JSON.stringify({ success: true, calls: [{ ...row, started_at: 'today' }, next] });
      sim.server.faultQueue.push({ kind: 'status', status: 200, body });
      const result = await adapterFor(sim).list(request());
      expect(result.calls).toEqual([mapped(next)]);
      expect(result.invalid).toEqual([{ index: 0, error: expect.any(InvalidRowError), startedAt: null, key: row.call_id }]);
      expect(result.invalid![0]!.error.problem).toBe('calls[0].started_at: the value is not an ISO 8601 date-time (e.g. "2024-12-25T10:00:00Z")');
      expect(result.invalid![0]!.error.message).not.toContain('today');
      // Two rows sent, fewer than the limit: the last page, by what was sent.
      expect(result.next).toBeNull();
    });

    it('counts an unreadable row as a row: a full page still has a next one', async () => {
      const rows = sim.rows.slice(0, 3);
      const body = JSON.stringify({ success: true, calls: [rows[0], { ...rows[1], status: 7 }, rows[2]] });
      sim.server.faultQueue.push({ kind: 'status', status: 200, body });
      const result = await adapterFor(sim).list(request({ pageSize: 3 }));
      expect(result.calls.map((call) => call.key)).toEqual([rows[0]!.call_id, rows[2]!.call_id]);
      expect(result.invalid?.map((row) => [row.index, row.key, row.startedAt?.toISOString()])).toEqual([
        [1, rows[1]!.call_id, new Date(rows[1]!.started_at).toISOString()],
      ]);
      expect(result.next).toEqual({ index: 1 });
    });

    it('a detail body whose call does not read is that call\'s error; the others in the batch are found', async () => {
      const [good, bad] = [sim.rows[5]!, sim.rows[6]!];
      sim.unreadable.set(bad, { started_at: 'soon' });
      try {
        const adapter = adapterFor(sim);
        const locator = (row: Twenty2CallJson) => ({ key: row.call_id, startedAt: new Date(row.started_at) });
        const found = await adapter.getCalls([locator(good), locator(bad)]);
        expect((found[0] as CallRecord).key).toBe(good.call_id);
        expect(found[1]).toBeInstanceOf(InvalidRowError);
        expect((found[1] as InvalidRowError).problem).toBe('call.started_at: the value is not an ISO 8601 date-time (e.g. "2024-12-25T10:00:00Z")');
        expect((found[1] as InvalidRowError).providerCallId).toBe(bad.call_id);
        // The detail fields of a listed call: the same error, rejected for that call.
        const listed = mapped(good);
        sim.unreadableDetail.set(good, (body) => ({ ...body, recording: { url: null } }));
        const failure = await adapter.getDetails({ ...listed, details: null }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(InvalidRowError);
        expect((failure as InvalidRowError).problem).toBe('recording.url: expected string, received null');
      } finally {
        sim.unreadable.clear();
        sim.unreadableDetail.clear();
      }
    });

    it('reports a 200 with success false by its error code only', async () => {
      const body = JSON.stringify({
        success: false,
        error: { code: 'QUOTA_EXCEEDED', message: 'secret internal detail', status: 200 },
      });
      sim.server.faultQueue.push({ kind: 'status', status: 200, body });
      const error = await rejection(adapterFor(sim).list(request()));
      expect(error.failure).toBe('HTTP_STATUS');
      expect(error.message).toContain('QUOTA_EXCEEDED');
      expect(error.message).not.toContain('secret internal detail');
    });

    it('ends the walk at an empty page even if has_more says otherwise', async () => {
      const body = JSON.stringify({
        success: true,
        calls: [],
        pagination: { page: 1, limit: 20, total: 0, has_more: true },
      });
      sim.server.faultQueue.push({ kind: 'status', status: 200, body });
      expect(await adapterFor(sim).list(request())).toEqual({ calls: [], next: null, total: 0 });
    });
  });

  it('applies a query exactly only when it filters nothing but providers', () => {
    const adapter = adapterFor(sim);
    expect(adapter.appliesExactly(emptyQuery)).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, providers: ['TWENTY2'] })).toBe(true);
    expect(adapter.appliesExactly({ ...emptyQuery, direction: 'INBOUND' })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, statuses: ['COMPLETED'] })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, startedAfter: new Date() })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, startedBefore: new Date() })).toBe(false);
    expect(adapter.appliesExactly({ ...emptyQuery, phoneNumber: SHARED_NUMBERS.india })).toBe(false);
    expect(adapter.capabilities).toEqual({ maxPageSize: 100, resume: 'offset', reportsTotal: true, listsOngoing: true });
  });
});

describe('Twenty2 without the pagination block', () => {
  it.each([
    [300, 50, 7], // six full pages, then an empty one ends the walk
    [310, 50, 7],
    [0, 50, 1],
  ])('walks %i calls in pages of %i with %i requests, reporting no total', async (count, pageSize, requests) => {
    const sim = createTwenty2Simulator({ count, paginationBlock: false, seed: 7 });
    await sim.server.start();
    try {
      const { calls, pages } = await walk(adapterFor(sim), pageSize);
      expect(calls.map((call) => call.key)).toEqual(sim.rows.map((row) => row.call_id));
      expect(sim.server.count('/call/logs')).toBe(requests);
      expect(pages.every((page) => page.total === null)).toBe(true);
      expect(sim.server.requests.every((r) => r.query.limit === String(pageSize))).toBe(true);
    } finally {
      await sim.server.close();
    }
  });
});

describe('Twenty2 calls arriving between page requests', () => {
  it('shifts later pages by offset; a new call appears first', async () => {
    const sim = createTwenty2Simulator({ count: 40 });
    await sim.server.start();
    try {
      const adapter = adapterFor(sim);
      const first = await adapter.list(request({ pageSize: 10 }));
      const added = sim.addCall({ status: 'initiated' });
      expect(Date.parse(added.started_at)).toBeGreaterThan(first.calls[0]!.startedAt.getTime());
      const second = await adapter.list(request({ pageSize: 10, page: first.next! }));
      // Twenty2 pages by offset: the call that ended page 1 now starts page 2.
      expect(second.calls[0]?.key).toBe(first.calls[9]?.key);
      const again = await adapter.list(request({ pageSize: 10 }));
      expect(again.calls[0]?.key).toBe(added.call_id);
      expect(again.calls[0]?.status).toBe('INITIATED');
      expect(again.total).toBe(41);
    } finally {
      await sim.server.close();
    }
  });

  it('is deterministic for a seed', () => {
    const a = createTwenty2Simulator({ seed: 2201 });
    const b = createTwenty2Simulator({ seed: 2201 });
    expect(a.rows).toEqual(b.rows);
    expect(a.rows).toHaveLength(300);
    expect(createTwenty2Simulator({ seed: 1 }).rows).not.toEqual(a.rows);
  });
});
