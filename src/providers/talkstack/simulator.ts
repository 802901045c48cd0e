/**
 * A TalkStack AI upstream for tests and the demo, following docs/providers/talkstack.md:
 * `x-api-key` or Bearer auth, POST /call/get-call-history (body projectId/pageSize/pageToken,
 * query-string filters on whole UTC days, 404 when nothing matches) and POST /call by sid.
 * Page tokens are opaque: base64url of the last row's position, so calls arriving between two
 * requests neither repeat nor shift rows.
 */
import { SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply } from '../../simulation/harness.js';
import { SHARED_NUMBERS, callInstants, pick, seededRandom, usNumber, arrivalInstant } from '../../simulation/data.js';
import { parseRfc5322Date } from '../../time.js';

/** A call data object as TalkStack sends it. */
export interface TalkStackRawCall {
  callSid: string;
  /** RFC 2822, e.g. "Tue, 30 Jan 2024 13:39:53 +0000". */
  date: string;
  status: string;
  from: string;
  to: string;
  seconds: number;
  cost?: number | null;
  recordingUrls: string[];
  /** The project's own (Twilio) number: `from` on outbound calls, `to` on inbound ones. */
  phoneNumber: string;
  partnerId: string;
  shiftId: string;
  assignmentId: string;
  data?: Record<string, string>;
}

export interface TalkStackCredentials {
  apiKey: string;
  projectId: string;
}

export interface TalkStackSimulatorOptions {
  seed?: number;
  count?: number;
  credentials?: Partial<TalkStackCredentials>;
  /** Answer the history as a bare JSON array: the whole filtered list as one, final page. */
  bareArray?: boolean;
}

export interface TalkStackSimulator {
  server: SimulatorServer;
  /** Every call, newest first (ties by callSid), as the provider's JSON. */
  rows: TalkStackRawCall[];
  credentials: TalkStackCredentials;
  /** Adds a call newer than every existing one (1–60 s after the newest). */
  addCall(overrides?: Partial<TalkStackRawCall>): TalkStackRawCall;
  /** Starts a call `in-progress` (not billed yet), newer than every existing one. */
  startCall(): TalkStackRawCall;
  /** Ends a call `startCall` returned: `completed`, with its seconds, cost and recording. */
  endCall(row: TalkStackRawCall): void;
  readonly listsOngoing: true;
  /** Rows sent unreadable, in the history and by POST /call. */
  unreadable: UnreadableRows<TalkStackRawCall>;
}

export const TALKSTACK_DEMO_CREDENTIALS: TalkStackCredentials = {
  apiKey: 'talkstack-demo-key',
  projectId: 'proj_demo',
};

/** The words the history's `status` filter accepts (voicemail and silence are not among them). */
const FILTER_STATUSES = new Set([
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
]);
const IN_FLIGHT = ['queued', 'initiated', 'ringing', 'in-progress'] as const;
/** Finished calls, weighted by repetition; `canceled-by-user` is a word outside the documented set. */
const FINISHED = [
  ...Array<string>(9).fill('completed'),
  ...Array<string>(2).fill('silence'),
  ...Array<string>(2).fill('voicemail'),
  ...Array<string>(3).fill('no-answer'),
  ...Array<string>(2).fill('busy'),
  'failed',
] as const;
const RATE_PER_MINUTE_THOUSANDTHS = 77; // 0.077 per started minute, as in the reference's example
const DAY_MS = 86_400_000;

/** RFC 2822 in UTC: toUTCString's layout with a numeric zone. */
export const formatRfc2822 = (instant: number): string =>
  new Date(instant).toUTCString().replace(/GMT$/, '+0000');

const hex = (random: () => number, length: number): string =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');

/** A row's `date` in ms; a date the tests made unreadable sorts as the oldest (NaN would break the sort). */
const parsedInstant = (date: string): number => parseRfc5322Date(date)?.getTime() ?? 0;

const DATE_PARAM = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC of a YYYY-MM-DD filter value, or null when it is not a real date. */
function midnightOf(value: string): number | null {
  const match = DATE_PARAM.exec(value);
  if (!match) return null;
  const t = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return new Date(t).toISOString().slice(0, 10) === value ? t : null;
}

const headerValue = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const error = (status: number, message: string): SimulatorReply => ({ status, body: { message } });

