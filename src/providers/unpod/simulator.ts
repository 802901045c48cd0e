/**
 * A simulated Unpod call-logs API (docs/providers/unpod.md): Token + Org-Handle auth, page-number
 * paging with a total count, start_date/end_date/call_type/call_status filters, and the published
 * quirks — rows with and without `id`, `call_duration` as an integer or "H:MM:SS", extra fields.
 */
import { SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply } from '../../simulation/harness.js';
import { SHARED_NUMBERS, callInstants, indianMobile, pick, seededRandom, arrivalInstant } from '../../simulation/data.js';
import { parseIsoInstant } from '../../time.js';

/** One call log exactly as Unpod's JSON carries it. */
export interface UnpodRawRow {
  id?: string;
  source_number: string;
  destination_number: string;
  call_type: string;
  call_status: string;
  creation_time: string;
  start_time: string | null;
  end_time: string | null;
  call_duration: number | string;
  end_reason: string | null;
  agent_id?: string;
  /** Quirk: a field no reference documents, present on some rows. */
  bridge?: number;
}

export interface UnpodCredentials {
  token: string;
  orgHandle: string;
}

export interface UnpodSimulator {
  server: SimulatorServer;
  /** Newest creation_time first, as the API answers. */
  rows: UnpodRawRow[];
  credentials: UnpodCredentials;
  /** Logs a call newer than every existing one (1–60 s after the newest). */
  addCall(overrides?: Partial<UnpodRawRow>): UnpodRawRow;
  /**
   * Starts a call newer than every existing one. Unpod's call logs list only ended calls, so it is
   * not listed until `endCall`.
   */
  startCall(): UnpodRawRow;
  /** Ends a call `startCall` returned: `completed`, answered, with its times and duration; now listed. */
  endCall(row: UnpodRawRow): void;
  readonly listsOngoing: false;
  /** Rows sent unreadable. */
  unreadable: UnreadableRows<UnpodRawRow>;
}

export const UNPOD_DEFAULT_CREDENTIALS: UnpodCredentials = {
  token: 'unpod-demo-token',
  orgHandle: 'demo-org',
};

/** Documented filter values; anything else is a 400. */
const CALL_TYPES = ['inbound', 'outbound'];
const CALL_STATUSES = ['completed', 'missed', 'no-answer', 'failed'];

/** The organisation's own lines (Bengaluru and Mumbai numbers) that its agents call from and answer. */
const ORG_LINES = ['+918045671200', '+918045671201', '+912261234500'];
const AGENTS = ['agent_3f9a1c07', 'agent_7b21e4d2', 'agent_c0d5aa91', 'agent_51e8f2b6'];

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

