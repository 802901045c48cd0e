/**
 * A CINNOX call-log upstream on the shared SimulatorServer, following docs/providers/cinnox.md:
 * Bearer app token, GET {base}/apps/{appID}/data/call-log with callID, callType, status, startAt
 * (inclusive), endAt (exclusive), offset and limit (at most 500), newest callDate first, no count,
 * phone numbers as JSON numbers, and `{ code, message }` error bodies.
 */
import { SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply } from '../../simulation/harness.js';
import { SHARED_NUMBERS, callInstants, pick, seededRandom, arrivalInstant } from '../../simulation/data.js';
import { parseIsoInstant } from '../../time.js';

export interface CinnoxCallerInfo {
  countryCode: string;
  displayName: string;
  eid: string;
  isStaff: boolean;
  /** Country code + number, no "+", as a JSON number. */
  phoneNumber: number;
  serviceId: string;
}

export interface CinnoxCalleeInfo {
  displayName: string;
  eid: string;
  isStaff: boolean;
  serviceId: string;
  ipLocDetail: { city: string; province: string; regionCode: string; subdivision: string };
}

/** One call-log record as CINNOX sends it. */
export interface CinnoxCallRow {
  hid: string;
  roomID: string;
  type: 'call' | 'conference';
  status: string;
  inquiryID: string;
  displayCaseNumber: string;
  callID: string;
  callDuration: number;
  callDate: string;
  callEndTime: string;
  byeReason: string;
  releaseParty: 'Caller' | 'Callee';
  virtualNumber: number;
  mediaType: 'audio' | 'video';
  callerInfo: CinnoxCallerInfo;
  calleeInfo: CinnoxCalleeInfo;
}

export interface CinnoxCredentials {
  appId: string;
  appToken: string;
}

export type CinnoxCallType = 'onnet' | 'offnet' | 'smartcall';

export interface CinnoxSimulator {
  server: SimulatorServer;
  /** The data, newest callDate first, as CINNOX's JSON. */
  rows: CinnoxCallRow[];
  credentials: CinnoxCredentials;
  /** The callType of each call (not a record field, but a filter): by callID. */
  callTypes: Map<string, CinnoxCallType>;
  addCall(overrides?: Partial<CinnoxCallRow>): CinnoxCallRow;
  /**
   * Starts a call newer than every existing one. CINNOX's call log lists only ended calls, so it is
   * not listed until `endCall`.
   */
  startCall(): CinnoxCallRow;
  /** Ends a call `startCall` returned: `Call Ended`, with its duration and end time; now listed. */
  endCall(row: CinnoxCallRow): void;
  readonly listsOngoing: false;
  /** Records sent unreadable. */
  unreadable: UnreadableRows<CinnoxCallRow>;
}

export const CINNOX_MAX_LIMIT = 500;
const DEFAULT_LIMIT = 100;
const CALL_TYPES: readonly CinnoxCallType[] = ['onnet', 'offnet', 'smartcall'];

/** The eight documented words, and `Transferred`, which the contract's table does not know. */
const STATUS_WORDS = [
  'Call Ended',
  'Declined',
  'Busy',
  'Not Answered',
  'Cancelled',
  'Abandoned',
  'Unreachable',
  'Call Failed',
] as const;

const BYE_REASONS: Record<string, readonly string[]> = {
  'Call Ended': ['Normal Clearing', 'Caller Hang Up', 'Callee Hang Up'],
  Declined: ['Call Rejected'],
  Busy: ['User Busy'],
  'Not Answered': ['No Answer', 'Request Timeout'],
  Cancelled: ['Originator Cancel'],
  Abandoned: ['Abandoned In Queue', ''],
  Unreachable: ['Temporarily Unavailable', 'Not Found'],
  'Call Failed': ['Service Unavailable', 'Server Internal Error'],
  Transferred: ['Call Transferred'],
};

interface Staff {
  eid: string;
  displayName: string;
  serviceId: string;
}