export function createTalkStackSimulator(options: TalkStackSimulatorOptions = {}): TalkStackSimulator {
  const seed = options.seed ?? 5501;
  const count = options.count ?? 300;
  const credentials: TalkStackCredentials = { ...TALKSTACK_DEMO_CREDENTIALS, ...options.credentials };
  const random = seededRandom(seed);
  const accountSid = `AC${hex(random, 32)}`;
  const projectNumbers = [usNumber(random), usNumber(random), usNumber(random)];
  const partners = ['partner-3f9a', 'partner-81c2', 'partner-d047'];
  /** When each row started, kept beside the JSON so the simulator never depends on parsing it. */
  const instants = new WeakMap<TalkStackRawCall, number>();
  const instantOf = (row: TalkStackRawCall): number => instants.get(row) ?? parsedInstant(row.date);
  const unreadable = new UnreadableRows<TalkStackRawCall>();

  function makeCall(instant: number, status: string): TalkStackRawCall {
    const projectNumber = pick(random, projectNumbers);
    const customer = random() < 0.05 ? SHARED_NUMBERS.us : usNumber(random);
    const outbound = random() < 0.7; // AI agents mostly call out
    let seconds = 0;
    if (status === 'completed') seconds = 20 + Math.floor(random() * 540);
    else if (status === 'silence') seconds = 7 + Math.floor(random() * 30);
    else if (status === 'voicemail') seconds = 10 + Math.floor(random() * 50);
    else if (status === 'in-progress') seconds = Math.floor(random() * 120);
    const connected = status === 'completed' || status === 'silence' || status === 'voicemail';
    const recordingUrls =
      status === 'completed' || status === 'silence'
        ? Array.from(
            { length: random() < 0.1 ? 2 : 1 },
            () => `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Recordings/RE${hex(random, 32)}.mp3`,
          )
        : [];
    const call: TalkStackRawCall = {
      callSid: `CA${hex(random, 32)}`,
      date: formatRfc2822(instant),
      status,
      from: outbound ? projectNumber : customer,
      to: outbound ? customer : projectNumber,
      seconds,
      recordingUrls,
      phoneNumber: projectNumber,
      partnerId: pick(random, partners),
      shiftId: `shift-${hex(random, 8)}`,
      assignmentId: `asg-${hex(random, 8)}`,
    };
    if (connected) {
      call.cost = (Math.ceil(seconds / 60) * RATE_PER_MINUTE_THOUSANDTHS) / 1000;
    } else if (status === 'in-progress') {
      call.cost = null; // not billed yet
    } else if (!IN_FLIGHT.includes(status as (typeof IN_FLIGHT)[number])) {
      call.cost = 0;
    }
    if (status === 'completed') {
      const goes = random() < 0.6;
      call.data = {
        employeeGoToWork: goes ? 'true' : 'false',
        newDate: goes ? '' : new Date(instant + (1 + Math.floor(random() * 5)) * DAY_MS).toISOString().slice(0, 10),
      };
    } else if (connected) {
      call.data = { employeeGoToWork: '', newDate: '' };
    } else if (!IN_FLIGHT.includes(status as (typeof IN_FLIGHT)[number]) && random() < 0.5) {
      call.data = {};
    }
    instants.set(call, instant);
    return call;
  }

  const byPosition = (a: TalkStackRawCall, b: TalkStackRawCall): number =>
    instantOf(b) - instantOf(a) || (a.callSid < b.callSid ? -1 : a.callSid > b.callSid ? 1 : 0);

  const rows: TalkStackRawCall[] = callInstants(seed, count).map((instant, i) => {
    // The newest calls are still in flight; the first four cover every in-flight word.
    let status: string;
    if (i < IN_FLIGHT.length) status = IN_FLIGHT[i] as string;
    else if (i < 10) status = pick(random, [...IN_FLIGHT, 'completed']);
    else if (random() < 0.03) status = 'canceled-by-user';
    else status = pick(random, FINISHED);
    return makeCall(instant, status);
  });
  rows.sort(byPosition);

  const encodeToken = (row: TalkStackRawCall): string =>
    Buffer.from(JSON.stringify([instantOf(row), row.callSid])).toString('base64url');

  function decodeToken(token: string): [number, string] | null {
    try {
      const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
        return [value[0], value[1]];
      }
    } catch {
      // falls through: not a token this server issued
    }
    return null;
  }

  function authorised(request: RecordedRequest): boolean {
    const key = headerValue(request.headers['x-api-key']);
    const authorization = headerValue(request.headers.authorization);
    return key === credentials.apiKey || authorization === `Bearer ${credentials.apiKey}`;
  }

  /** The query-string filters as a row predicate, or an error reply for a bad value. */
  function filterFrom(query: Record<string, string>): ((row: TalkStackRawCall) => boolean) | SimulatorReply {
    const tests: ((row: TalkStackRawCall) => boolean)[] = [];
    if (query.to !== undefined) tests.push((row) => row.to === query.to);
    if (query.from !== undefined) tests.push((row) => row.from === query.from);
    if (query.status !== undefined) {
      if (!FILTER_STATUSES.has(query.status)) return error(400, 'status is not a valid call status');
      tests.push((row) => row.status === query.status);
    }
    const bounds: [string, (row: TalkStackRawCall) => number][] = [
      ['startTime', (row) => instantOf(row)],
      ['endTime', (row) => instantOf(row) + row.seconds * 1000],
    ];
    for (const [name, timeOf] of bounds) {
      for (const [suffix, test] of [
        ['', (t: number, midnight: number) => t >= midnight && t < midnight + DAY_MS],
        ['Before', (t: number, midnight: number) => t <= midnight],
        ['After', (t: number, midnight: number) => t >= midnight],
      ] as const) {
        const value = query[`${name}${suffix}`];
        if (value === undefined) continue;
        const midnight = midnightOf(value);
        if (midnight === null) return error(400, `${name}${suffix} must be a date (YYYY-MM-DD)`);
        tests.push((row) => test(timeOf(row), midnight));
      }
    }
    return (row) => tests.every((test) => test(row));
  }

  function history(request: RecordedRequest): SimulatorReply {
    const body = isRecord(request.body) ? request.body : {};
    if (typeof body.projectId !== 'string' || body.projectId === '') return error(400, 'projectId is required');
    const pageSize = body.pageSize ?? 20;
    if (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) {
      return error(400, 'pageSize must be an integer from 1 to 100');
    }
    let after: [number, string] | null = null;
    if (body.pageToken !== undefined && body.pageToken !== null) {
      after = typeof body.pageToken === 'string' ? decodeToken(body.pageToken) : null;
      if (!after) return error(400, 'pageToken is invalid');
    }
    const filter = filterFrom(request.query);
    if (typeof filter !== 'function') return filter;
    if (body.projectId !== credentials.projectId) return error(404, 'No calls found');
    const matching = rows.filter(filter);
    // The provider answers 404 when there are no calls: an empty list, not an error.
    if (matching.length === 0) return error(404, 'No calls found');
    if (options.bareArray) return { status: 200, body: unreadable.serveAll(matching) };
    const [afterInstant, afterSid] = after ?? [Infinity, ''];
    const rest = matching.filter((row) => {
      const t = instantOf(row);
      return t < afterInstant || (t === afterInstant && row.callSid > afterSid);
    });
    const calls = rest.slice(0, pageSize);
    const last = calls[calls.length - 1];
    return {
      status: 200,
      body: { calls: unreadable.serveAll(calls), nextPageToken: rest.length > pageSize && last ? encodeToken(last) : null },
    };
  }

  function oneCall(request: RecordedRequest): SimulatorReply {
    const body = isRecord(request.body) ? request.body : {};
    if (typeof body.sid !== 'string' || body.sid === '') return error(400, 'sid is required');
    if (typeof body.projectId !== 'string' || body.projectId === '') return error(400, 'projectId is required');
    const call = body.projectId === credentials.projectId ? rows.find((row) => row.callSid === body.sid) : undefined;
    return call ? { status: 200, body: unreadable.serve(call) } : error(404, 'Call not found');
  }

  const server = new SimulatorServer('talkstack', (request) => {
    if (!authorised(request)) return error(401, 'Unauthorized');
    if (request.method === 'POST' && request.path === '/call/get-call-history') return history(request);
    if (request.method === 'POST' && request.path === '/call') return oneCall(request);
    return error(404, 'Not found');
  });

  function addCall(overrides: Partial<TalkStackRawCall> = {}): TalkStackRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, instantOf(row)), 0);
    const instant = arrivalInstant(newest, random);
    const call: TalkStackRawCall = { ...makeCall(instant, pick(random, FINISHED)), ...overrides };
    instants.set(call, overrides.date !== undefined ? parsedInstant(overrides.date) : instant);
    rows.push(call);
    rows.sort(byPosition);
    return call;
  }

  function startCall(): TalkStackRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, instantOf(row)), 0);
    const call = makeCall(arrivalInstant(newest, random), 'in-progress');
    rows.push(call);
    rows.sort(byPosition);
    return call;
  }

  function endCall(row: TalkStackRawCall): void {
    const { status, seconds, cost, recordingUrls, data } = makeCall(instantOf(row), 'completed');
    Object.assign(row, { status, seconds, cost, recordingUrls, data });
  }

  return { server, rows, credentials, addCall, startCall, endCall, listsOngoing: true, unreadable };
}
