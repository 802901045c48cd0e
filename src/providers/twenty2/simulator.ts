/**
 * A Twenty2 upstream for tests and the demo (docs/providers/twenty2.md): Basic auth plus
 * `x-workspace-id`, GET /call/logs paged by `page`/`limit` (with the assumed pagination block),
 * GET /call/detail with signed-looking media links, and Twenty2's error body.
 */
import { Buffer } from 'node:buffer';
import {
  SHARED_NUMBERS,
  callInstants,
  indianMobile,
  pick,
  seededRandom, arrivalInstant } from '../../simulation/data.js';
import { SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply } from '../../simulation/harness.js';
import { parseIsoInstant } from '../../time.js';

/** A /call/logs row as Twenty2 sends it. */
export interface Twenty2CallJson {
  call_id: string;
  agent_id: string;
  status: string;
  direction: string;
  callee_phone: string;
  caller_phone: string;
  duration_seconds: number | null;
  cost: string;
  started_at: string;
  ended_at: string | null;
}

export interface Twenty2MediaJson {
  url: string;
  expires_at: string;
}

/** A /call/detail body. `recording`/`transcript` are null or left out where there is none. */
export interface Twenty2DetailJson {
  success: true;
  call: Twenty2CallJson & { billed_duration_seconds: number };
  input_parameters: Record<string, unknown>;
  output_parameters: Record<string, unknown>;
  recording?: Twenty2MediaJson | null;
  transcript?: Twenty2MediaJson | null;
}

export interface Twenty2SimulatorCredentials {
  username: string;
  password: string;
  workspaceId: string;
}

export interface Twenty2SimulatorOptions {
  seed?: number;
  count?: number;
  credentials?: Partial<Twenty2SimulatorCredentials>;
  /** Send the (assumed) `pagination` block in list responses; default true. */
  paginationBlock?: boolean;
  /** Base of media links; default the base URL the request was sent to. */
  mediaBaseUrl?: string;
}

export interface Twenty2Simulator {
  server: SimulatorServer;
  /** Every call, newest `started_at` first, as /call/logs sends them. */
  rows: Twenty2CallJson[];
  credentials: Twenty2SimulatorCredentials;
  /**
   * Inserts a call newer than every existing one (1–60 s after the newest); `parameters` replace
   * the generated input/output parameters of its detail.
   */
  addCall(
    overrides?: Partial<Twenty2CallJson>,
    parameters?: { input_parameters?: Record<string, unknown>; output_parameters?: Record<string, unknown> },
  ): Twenty2CallJson;
  /** Starts a call in progress (`connected`, no end, duration or cost yet), newer than every existing one. */
  startCall(): Twenty2CallJson;
  /** Ends a call `startCall` returned: `completed`, with its end, duration, cost and detail. */
  endCall(row: Twenty2CallJson): void;
  readonly listsOngoing: true;
  /** The /call/detail body for a call, or null when unknown; media links under the running server. */
  detailOf(callId: string): Twenty2DetailJson | null;
  /** Rows sent unreadable, in /call/logs and as the `call` of their /call/detail body. */
  unreadable: UnreadableRows<Twenty2CallJson>;
  /** Calls whose /call/detail body (replaced as a whole, e.g. its `recording`) is sent unreadable. */
  unreadableDetail: UnreadableRows<Twenty2CallJson>;
}

export const TWENTY2_DEFAULT_CREDENTIALS: Twenty2SimulatorCredentials = {
  username: 'demo-user',
  password: 'demo-pass',
  workspaceId: 'ws_demo',
};

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const MEDIA_LIFETIME_MS = 3_600_000;

/** Weighted status words of the provider page, plus an undocumented one for UNKNOWN. */
const STATUS_WEIGHTS: readonly (readonly [string, number])[] = [
  ['completed', 0.55],
  ['not_connected', 0.2],
  ['failed', 0.09],
  ['initiated', 0.08],
  ['connected', 0.08],
];
const UNDOCUMENTED_STATUS = 'voicemail_detected';