const STAFF: readonly Staff[] = [
  { eid: 'staff-7f3a9c21', displayName: 'Mei Ling Chan', serviceId: 'svc-support-hk' },
  { eid: 'staff-2b81e6d4', displayName: 'Rahul Mehta', serviceId: 'svc-sales-in' },
  { eid: 'staff-c04d5e19', displayName: 'Tan Wei Jie', serviceId: 'svc-support-sg' },
  { eid: 'staff-91aa0f37', displayName: 'Priya Nair', serviceId: 'svc-sales-in' },
  { eid: 'staff-5e62b8c0', displayName: 'Jordan Lee', serviceId: 'svc-support-us' },
];

type Random = () => number;
const digits = (random: Random, n: number) =>
  Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
const oneOf = (random: Random, choices: string) => pick(random, choices.split(''));
const hex = (random: Random, n: number) =>
  Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');

/**
 * Where external parties are: country code, national number, region and place. US numbers use
 * assigned area codes, so the number alone tells the US from the rest of +1.
 */
const REGIONS = [
  { prefix: '852', national: (r: Random) => `${oneOf(r, '5679')}${digits(r, 7)}`, region: 'HK', city: 'Hong Kong', province: 'Hong Kong' },
  { prefix: '65', national: (r: Random) => `${oneOf(r, '89')}${digits(r, 7)}`, region: 'SG', city: 'Singapore', province: 'Singapore' },
  { prefix: '91', national: (r: Random) => `${oneOf(r, '6789')}${digits(r, 9)}`, region: 'IN', city: 'Mumbai', province: 'Maharashtra' },
  { prefix: '1', national: (r: Random) => `${pick(r, ['415', '628', '650'])}${oneOf(r, '2345689')}${digits(r, 6)}`, region: 'US', city: 'San Francisco', province: 'California' },
] as const;

/** Virtual numbers the account owns (JSON numbers) and their regions: staff call out through them. */
const VIRTUAL_NUMBERS = [
  { number: 85230018800, region: 'HK' },
  { number: 6531586600, region: 'SG' },
  { number: 912261234500, region: 'IN' },
] as const;

const FIRST_NAMES = ['Alex', 'Wing', 'Siti', 'Arjun', 'Grace', 'Kenji', 'Nora', 'Vikram', 'Olivia', 'Hui'];
const LAST_NAMES = ['Wong', 'Lim', 'Sharma', 'Ng', 'Patel', 'Tan', 'Kumar', 'Ho', 'Garcia', 'Iyer'];

const emptyLocation = () => ({ city: '', province: '', regionCode: '', subdivision: '' });

interface GeneratedCall {
  row: CinnoxCallRow;
  callType: CinnoxCallType;
}

