/**
 * A Retell AI upstream for tests and the demo, following docs/providers/retell.md (mirrored in
 * docs/providers/retell.md): `Authorization: Bearer <key>`, POST /v3/list-calls (JSON body with
 * `filter_criteria`, `sort_order` by start_timestamp, `limit` ≤ 1000, an opaque `pagination_key`
 * with `has_more`, or `skip` — never both —, `include_total`), GET /v2/get-call/{call_id} (422 for
 * an unknown id), errors as `{ status: "error", message }`. List items carry no transcripts.
 * Pagination keys are base64url of the last row's position, so calls arriving between two requests
 * neither repeat nor shift rows.
 */
import { createHmac } from 'node:crypto';
import { type PushAnswer, type PushSigning, SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply, pushBody, sendPush } from '../../simulation/harness.js';
import { SHARED_NUMBERS, arrivalInstant, callInstants, pick, seededRandom, sharedInstants, usNumber } from '../../simulation/data.js';

/** A call object as get-call sends it (list items are the same without the transcript fields). */
export interface RetellRawCall {
  call_type: 'phone_call' | 'web_call';
  call_id: string;
  agent_id: string;
  agent_version: number;
  agent_name: string;
  call_status: string;
  direction?: 'inbound' | 'outbound';
  from_number?: string;
  to_number?: string;
  /** Epoch ms; absent while `registered`. */
  start_timestamp?: number;
  end_timestamp?: number;
  duration_ms?: number;
  disconnection_reason?: string;
  recording_url?: string;
  recording_multi_channel_url?: string;
  public_log_url?: string;
  opt_in_signed_url?: boolean;
  /** Cents, no currency. */
  call_cost?: { combined_cost: number; total_duration_seconds: number; total_duration_unit_price: number; product_costs: { product: string; unit_price: number; cost: number }[] };
  call_analysis?: { call_summary: string; user_sentiment: string; call_successful: boolean; in_voicemail: boolean; custom_analysis_data: Record<string, unknown> };
  metadata?: Record<string, unknown>;
  retell_llm_dynamic_variables?: Record<string, string>;
  collected_dynamic_variables?: Record<string, string>;
  access_token?: string;
  batch_call_id?: string;
  /** get-call only. */
  transcript?: string;
  transcript_object?: { role: string; content: string }[];
  transcript_with_tool_calls?: { role: string; content: string }[];
}

export interface RetellCredentials {
  apiKey: string;
}

export interface RetellSimulatorOptions {
  seed?: number;
  count?: number;
  credentials?: Partial<RetellCredentials>;
}

export interface RetellSimulator {
  server: SimulatorServer;
  /** Every call in list order (descending start_timestamp, ties by call_id; not-yet-started first). */
  rows: RetellRawCall[];
  credentials: RetellCredentials;
  /** Adds an ended call newer than every existing one. */
  addCall(overrides?: Partial<RetellRawCall>): RetellRawCall;
  /** Starts a call `ongoing`, newer than every existing one. */
  startCall(): RetellRawCall;
  /** Ends a call `startCall` returned: `ended`, with its end, duration, cost, recording and transcript. */
  endCall(row: RetellRawCall): void;
  readonly listsOngoing: true;
  /** Rows sent unreadable, in lists and by get-call. */
  unreadable: UnreadableRows<RetellRawCall>;
  /**
   * Sends a webhook about `row` to `url` as Retell does (`{ event, call }`), signed in
   * x-retell-signature = `v=<ms>,d=<hex HMAC-SHA256(body + ms)>` with the API key.
   */
  push(url: string, row: RetellRawCall, event: 'call_started' | 'call_ended' | 'call_analyzed', signing?: PushSigning): Promise<PushAnswer>;
}

export const RETELL_DEMO_CREDENTIALS: RetellCredentials = { apiKey: 'key_retell_demo_0123456789abcdef' };