/** SHARED_NUMBERS.india as Twenty2 writes it: national, without the country code. */
const SHARED_NATIONAL = SHARED_NUMBERS.india.replace(/^\+91/, '');

const AGENT_IDS = [
  '69de483c68b23495c853b43a',
  '69de4a1f68b23495c853b4f2',
  '6a01c2d9e4b0f3a7c1d2e3f4',
  '6a0d77b2e4b0f3a7c1d2e501',
];
const RATES_PER_MINUTE = [4.5, 6, 7.25];
const FIRST_NAMES = ['Aarav', 'Diya', 'Ishaan', 'Meera', 'Rohan', 'Sneha', 'Vikram', 'Ananya'];
const CAMPAIGNS = ['renewal-reminder', 'lead-qualification', 'payment-followup', 'feedback-survey'];
const INTENTS = ['interested', 'not_interested', 'callback', 'already_paid', 'wrong_number'];

/**
 * A row's started_at in ms, read as the adapter reads it (one without an offset is UTC); an
 * unreadable one sorts as the oldest.
 */
const startedAtMs = (row: Twenty2CallJson): number => parseIsoInstant(row.started_at, 'utc')?.getTime() ?? 0;

/** "2024-12-25T10:00:00Z": whole seconds, as on the provider page. */
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

const errorReply = (status: number, code: string, message: string): SimulatorReply => ({
  status,
  body: { success: false, error: { code, message, status } },
});

interface CallExtras {
  billed_duration_seconds: number;
  input_parameters: Record<string, unknown>;
  output_parameters: Record<string, unknown>;
  recording: 'present' | 'null' | 'absent';
  transcript: 'present' | 'null' | 'absent';
}