/** One realistic record starting at `startMs`; `sequence` numbers enquiries and cases. */
function generateCall(random: () => number, startMs: number, sequence: number): GeneratedCall {
  const roll = random();
  // A few unknown words exercise UNKNOWN; the rest spread over every documented word, most ended.
  const status =
    roll < 0.03
      ? 'Transferred'
      : roll < 0.45
        ? 'Call Ended'
        : pick(random, STATUS_WORDS.filter((word) => word !== 'Call Ended'));
  const answered = status === 'Call Ended' || status === 'Transferred';
  const duration = answered ? 15 + Math.floor(random() * 1200) : 0;
  const ringing = answered ? 0 : 5 + Math.floor(random() * 40);
  const staff = pick(random, STAFF);
  const region = pick(random, REGIONS);
  const external = `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
  const kind = random();
  const video = random() < 0.1;

  let callerInfo: CinnoxCallerInfo;
  let calleeInfo: CinnoxCalleeInfo;
  let callType: CinnoxCallType;
  if (kind < 0.05) {
    // Neither party is staff: a visitor reaching an IVR or a bot line.
    callerInfo = {
      countryCode: region.region,
      displayName: external,
      eid: `visitor-${hex(random, 8)}`,
      isStaff: false,
      phoneNumber: Number(`${region.prefix}${region.national(random)}`),
      serviceId: '',
    };
    calleeInfo = {
      displayName: 'Main IVR',
      eid: `ivr-${hex(random, 6)}`,
      isStaff: false,
      serviceId: 'svc-ivr',
      ipLocDetail: emptyLocation(),
    };
    callType = 'onnet';
  } else if (kind < 0.55) {
    // Inbound: an external caller reaches a staff member.
    const shared = random();
    const phone =
      shared < 0.04
        ? Number(SHARED_NUMBERS.india.slice(1))
        : shared < 0.08
          ? Number(SHARED_NUMBERS.us.slice(1))
          : Number(`${region.prefix}${region.national(random)}`);
    callerInfo = {
      // Sometimes CINNOX has no country for the caller; the number then tells.
      countryCode: random() < 0.1 ? '' : shared < 0.04 ? 'IN' : shared < 0.08 ? 'US' : region.region,
      displayName: random() < 0.15 ? '' : external,
      eid: `visitor-${hex(random, 8)}`,
      isStaff: false,
      phoneNumber: phone,
      serviceId: '',
    };
    calleeInfo = {
      displayName: staff.displayName,
      eid: staff.eid,
      isStaff: true,
      serviceId: staff.serviceId,
      ipLocDetail: emptyLocation(),
    };
    callType = random() < 0.7 ? 'offnet' : 'onnet';
  } else {
    // Outbound: a staff member calls out through a virtual number; the callee has no number
    // field, only a name and (sometimes) an IP location.
    const virtual = pick(random, VIRTUAL_NUMBERS);
    callerInfo = {
      countryCode: virtual.region,
      displayName: staff.displayName,
      eid: staff.eid,
      isStaff: true,
      phoneNumber: virtual.number,
      serviceId: staff.serviceId,
    };
    const located = random() < 0.8;
    calleeInfo = {
      displayName: external,
      eid: `contact-${hex(random, 8)}`,
      isStaff: false,
      serviceId: '',
      ipLocDetail: located
        ? { city: region.city, province: region.province, regionCode: region.region, subdivision: '' }
        : emptyLocation(),
    };
    callType = random() < 0.6 ? 'offnet' : 'smartcall';
  }

  const endMs = startMs + (duration + ringing) * 1000;
  const row: CinnoxCallRow = {
    hid: hex(random, 24),
    roomID: `room-${hex(random, 12)}`,
    type: random() < 0.08 ? 'conference' : 'call',
    status,
    inquiryID: `inq-${hex(random, 16)}`,
    displayCaseNumber: `CS-${String(100000 + sequence).padStart(6, '0')}`,
    callID: `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-${pick(random, ['8', '9', 'a', 'b'])}${hex(random, 3)}-${hex(random, 12)}`,
    callDuration: duration,
    callDate: new Date(startMs).toISOString(),
    callEndTime: new Date(endMs).toISOString(),
    byeReason: pick(random, BYE_REASONS[status] ?? ['']),
    releaseParty: random() < 0.5 ? 'Caller' : 'Callee',
    virtualNumber: pick(random, VIRTUAL_NUMBERS).number,
    mediaType: video ? 'video' : 'audio',
    callerInfo,
    calleeInfo,
  };
  return { row, callType };
}

const error = (status: number, code: number, message: string): SimulatorReply => ({
  status,
  body: { code, message },
});

/** A non-negative integer parameter, its default when absent, or null when malformed. */
function integerParam(value: string | undefined, fallback: number): number | null {
  if (value === undefined || value === '') return fallback;
  return /^\d+$/.test(value) ? Number(value) : null;
}

/** An RFC 3339 instant parameter (offset required) in ms, undefined when absent, or null when malformed. */
function instantParam(value: string | undefined): number | undefined | null {
  if (value === undefined || value === '') return undefined;
  return parseIsoInstant(value)?.getTime() ?? null;
}

/**
 * A row's callDate in ms, read as the adapter reads it (one without an offset is UTC); an
 * unreadable one sorts as the oldest.
 */
const callDateMs = (row: CinnoxCallRow): number => parseIsoInstant(row.callDate, 'utc')?.getTime() ?? 0;

export function createCinnoxSimulator(
  options: { seed?: number; count?: number; credentials?: Partial<CinnoxCredentials> } = {},
): CinnoxSimulator {
  const seed = options.seed ?? 4401;
  const count = options.count ?? 300;
  const credentials: CinnoxCredentials = {
    appId: 'demo-app',
    appToken: 'cinnox-demo-token',
    ...options.credentials,
  };
  const random = seededRandom(seed);
  const rows: CinnoxCallRow[] = [];
  const callTypes = new Map<string, CinnoxCallType>();
  const unreadable = new UnreadableRows<CinnoxCallRow>();
  callInstants(seed, count).forEach((startMs, i) => {
    const { row, callType } = generateCall(random, startMs, count - i);
    rows.push(row);
    callTypes.set(row.callID, callType);
  });

  const pathPattern = /^\/apps\/([^/]+)\/data\/call-log\/?$/;

  const handler = (request: RecordedRequest): SimulatorReply => {
    const match = pathPattern.exec(request.path);
    if (!match) return error(404, 40400, 'not found');
    if (request.headers.authorization !== `Bearer ${credentials.appToken}`) {
      return error(401, 40100, 'unauthorized');
    }
    if (decodeURIComponent(match[1] as string) !== credentials.appId) {
      return error(404, 40401, 'app not found');
    }
    if (request.method !== 'GET') return error(405, 40500, 'method not allowed');

    const q = request.query;
    const offset = integerParam(q.offset, 0);
    if (offset === null) return error(400, 40002, 'offset must be a non-negative integer');
    const limit = integerParam(q.limit, DEFAULT_LIMIT);
    if (limit === null) return error(400, 40003, 'limit must be a non-negative integer');
    if (limit > CINNOX_MAX_LIMIT) return error(400, 40001, 'limit must not exceed 500');
    const startAt = instantParam(q.startAt);
    if (startAt === null) return error(400, 40004, 'startAt must be an RFC 3339 date-time');
    const endAt = instantParam(q.endAt);
    if (endAt === null) return error(400, 40005, 'endAt must be an RFC 3339 date-time');
    const callType = q.callType || undefined;
    if (callType !== undefined && !CALL_TYPES.includes(callType as CinnoxCallType)) {
      return error(400, 40006, 'callType must be onnet, offnet or smartcall');
    }
    const status = q.status || undefined;
    const callID = q.callID || undefined;

    const matching = rows.filter((row) => {
      if (callID !== undefined && row.callID !== callID) return false;
      if (callType !== undefined && callTypes.get(row.callID) !== callType) return false;
      if (status !== undefined && row.status !== status) return false;
      const t = callDateMs(row);
      if (startAt !== undefined && t < startAt) return false;
      if (endAt !== undefined && t >= endAt) return false;
      return true;
    });
    return { status: 200, body: { code: 0, result: unreadable.serveAll(matching.slice(offset, offset + limit)) } };
  };

  const server = new SimulatorServer('cinnox', handler);

  const addCall = (overrides: Partial<CinnoxCallRow> = {}): CinnoxCallRow => {
    const newest = rows.reduce((max, row) => Math.max(max, callDateMs(row)), 0);
    const startMs = arrivalInstant(newest, random);
    const { row: generated, callType } = generateCall(random, startMs, rows.length + 1);
    const row: CinnoxCallRow = { ...generated, ...overrides };
    callTypes.set(row.callID, callType);
    rows.unshift(row);
    // Newest callDate first, even when the overrides moved it (the sort is stable).
    rows.sort((a, b) => callDateMs(b) - callDateMs(a));
    return row;
  };

  // The newest of every call, listed or still in progress: a call that starts later starts after it.
  let newestStarted = 0;
  const startCall = (): CinnoxCallRow => {
    const newest = rows.reduce((max, row) => Math.max(max, callDateMs(row)), newestStarted);
    const startMs = arrivalInstant(newest, random);
    newestStarted = startMs;
    const { row, callType } = generateCall(random, startMs, rows.length + 1);
    callTypes.set(row.callID, callType);
    return row;
  };

  const endCall = (row: CinnoxCallRow): void => {
    const duration = 15 + Math.floor(random() * 1200);
    Object.assign(row, {
      status: 'Call Ended',
      callDuration: duration,
      callEndTime: new Date(callDateMs(row) + duration * 1000).toISOString(),
      byeReason: pick(random, BYE_REASONS['Call Ended'] ?? ['']),
    });
    rows.unshift(row);
    rows.sort((a, b) => callDateMs(b) - callDateMs(a));
  };

  return { server, rows, credentials, callTypes, addCall, startCall, endCall, listsOngoing: false, unreadable };
}