/** Fields list items leave out (the page: V3CallResponse has no transcripts). */
const TRANSCRIPT_FIELDS = ['transcript', 'transcript_object', 'transcript_with_tool_calls', 'scrubbed_transcript_with_tool_calls'] as const;
const STATUS_FILTER_WORDS = new Set(['not_connected', 'ongoing', 'ended', 'error']);
const ENDED_REASONS = ['user_hangup', 'user_hangup', 'agent_hangup', 'agent_hangup', 'call_transfer', 'voicemail_reached', 'inactivity', 'max_duration_reached', 'ivr_reached'];
const NOT_CONNECTED_REASONS = ['dial_busy', 'dial_no_answer', 'dial_no_answer', 'dial_failed', 'invalid_destination', 'user_declined', 'manual_stopped', 'no_valid_payment', 'concurrency_limit_reached'];
const ERROR_REASONS = ['error_llm_websocket_open', 'error_no_audio_received', 'error_retell', 'error_unknown', 'dial_failed'];
const AGENTS = [
  { agent_id: 'agent_oBeDLoLOeuAbiuaMFXRtDOLriT1', agent_name: 'Appointment setter' },
  { agent_id: 'agent_7c1f0a9e3b2d4c5e6f708192a3b4', agent_name: 'Support triage' },
];

const SHARED: ReadonlySet<number> = new Set(sharedInstants());

const error = (status: number, message: string): SimulatorReply => ({ status, body: { status: 'error', message } });

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const hex = (random: () => number, length: number): string =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');

type Test = (row: RetellRawCall) => boolean;

/** A `{type, op, value}` condition on a number field (`number` ops or `range` `bt`, inclusive). */
function numberTest(name: string, condition: Record<string, unknown>, valueOf: (row: RetellRawCall) => number | undefined): Test | string {
  const { type, op, value } = condition;
  if (type === 'range') {
    if (op !== 'bt' || !Array.isArray(value) || value.length !== 2 || !value.every((v) => typeof v === 'number')) return `${name}: range takes op "bt" and [lower, upper]`;
    const [lower, upper] = value as [number, number];
    return (row) => { const v = valueOf(row); return v !== undefined && v >= lower && v <= upper; };
  }
  if (type !== 'number' || typeof value !== 'number') return `${name}: expected {type:"number", op, value:<number>}`;
  const compare: Record<string, (v: number) => boolean> = {
    eq: (v) => v === value, ne: (v) => v !== value, gt: (v) => v > value, ge: (v) => v >= value, lt: (v) => v < value, le: (v) => v <= value,
  };
  const test = typeof op === 'string' ? compare[op] : undefined;
  if (!test) return `${name}: op must be eq, ne, gt, ge, lt or le`;
  return (row) => { const v = valueOf(row); return v !== undefined && test(v); };
}

function enumTest(name: string, condition: Record<string, unknown>, allowed: ReadonlySet<string>, valueOf: (row: RetellRawCall) => string | undefined): Test | string {
  const { type, op, value } = condition;
  if (type !== 'enum' || op !== 'in' || !Array.isArray(value) || !value.every((v) => typeof v === 'string' && allowed.has(v))) {
    return `${name}: expected {type:"enum", op:"in", value:[${[...allowed].join(', ')}]}`;
  }
  return (row) => { const v = valueOf(row); return v !== undefined && (value as string[]).includes(v); };
}

function stringTest(name: string, condition: Record<string, unknown>, valueOf: (row: RetellRawCall) => string | undefined): Test | string {
  const { type, op, value } = condition;
  if (type !== 'string' || typeof value !== 'string') return `${name}: expected {type:"string", op, value:<string>}`;
  const compare: Record<string, (v: string) => boolean> = {
    eq: (v) => v === value, ne: (v) => v !== value, sw: (v) => v.startsWith(value), ew: (v) => v.endsWith(value), co: (v) => v.includes(value),
  };
  const test = typeof op === 'string' ? compare[op] : undefined;
  if (!test) return `${name}: op must be eq, ne, sw, ew or co`;
  return (row) => { const v = valueOf(row); return v !== undefined && test(v); };
}