export function createTwenty2Simulator(options: Twenty2SimulatorOptions = {}): Twenty2Simulator {
  const seed = options.seed ?? 2201;
  const count = options.count ?? 300;
  const paginationBlock = options.paginationBlock ?? true;
  const credentials: Twenty2SimulatorCredentials = {
    ...TWENTY2_DEFAULT_CREDENTIALS,
    ...options.credentials,
  };
  const expectedAuthorization = `Basic ${Buffer.from(
    `${credentials.username}:${credentials.password}`,
    'utf8',
  ).toString('base64')}`;

  const random = seededRandom(seed);
  const businessNumbers = Array.from({ length: 3 }, () => indianMobile(random));
  const usedIds = new Set<string>();
  const extras = new Map<string, CallExtras>();
  const unreadable = new UnreadableRows<Twenty2CallJson>();
  const unreadableDetail = new UnreadableRows<Twenty2CallJson>();
  let generated = 0;

  const newCallId = (): string => {
    for (;;) {
      const id = `call_${Array.from({ length: 10 }, () => Math.floor(random() * 16).toString(16)).join('')}`;
      if (!usedIds.has(id)) return id;
    }
  };

  const pickStatus = (ordinal: number): string => {
    if (ordinal % 60 === 17) return UNDOCUMENTED_STATUS;
    let roll = random();
    for (const [word, weight] of STATUS_WEIGHTS) {
      if (roll < weight) return word;
      roll -= weight;
    }
    return 'completed';
  };

  const newRow = (startedMs: number): Twenty2CallJson => {
    const ordinal = generated++;
    const status = pickStatus(ordinal);
    const direction = random() < 0.65 ? 'outbound' : 'inbound';
    const business = pick(random, businessNumbers);
    // Every 25th call is with the number other providers' simulators share.
    const customer = ordinal % 25 === 7 ? SHARED_NATIONAL : indianMobile(random);
    const rate = pick(random, RATES_PER_MINUTE);
    let duration: number | null = 0;
    let endedMs: number | null = null;
    let billable = 0;
    switch (status) {
      case 'completed':
        duration = 20 + Math.floor(random() * 880);
        endedMs = startedMs + duration * 1000;
        billable = duration;
        break;
      case UNDOCUMENTED_STATUS:
        duration = 5 + Math.floor(random() * 25);
        endedMs = startedMs + duration * 1000;
        billable = duration;
        break;
      case 'not_connected':
        endedMs = startedMs + (30 + Math.floor(random() * 15)) * 1000; // ring time-out
        break;
      case 'failed':
        endedMs = startedMs + (1 + Math.floor(random() * 4)) * 1000;
        break;
      case 'connected':
        duration = null; // still running: no duration yet
        break;
      default: // initiated
        break;
    }
    const billedMinutes = Math.ceil(billable / 60);
    const callId = newCallId();
    usedIds.add(callId);
    return {
      call_id: callId,
      agent_id: pick(random, AGENT_IDS),
      status,
      direction,
      caller_phone: direction === 'outbound' ? business : customer,
      callee_phone: direction === 'outbound' ? customer : business,
      duration_seconds: duration,
      cost: `${(billedMinutes * rate).toFixed(2)} INR`,
      started_at: isoSeconds(startedMs),
      ended_at: endedMs === null ? null : isoSeconds(endedMs),
    };
  };

  const newExtras = (row: Twenty2CallJson): CallExtras => {
    const spoke = row.status === 'completed' || row.status === UNDOCUMENTED_STATUS;
    const billed = spoke ? Math.ceil((row.duration_seconds ?? 0) / 60) * 60 : 0;
    const input = {
      customer_name: pick(random, FIRST_NAMES),
      language: pick(random, ['en-IN', 'hi-IN']),
      campaign: pick(random, CAMPAIGNS),
    };
    const output =
      row.status === 'completed'
        ? {
            intent: pick(random, INTENTS),
            callback_requested: random() < 0.3,
            summary: 'Customer discussed the reminder and confirmed the details.',
          }
        : {};
    // Failed calls leave the media keys out; other calls without media send null.
    const none = row.status === 'failed' ? 'absent' : 'null';
    const transcriptMissing = row.status === 'completed' && random() < 0.1;
    return {
      billed_duration_seconds: billed,
      input_parameters: input,
      output_parameters: output,
      recording: spoke ? 'present' : none,
      transcript:
        row.status === 'completed' ? (transcriptMissing ? 'absent' : 'present') : spoke ? 'null' : none,
    };
  };

  const rows: Twenty2CallJson[] = [];
  // callInstants always includes the shared instants; a small `count` keeps the newest only.
  for (const instant of callInstants(seed, count).slice(0, count)) {
    const row = newRow(instant);
    rows.push(row);
    extras.set(row.call_id, newExtras(row));
  }

  const detailFor = (callId: string, mediaBase: string, now: number): Twenty2DetailJson | null => {
    const row = rows.find((candidate) => candidate.call_id === callId);
    const extra = extras.get(callId);
    if (!row || !extra) return null;
    // Issued on the minute: two answers a moment apart carry the same links (as tests compare
    // answers), while each is still valid for about MEDIA_LIFETIME_MS from when it was sent.
    const expiresAt = isoSeconds(Math.floor(now / 60_000) * 60_000 + MEDIA_LIFETIME_MS);
    const link = (extension: string): Twenty2MediaJson => ({
      url: `${mediaBase}/media/${encodeURIComponent(callId)}.${extension}?expires=${Date.parse(expiresAt) / 1000}`,
      expires_at: expiresAt,
    });
    const detail: Twenty2DetailJson = {
      success: true,
      call: { ...row, billed_duration_seconds: extra.billed_duration_seconds },
      input_parameters: extra.input_parameters,
      output_parameters: extra.output_parameters,
    };
    if (extra.recording !== 'absent') detail.recording = extra.recording === 'present' ? link('mp3') : null;
    if (extra.transcript !== 'absent') detail.transcript = extra.transcript === 'present' ? link('txt') : null;
    return detail;
  };

  const positiveInteger = (text: string | undefined, fallback: number): number | null => {
    if (text === undefined || text === '') return fallback;
    return /^\d+$/.test(text) && Number(text) >= 1 ? Number(text) : null;
  };

  const listCalls = (request: RecordedRequest): SimulatorReply => {
    const page = positiveInteger(request.query.page, 1);
    if (page === null) return errorReply(400, 'INVALID_PAGE', 'page must be a positive integer');
    const limit = positiveInteger(request.query.limit, DEFAULT_LIMIT);
    if (limit === null || limit > MAX_LIMIT) {
      return errorReply(400, 'INVALID_LIMIT', `limit must be between 1 and ${MAX_LIMIT}`);
    }
    const start = (page - 1) * limit;
    const calls = rows.slice(start, start + limit);
    return {
      status: 200,
      body: {
        success: true,
        calls: unreadable.serveAll(calls),
        ...(paginationBlock
          ? { pagination: { page, limit, total: rows.length, has_more: start + limit < rows.length } }
          : {}),
      },
    };
  };

  const handler = (request: RecordedRequest): SimulatorReply => {
    const workspace = request.headers['x-workspace-id'];
    if (request.headers.authorization !== expectedAuthorization || workspace !== credentials.workspaceId) {
      return errorReply(401, 'UNAUTHORIZED', 'Invalid credentials or workspace');
    }
    if (request.method !== 'GET') return errorReply(405, 'METHOD_NOT_ALLOWED', 'Method not allowed');
    switch (request.path) {
      case '/call/logs':
        return listCalls(request);
      case '/call/detail': {
        const callId = request.query.call_id;
        if (!callId) return errorReply(400, 'MISSING_CALL_ID', 'call_id is required');
        const host = request.headers.host;
        const base = options.mediaBaseUrl ?? (host ? `http://${host}` : server.url);
        const detail = detailFor(callId, base, Date.now());
        if (!detail) return errorReply(404, 'CALL_NOT_FOUND', 'Call not found');
        const row = rows.find((candidate) => candidate.call_id === callId)!;
        const { billed_duration_seconds, ...call } = detail.call;
        const sent = unreadable.serve(row, call);
        const body = {
          ...detail,
          call: typeof sent === 'object' && sent !== null ? { ...sent, billed_duration_seconds } : sent,
        };
        return { status: 200, body: unreadableDetail.serve(row, body) };
      }
      default:
        return errorReply(404, 'NOT_FOUND', 'Route not found');
    }
  };

  const server = new SimulatorServer('twenty2', handler);

  const addCall: Twenty2Simulator['addCall'] = (overrides = {}, parameters = {}) => {
    const newest = Math.max(0, ...rows.map(startedAtMs));
    const startedMs = arrivalInstant(newest, random);
    const row: Twenty2CallJson = { ...newRow(startedMs), ...overrides };
    usedIds.add(row.call_id);
    extras.set(row.call_id, { ...newExtras(row), ...parameters });
    // Keep newest-first order even when the overrides move the start back.
    const at = rows.findIndex((existing) => startedAtMs(existing) <= startedAtMs(row));
    rows.splice(at === -1 ? rows.length : at, 0, row);
    return row;
  };

  const startCall = (): Twenty2CallJson => addCall({ status: 'connected', duration_seconds: null, ended_at: null, cost: '0.00 INR' });

  const endCall = (row: Twenty2CallJson): void => {
    const duration = 20 + Math.floor(random() * 880);
    row.status = 'completed';
    row.duration_seconds = duration;
    row.ended_at = isoSeconds(startedAtMs(row) + duration * 1000);
    row.cost = `${(Math.ceil(duration / 60) * pick(random, RATES_PER_MINUTE)).toFixed(2)} INR`;
    extras.set(row.call_id, newExtras(row));
  };

  return {
    server,
    rows,
    credentials,
    addCall,
    startCall,
    endCall,
    listsOngoing: true,
    unreadable,
    unreadableDetail,
    detailOf: (callId) => detailFor(callId, options.mediaBaseUrl ?? server.url, Date.now()),
  };
}