/** "2026-02-07T05:57:00Z": whole seconds, no milliseconds, as in Unpod's examples. */
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** 325 → "0:05:25" */
const hms = (seconds: number): string =>
  `${Math.floor(seconds / 3600)}:${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;

const hex = (random: () => number, length: number): string =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');

function statusFor(random: () => number, index: number): string {
  // A few words outside the contract's table exercise UNKNOWN.
  if (index % 47 === 5) return 'transferred';
  const roll = random();
  if (roll < 0.55) return 'completed';
  if (roll < 0.7) return 'missed';
  if (roll < 0.85) return 'no-answer';
  return 'failed';
}

function makeRow(random: () => number, index: number, createdMs: number): UnpodRawRow {
  const status = statusFor(random, index);
  const callType = random() < 0.5 ? 'inbound' : 'outbound';
  const customer = index % 23 === 4 ? SHARED_NUMBERS.india : `+91${indianMobile(random)}`;
  const line = pick(random, ORG_LINES);
  const answered = status === 'completed' || status === 'transferred';
  const ringSeconds = 2 + Math.floor(random() * 25);
  const talkSeconds = answered ? 8 + Math.floor(random() * 900) : 0;
  const startMs = createdMs + ringSeconds * 1000;
  const endReason = answered
    ? status === 'transferred'
      ? 'agent_transfer'
      : pick(random, ['caller_hangup', 'agent_hangup'])
    : status === 'failed'
      ? 'error'
      : 'no_answer';
  const row: UnpodRawRow = {
    source_number: callType === 'outbound' ? line : customer,
    destination_number: callType === 'outbound' ? customer : line,
    call_type: callType,
    call_status: status,
    creation_time: isoSeconds(createdMs),
    start_time: answered ? isoSeconds(startMs) : null,
    end_time: answered ? isoSeconds(startMs + talkSeconds * 1000) : null,
    // Quirk: both published formats, alternating.
    call_duration: index % 2 === 0 ? talkSeconds : hms(talkSeconds),
    end_reason: endReason,
  };
  if (random() < 0.8) row.agent_id = pick(random, AGENTS);
  if (index % 9 === 3) row.bridge = 1;
  // Quirk: about half the rows carry an id, the others none at all.
  return random() < 0.5 ? { id: `call_${hex(random, 12)}`, ...row } : row;
}

const reply = (status: number, message: string): SimulatorReply => ({
  status,
  body: { status_code: status, message },
});

/** Unpod's instants, read as the adapter reads them (one without an offset is UTC). */
const parseInstant = (text: string): Date | null => parseIsoInstant(text, 'utc');
const createdMs = (row: UnpodRawRow): number => parseInstant(row.creation_time)?.getTime() ?? 0;

export function createUnpodSimulator(
  options: { seed?: number; count?: number; credentials?: Partial<UnpodCredentials> } = {},
): UnpodSimulator {
  const seed = options.seed ?? 3301;
  const credentials: UnpodCredentials = { ...UNPOD_DEFAULT_CREDENTIALS, ...options.credentials };
  const random = seededRandom(seed);
  const rows: UnpodRawRow[] = [];
  const unreadable = new UnreadableRows<UnpodRawRow>();
  // Id-less rows are told apart only by (creation_time, source, destination): keep those unique.
  const identities = new Set<string>();
  const keep = (row: UnpodRawRow): UnpodRawRow => {
    const identity = `${row.creation_time}|${row.source_number}|${row.destination_number}`;
    const withId = row.id === undefined && identities.has(identity) ? { id: `call_${hex(random, 12)}`, ...row } : row;
    identities.add(identity);
    return withId;
  };
  callInstants(seed, options.count ?? 300).forEach((ms, index) => rows.push(keep(makeRow(random, index, ms))));

  const addCall = (overrides: Partial<UnpodRawRow> = {}): UnpodRawRow => {
    const newest = rows.reduce((max, row) => Math.max(max, createdMs(row)), 0);
    const at = arrivalInstant(newest, random);
    const row = keep({ ...makeRow(random, rows.length, at), ...overrides });
    rows.unshift(row);
    // Stable: equal creation_times keep their order; overrides may move a row back in time.
    rows.sort((a, b) => createdMs(b) - createdMs(a));
    return row;
  };

  // The newest of every row, listed or still in progress: a call that starts later starts after it.
  let newestStarted = 0;
  const startCall = (): UnpodRawRow => {
    const newest = rows.reduce((max, row) => Math.max(max, createdMs(row)), newestStarted);
    const at = arrivalInstant(newest, random);
    newestStarted = at;
    return keep(makeRow(random, rows.length, at));
  };

  const endCall = (row: UnpodRawRow): void => {
    const talkSeconds = 8 + Math.floor(random() * 900);
    const startMs = createdMs(row) + 5_000;
    Object.assign(row, {
      call_status: 'completed',
      start_time: isoSeconds(startMs),
      end_time: isoSeconds(startMs + talkSeconds * 1000),
      call_duration: talkSeconds,
      end_reason: 'caller_hangup',
    });
    rows.unshift(row);
    rows.sort((a, b) => createdMs(b) - createdMs(a));
  };

  const handler = (request: RecordedRequest): SimulatorReply => {
    if (request.method !== 'GET' || !/^\/call-logs\/?$/.test(request.path)) return reply(404, 'Not found.');

    const authorization = request.headers.authorization;
    if (typeof authorization !== 'string' || !authorization.startsWith('Token ')) {
      return reply(401, 'Authentication credentials were not provided.');
    }
    if (authorization.slice('Token '.length).trim() !== credentials.token) return reply(401, 'Invalid token.');
    const orgHandle = request.headers['org-handle'];
    if (typeof orgHandle !== 'string' || orgHandle.trim() === '') {
      return reply(400, 'Org-Handle header is required.');
    }
    if (orgHandle !== credentials.orgHandle) {
      return reply(403, 'You do not have permission to access this organization.');
    }

    const q = request.query;
    const positive = (value: string | undefined, fallback: number): number | null =>
      value === undefined ? fallback : /^\d+$/.test(value) && Number(value) >= 1 ? Number(value) : null;
    const page = positive(q.page, 1);
    if (page === null) return reply(400, 'Invalid page.');
    const requestedSize = positive(q.page_size, DEFAULT_PAGE_SIZE);
    if (requestedSize === null) return reply(400, 'Invalid page_size.');
    const pageSize = Math.min(requestedSize, MAX_PAGE_SIZE);
    const start = q.start_date === undefined ? null : parseInstant(q.start_date);
    if (q.start_date !== undefined && !start) return reply(400, 'Invalid start_date.');
    const end = q.end_date === undefined ? null : parseInstant(q.end_date);
    if (q.end_date !== undefined && !end) return reply(400, 'Invalid end_date.');
    if (q.call_type !== undefined && !CALL_TYPES.includes(q.call_type)) return reply(400, 'Invalid call_type.');
    if (q.call_status !== undefined && !CALL_STATUSES.includes(q.call_status)) {
      return reply(400, 'Invalid call_status.');
    }

    // Both bounds inclusive on creation_time (the page's assumption).
    const matching = rows.filter((row) => {
      const at = createdMs(row);
      if (start && at < start.getTime()) return false;
      if (end && at > end.getTime()) return false;
      if (q.call_type !== undefined && row.call_type !== q.call_type) return false;
      if (q.call_status !== undefined && row.call_status !== q.call_status) return false;
      return true;
    });
    const offset = (page - 1) * pageSize;
    return {
      status: 200,
      body: {
        count: matching.length,
        status_code: 200,
        message: 'Call logs fetched successfully',
        data: unreadable.serveAll(matching.slice(offset, offset + pageSize)),
      },
    };
  };

  return { server: new SimulatorServer('unpod', handler), rows, credentials, addCall, startCall, endCall, listsOngoing: false, unreadable };
}