/** The filters this simulator applies; any other `filter_criteria` key is refused (400), not ignored. */
const FILTERS: Record<string, (name: string, condition: Record<string, unknown>) => Test | string> = {
  start_timestamp: (n, c) => numberTest(n, c, (row) => row.start_timestamp),
  end_timestamp: (n, c) => numberTest(n, c, (row) => row.end_timestamp),
  duration_ms: (n, c) => numberTest(n, c, (row) => row.duration_ms),
  combined_cost: (n, c) => numberTest(n, c, (row) => row.call_cost?.combined_cost),
  call_status: (n, c) => enumTest(n, c, STATUS_FILTER_WORDS, (row) => row.call_status),
  direction: (n, c) => enumTest(n, c, new Set(['inbound', 'outbound']), (row) => row.direction),
  call_type: (n, c) => enumTest(n, c, new Set(['web_call', 'phone_call']), (row) => row.call_type),
  from_number: (n, c) => stringTest(n, c, (row) => row.from_number),
  to_number: (n, c) => stringTest(n, c, (row) => row.to_number),
  call_id: (n, c) => stringTest(n, c, (row) => row.call_id),
  batch_call_id: (n, c) => stringTest(n, c, (row) => row.batch_call_id),
};

export function createRetellSimulator(options: RetellSimulatorOptions = {}): RetellSimulator {
  const seed = options.seed ?? 7301;
  const count = options.count ?? 300;
  const credentials: RetellCredentials = { ...RETELL_DEMO_CREDENTIALS, ...options.credentials };
  const random = seededRandom(seed);
  const agentNumbers = [usNumber(random), usNumber(random)];
  const unreadable = new UnreadableRows<RetellRawCall>();

  function makeCall(instant: number | null, status: string, web = false): RetellRawCall {
    const agent = pick(random, AGENTS);
    const id = `call_${hex(random, 27)}`;
    const call: RetellRawCall = {
      call_type: web ? 'web_call' : 'phone_call',
      call_id: id,
      agent_id: agent.agent_id,
      agent_version: 1 + Math.floor(random() * 3),
      agent_name: agent.agent_name,
      call_status: status,
    };
    if (web) call.access_token = `eyJ${hex(random, 24)}`;
    else {
      const outbound = random() < 0.6;
      const customer = random() < 0.05 ? SHARED_NUMBERS.us : usNumber(random);
      const own = pick(random, agentNumbers);
      call.direction = outbound ? 'outbound' : 'inbound';
      call.from_number = outbound ? own : customer;
      call.to_number = outbound ? customer : own;
    }
    if (random() < 0.1) call.batch_call_id = `batch_${hex(random, 10)}`;
    call.retell_llm_dynamic_variables = { customer_name: pick(random, ['John Doe', 'Asha Rao', 'Mia Chen']) };
    if (instant === null) return call; // registered: no timestamps yet
    // Millisecond precision, except on the instants shared with the other simulators (ties across providers).
    call.start_timestamp = SHARED.has(instant) ? instant : instant + Math.floor(random() * 1000);
    const s3 = `https://retellai.s3.us-west-2.amazonaws.com/${id}`;
    if (status === 'ongoing') return call;
    let durationMs = 0;
    if (status === 'ended') {
      call.disconnection_reason = random() < 0.04 ? 'dial_busy' : pick(random, ENDED_REASONS);
      durationMs = 5_000 + Math.floor(random() * 600_000);
    } else if (status === 'not_connected') {
      call.disconnection_reason = pick(random, NOT_CONNECTED_REASONS);
    } else if (status === 'error') {
      call.disconnection_reason = pick(random, ERROR_REASONS);
      durationMs = Math.floor(random() * 3_000);
    } else {
      call.disconnection_reason = pick(random, ['user_hangup', 'call_take_over']);
      durationMs = Math.floor(random() * 60_000);
    }
    call.end_timestamp = call.start_timestamp + durationMs;
    call.duration_ms = durationMs;
    const seconds = Math.round(durationMs / 1000);
    // Cents, sometimes fractional (unit prices are fractions of a cent per second).
    const combined = seconds === 0 ? 0 : Math.round(seconds * (random() < 0.5 ? 11.5 : 12) * 100) / 100;
    call.call_cost = {
      combined_cost: combined,
      total_duration_seconds: seconds,
      total_duration_unit_price: 0.115,
      product_costs: [{ product: 'elevenlabs_tts', unit_price: 0.07, cost: Math.round(seconds * 7) / 100 }],
    };
    if (durationMs > 0) {
      call.recording_url = `${s3}/recording.wav`;
      call.recording_multi_channel_url = `${s3}/recording_multichannel.wav`;
      call.public_log_url = `${s3}/public_log.txt`;
      call.opt_in_signed_url = false;
      call.transcript = `Agent: Hi, this is ${agent.agent_name}.\nUser: Hello.\nAgent: How can I help?`;
      call.transcript_object = [{ role: 'agent', content: `Hi, this is ${agent.agent_name}.` }, { role: 'user', content: 'Hello.' }];
      call.transcript_with_tool_calls = call.transcript_object;
      call.collected_dynamic_variables = { last_node_name: pick(random, ['Greeting', 'Booking', 'Goodbye']) };
    }
    if (status === 'ended') {
      const booked = random() < 0.5;
      call.call_analysis = {
        call_summary: booked ? 'The user agreed to an appointment.' : 'The user declined.',
        user_sentiment: booked ? 'Positive' : 'Neutral',
        call_successful: booked,
        in_voicemail: call.disconnection_reason === 'voicemail_reached',
        custom_analysis_data: booked ? { appointment: 'next Monday 10am', last_node_name: 'Booked' } : {},
      };
    }
    return call;
  }

  const startOf = (row: RetellRawCall): number => row.start_timestamp ?? Number.POSITIVE_INFINITY;
  /** Descending start_timestamp, ties by call_id; not-yet-started calls first (assumption). */
  const descending = (a: RetellRawCall, b: RetellRawCall): number =>
    startOf(a) === startOf(b) ? (a.call_id < b.call_id ? -1 : a.call_id > b.call_id ? 1 : 0) : startOf(b) > startOf(a) ? 1 : -1;

  const rows: RetellRawCall[] = callInstants(seed, count).map((instant, i) => {
    let status: string;
    if (i < 2) status = 'ongoing';
    else if (i < 4) status = pick(random, ['ongoing', 'ended']);
    else if (random() < 0.02) status = 'transferring'; // a word outside the documented set
    else status = pick(random, ['ended', 'ended', 'ended', 'ended', 'ended', 'not_connected', 'not_connected', 'error']);
    return makeCall(instant, status, random() < 0.08);
  });
  // Two calls just registered: ids issued, no start_timestamp yet.
  rows.push(makeCall(null, 'registered'), makeCall(null, 'registered'));
  rows.sort(descending);

  const encodeKey = (row: RetellRawCall): string =>
    Buffer.from(JSON.stringify([row.start_timestamp ?? null, row.call_id])).toString('base64url');

  function decodeKey(key: string): [number, string] | null {
    try {
      const value: unknown = JSON.parse(Buffer.from(key, 'base64url').toString('utf8'));
      if (Array.isArray(value) && (typeof value[0] === 'number' || value[0] === null) && typeof value[1] === 'string') {
        return [value[0] ?? Number.POSITIVE_INFINITY, value[1]];
      }
    } catch {
      // falls through: not a key this server issued
    }
    return null;
  }

  const authorised = (request: RecordedRequest): boolean => request.headers.authorization === `Bearer ${credentials.apiKey}`;

  /** A call as list items send it: without the transcript fields. */
  function listItem(row: RetellRawCall): object {
    const item: Record<string, unknown> = { ...row };
    for (const field of TRANSCRIPT_FIELDS) delete item[field];
    return item;
  }

  function list(request: RecordedRequest): SimulatorReply {
    const body = request.body === undefined ? {} : request.body;
    if (!isRecord(body)) return error(400, 'Invalid request format, please check API reference.');
    const limit = body.limit ?? 50;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) return error(400, 'limit must be an integer from 1 to 1000');
    const sortOrder = body.sort_order ?? 'descending';
    if (sortOrder !== 'ascending' && sortOrder !== 'descending') return error(400, 'sort_order must be ascending or descending');
    if (body.pagination_key !== undefined && body.skip !== undefined) return error(400, 'pagination_key and skip cannot be used together');
    const skip = body.skip ?? 0;
    if (typeof skip !== 'number' || !Number.isInteger(skip) || skip < 0) return error(400, 'skip must be a non-negative integer');
    let after: [number, string] | null = null;
    if (body.pagination_key !== undefined) {
      after = typeof body.pagination_key === 'string' ? decodeKey(body.pagination_key) : null;
      if (!after) return error(400, 'Invalid pagination_key');
    }
    const tests: Test[] = [];
    const criteria = body.filter_criteria ?? {};
    if (!isRecord(criteria)) return error(400, 'filter_criteria must be an object');
    for (const [name, condition] of Object.entries(criteria)) {
      const make = FILTERS[name];
      if (!make) return error(400, `${name}: filter not supported by this simulator`);
      if (!isRecord(condition)) return error(400, `${name}: expected a filter object {type, op, value}`);
      const test = make(name, condition);
      if (typeof test === 'string') return error(400, test);
      tests.push(test);
    }
    const ordered = sortOrder === 'descending' ? rows : [...rows].reverse();
    const matching = ordered.filter((row) => tests.every((test) => test(row)));
    let rest = matching;
    if (after) {
      const [t, id] = after;
      const key = { start_timestamp: Number.isFinite(t) ? t : undefined, call_id: id } as RetellRawCall;
      const sign = sortOrder === 'descending' ? 1 : -1;
      rest = matching.filter((row) => sign * descending(row, key) > 0);
    } else rest = matching.slice(skip);
    const items = rest.slice(0, limit);
    const last = items[items.length - 1];
    const hasMore = rest.length > limit;
    return {
      status: 200,
      body: {
        items: items.map((row) => unreadable.serve(row, listItem(row))),
        ...(hasMore && last ? { pagination_key: encodeKey(last) } : {}),
        has_more: hasMore,
        ...(body.include_total === true ? { total: matching.length } : {}),
      },
    };
  }

  function getCall(id: string): SimulatorReply {
    const row = rows.find((candidate) => candidate.call_id === id);
    return row ? { status: 200, body: unreadable.serve(row, { ...row }) } : error(422, 'Cannot find requested asset under given api key.');
  }

  const server = new SimulatorServer('retell', (request) => {
    if (!authorised(request)) return error(401, 'API key is missing or invalid.');
    if (request.method === 'POST' && request.path === '/v3/list-calls') return list(request);
    const match = /^\/v2\/get-call\/([^/]+)$/.exec(request.path);
    if (request.method === 'GET' && match) return getCall(decodeURIComponent(match[1] as string));
    return error(404, 'Not found');
  });

  function addCall(overrides: Partial<RetellRawCall> = {}): RetellRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, row.start_timestamp ?? 0), 0);
    const call: RetellRawCall = { ...makeCall(arrivalInstant(newest, random), 'ended'), ...overrides };
    rows.push(call);
    rows.sort(descending);
    return call;
  }

  function startCall(): RetellRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, row.start_timestamp ?? 0), 0);
    const call = makeCall(arrivalInstant(newest, random), 'ongoing');
    rows.push(call);
    rows.sort(descending);
    return call;
  }

  function endCall(row: RetellRawCall): void {
    // An ended call generated for the same start, under this call's id; what the call already had stays.
    const generated = makeCall(row.start_timestamp ?? Date.now(), 'ended', row.call_type === 'web_call');
    const ended = JSON.parse(JSON.stringify(generated).replaceAll(generated.call_id, row.call_id)) as RetellRawCall;
    const durationMs = ended.duration_ms ?? 0;
    Object.assign(row, {
      ...ended,
      ...row,
      call_status: 'ended',
      disconnection_reason: ended.disconnection_reason,
      end_timestamp: (row.start_timestamp ?? 0) + durationMs,
      duration_ms: durationMs,
    });
  }

  function push(url: string, row: RetellRawCall, event: 'call_started' | 'call_ended' | 'call_analyzed', signing: PushSigning = {}): Promise<PushAnswer> {
    // call_ended carries every field but call_analysis (docs/providers/retell.md, "Webhooks").
    const { call_analysis: _analysis, ...withoutAnalysis } = row as RetellRawCall & { call_analysis?: unknown };
    const body = pushBody(JSON.stringify({ event, call: event === 'call_analyzed' ? row : withoutAnalysis }), signing);
    const now = signing.now ?? Date.now();
    const digest = createHmac('sha256', signing.key ?? credentials.apiKey).update(body + String(now), 'utf8').digest('hex');
    return sendPush(url, { 'content-type': 'application/json', 'x-retell-signature': `v=${now},d=${digest}` }, body);
  }

  return { server, rows, credentials, addCall, startCall, endCall, listsOngoing: true, unreadable, push };
}
