/**
 * A Vapi upstream for tests and the demo, following docs/providers/vapi.md (docs/providers/vapi.md):
 * Bearer auth with the private key (401 "Invalid Key…" otherwise, NestJS error bodies), GET /call
 * as a bare array of at most `limit` calls newest `createdAt` first (no cursor) with every filter the
 * spec lists (id, assistantId, phoneNumberId, createdAt/updatedAt Gt/Ge/Lt/Le), GET /call/{id}
 * (400 for an id that is not a UUID, 404 unknown), GET /phone-number/{id}, and the recording
 * download endpoints answering 302 to a signed link.
 *
 * Calls are created 1–4 s before they start (ties in `startedAt` share their `createdAt`);
 * scheduled and queued calls have not started (no `startedAt`). `startedAt` takes the shared
 * instants of src/simulation/data.ts, so Vapi ties with the other providers.
 */
import { SHARED_NUMBERS, arrivalInstant, callInstants, pick, seededRandom, usNumber } from '../../simulation/data.js';
import { createHmac } from 'node:crypto';
import { type PushAnswer, type PushSigning, SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply, pushBody, sendPush } from '../../simulation/harness.js';
import { parseIsoInstant } from '../../time.js';

/** A Call object as Vapi sends it (the fields the simulator fills; all but id/orgId/createdAt/updatedAt optional). */
export interface VapiRawCall {
  id: string;
  orgId: string;
  type?: string;
  status?: string;
  endedReason?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  endedAt?: string;
  assistantId?: string;
  squadId?: string;
  phoneNumberId?: string;
  phoneNumber?: { twilioPhoneNumber: string };
  customer?: { number?: string; name?: string };
  /** US dollars. */
  cost?: number;
  costBreakdown?: Record<string, number>;
  assistantOverrides?: { variableValues: Record<string, string> };
  artifact?: {
    transcript?: string;
    recordingUrl?: string;
    stereoRecordingUrl?: string;
    presignedMonoUrl?: string;
    presignedStereoUrl?: string;
    presignedUrlsExpiresAt?: string;
    messages: unknown[];
  };
  analysis?: { summary?: string; structuredData?: Record<string, unknown> };
}

export interface VapiPhoneNumberResource {
  id: string;
  orgId: string;
  number: string;
  name: string;
  provider: string;
}

export interface VapiSimulatorOptions {
  seed?: number;
  count?: number;
  /** The credentials it accepts (default VAPI_DEMO_CREDENTIALS). */
  credentials?: Partial<{ apiKey: string }>;
}

export interface VapiSimulator {
  server: SimulatorServer;
  /** Every call, newest `createdAt` first (ties by id): the order GET /call answers in. */
  rows: VapiRawCall[];
  phoneNumbers: VapiPhoneNumberResource[];
  credentials: { apiKey: string };
  /** Adds a call created after every existing one (1–60 s after the newest start). */
  addCall(overrides?: Partial<VapiRawCall>): VapiRawCall;
  /** Starts a call newer than every call held, `in-progress` (no end, cost or artifact yet); returns its row. */
  startCall(): VapiRawCall;
  /** Ends a call `startCall` returned: `ended` by a hang-up, with its end, cost and artifact. */
  endCall(row: VapiRawCall): void;
  /** Vapi lists calls in progress. */
  readonly listsOngoing: true;
  /** Rows sent unreadable, in GET /call and GET /call/{id}. */
  unreadable: UnreadableRows<VapiRawCall>;
  /**
   * Sends a server message about `row` to `url` as Vapi does (`{ message: { type, call, … } }`),
   * with the server URL's credential the operator set in Vapi: `bearer` (Authorization: Bearer
   * `secret`) or `hmac` (x-signature = hex HMAC-SHA256 of `{x-timestamp}.{body}`, x-timestamp in ms).
   */
  push(url: string, row: VapiRawCall, type: 'status-update' | 'end-of-call-report', credential: { secret: string; auth: 'bearer' | 'hmac' }, signing?: PushSigning): Promise<PushAnswer>;
}

export const VAPI_DEMO_CREDENTIALS = { apiKey: 'vapi-demo-private-key-0000' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IN_FLIGHT = ['scheduled', 'queued', 'ringing', 'in-progress', 'forwarding'] as const;
/** Ended reasons, weighted by repetition: hang-ups most, then no answer, busy, errors, cancellations. */
const ENDED_REASONS = [
  ...Array<string>(6).fill('customer-ended-call'),
  ...Array<string>(3).fill('assistant-ended-call'),
  'assistant-said-end-call-phrase',
  'assistant-forwarded-call',
  'silence-timed-out',
  'exceeded-max-duration',
  'voicemail',
  'call.forwarding.operator-busy',
  ...Array<string>(2).fill('customer-did-not-answer'),
  'customer-busy',
  'manually-canceled',
  'pipeline-error-openai-llm-failed',
  'call.start.error-get-assistant',
  'twilio-failed-to-connect-call',
  'call.in-progress.error-vapifault-transport-never-connected',
] as const;
const NOT_CONNECTED = new Set(['customer-did-not-answer', 'customer-busy', 'manually-canceled', 'call.start.error-get-assistant', 'twilio-failed-to-connect-call']);
const HOUR = 3600_000;

const iso = (ms: number): string => new Date(ms).toISOString();

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** NestJS error bodies, as Vapi sends them. */
const nestError = (status: number, error: string, message: string | string[]): SimulatorReply => ({
  status,
  body: { message, error, statusCode: status },
});

export function createVapiSimulator(options: VapiSimulatorOptions = {}): VapiSimulator {
  const seed = options.seed ?? 7707;
  const count = options.count ?? 300;
  const credentials = { ...VAPI_DEMO_CREDENTIALS, ...options.credentials };
  const random = seededRandom(seed);
  const hex = (length: number): string => Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
  const uuid = (): string => `${hex(8)}-${hex(4)}-4${hex(3)}-${pick(random, ['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const orgId = uuid();
  const assistants = [uuid(), uuid(), uuid()];
  const squadId = uuid();
  const phoneNumbers: VapiPhoneNumberResource[] = ['Support line', 'Sales line', 'Bookings'].map((name) => ({
    id: uuid(),
    orgId,
    number: usNumber(random),
    name,
    provider: 'twilio',
  }));
  const unreadable = new UnreadableRows<VapiRawCall>();
  /** createdAt in ms beside the JSON, so filtering never depends on a value a test made unreadable. */
  const created = new WeakMap<VapiRawCall, number>();
  const updated = new WeakMap<VapiRawCall, number>();
  const createdOf = (row: VapiRawCall): number => created.get(row) ?? parseIsoInstant(row.createdAt)?.getTime() ?? 0;
  const updatedOf = (row: VapiRawCall): number => updated.get(row) ?? parseIsoInstant(row.updatedAt)?.getTime() ?? 0;

  function makeCall(startedAt: number, createdAt: number, status: string): VapiRawCall {
    const typeRoll = random();
    const type = typeRoll < 0.3 ? 'inboundPhoneCall' : typeRoll < 0.85 ? 'outboundPhoneCall' : typeRoll < 0.95 ? 'webCall' : 'vapi.websocketCall';
    const phone = type === 'inboundPhoneCall' || type === 'outboundPhoneCall';
    const endedReason = status === 'ended' ? pick(random, ENDED_REASONS) : undefined;
    const started = status !== 'scheduled' && status !== 'queued';
    const connected = status === 'ended' && !NOT_CONNECTED.has(endedReason as string);
    const seconds = connected ? 15 + Math.floor(random() * 400) : status === 'ended' ? Math.floor(random() * 30) : 0;
    const endedAt = status === 'ended' ? startedAt + seconds * 1000 + Math.floor(random() * 1000) : undefined;
    const updatedAt = (endedAt ?? startedAt) + 1000 + Math.floor(random() * 10_000);
    const id = uuid();
    const call: VapiRawCall = {
      id,
      orgId,
      type,
      status,
      createdAt: iso(createdAt),
      updatedAt: iso(updatedAt),
    };
    if (endedReason) call.endedReason = endedReason;
    if (started) call.startedAt = iso(startedAt);
    if (endedAt !== undefined) call.endedAt = iso(endedAt);
    if (random() < 0.1) call.squadId = squadId;
    else call.assistantId = pick(random, assistants);
    if (phone) {
      if (random() < 0.06) call.phoneNumber = { twilioPhoneNumber: usNumber(random) };
      else call.phoneNumberId = pick(random, phoneNumbers).id;
      call.customer = { number: random() < 0.05 ? SHARED_NUMBERS.us : usNumber(random) };
      if (random() < 0.4) call.customer.name = pick(random, ['Jane Doe', 'Ravi Kumar', 'Ana Silva', 'Tom Lee']);
    } else if (random() < 0.3) {
      call.customer = { name: 'Web visitor' };
    }
    if (type === 'outboundPhoneCall') call.assistantOverrides = { variableValues: { firstName: pick(random, ['Jane', 'Ravi', 'Ana']) } };
    if (status === 'ended') {
      // Dollars with up to 4 decimals, the way Vapi bills (e.g. 0.1873).
      const tenThousandths = connected ? 50 + Math.floor(seconds * (8 + random() * 6)) : Math.floor(random() * 20);
      call.cost = tenThousandths / 10_000;
      call.costBreakdown = { total: call.cost, vapi: Math.floor(tenThousandths / 4) / 10_000 };
    }
    if (connected) {
      const recording = `https://storage.vapi.ai/${id}-${hex(6)}-mono.wav`;
      call.artifact = {
        transcript: `AI: Hello, this is the assistant. How can I help?\nUser: Hi, I am calling about my booking.\nAI: Sure, let me check.`,
        recordingUrl: recording,
        stereoRecordingUrl: recording.replace('-mono', '-stereo'),
        messages: [],
      };
      // Older calls' responses carry no signed links (the download endpoints give them).
      if (random() < 0.8) {
        const signature = hex(64);
        call.artifact.presignedMonoUrl = `https://vapi-recordings.s3.amazonaws.com/${id}/mono.wav?X-Amz-Expires=3600&X-Amz-Signature=${signature}`;
        call.artifact.presignedStereoUrl = `https://vapi-recordings.s3.amazonaws.com/${id}/stereo.wav?X-Amz-Expires=3600&X-Amz-Signature=${signature}`;
        call.artifact.presignedUrlsExpiresAt = iso(updatedAt + HOUR);
      }
      call.analysis = {
        summary: 'Caller asked about a booking.',
        structuredData: { booked: random() < 0.5, score: Math.floor(random() * 10) },
      };
    } else if (status === 'ended' && random() < 0.5) {
      call.artifact = { transcript: '', messages: [] };
    }
    created.set(call, createdAt);
    updated.set(call, updatedAt);
    return call;
  }

  const byCreated = (a: VapiRawCall, b: VapiRawCall): number =>
    createdOf(b) - createdOf(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  let previous: { startedAt: number; createdAt: number } | null = null;
  const rows: VapiRawCall[] = callInstants(seed, count).map((instant, i) => {
    let status: string;
    if (i < IN_FLIGHT.length) status = IN_FLIGHT[i] as string;
    else if (random() < 0.01) status = pick(random, ['not-found', 'deletion-failed']);
    else status = 'ended';
    // Not started: the call's time is its creation. Two calls that start in the same second
    // were created at the same instant too (a tie in createdAt the adapter must page through).
    const createdAt =
      status === 'scheduled' || status === 'queued'
        ? instant
        : previous?.startedAt === instant
          ? previous.createdAt
          : instant - (1000 + Math.floor(random() * 3000));
    previous = { startedAt: instant, createdAt };
    return makeCall(instant, createdAt, status);
  });
  rows.sort(byCreated);

  function authorised(request: RecordedRequest): boolean {
    return headerValue(request.headers.authorization) === `Bearer ${credentials.apiKey}`;
  }

  /** GET /call's query as a predicate and limit, or the 400 a bad value gets. */
  function listQuery(query: Record<string, string>): { test: (row: VapiRawCall) => boolean; limit: number } | SimulatorReply {
    const problems: string[] = [];
    const tests: ((row: VapiRawCall) => boolean)[] = [];
    let limit = 100;
    if (query.limit !== undefined) {
      limit = Number(query.limit);
      if (query.limit.trim() === '' || !Number.isFinite(limit) || limit < 0 || limit > 1000) {
        problems.push('limit must not be greater than 1000', 'limit must not be less than 0');
      }
      limit = Math.floor(limit);
    }
    if (query.id !== undefined) tests.push((row) => row.id === query.id);
    if (query.assistantId !== undefined) tests.push((row) => row.assistantId === query.assistantId);
    if (query.phoneNumberId !== undefined) tests.push((row) => row.phoneNumberId === query.phoneNumberId);
    for (const [field, timeOf] of [
      ['createdAt', createdOf],
      ['updatedAt', updatedOf],
    ] as const) {
      for (const [suffix, compare] of [
        ['Gt', (t: number, v: number) => t > v],
        ['Ge', (t: number, v: number) => t >= v],
        ['Lt', (t: number, v: number) => t < v],
        ['Le', (t: number, v: number) => t <= v],
      ] as const) {
        const name = `${field}${suffix}`;
        const value = query[name];
        if (value === undefined) continue;
        const bound = parseIsoInstant(value)?.getTime();
        if (bound === undefined) {
          problems.push(`${name} must be a valid ISO 8601 date string`);
          continue;
        }
        tests.push((row) => compare(timeOf(row), bound));
      }
    }
    if (problems.length > 0) return nestError(400, 'Bad Request', problems);
    return { test: (row) => tests.every((test) => test(row)), limit };
  }

  /**
   * A row as one response sends it: signed links are regenerated per response (Vapi's `GET /call/{id}`
   * reference: `artifact.presignedUrlsExpiresAt`), like Twenty2's media; here valid an hour from the
   * minute it was sent, so that answers a moment apart agree.
   */
  const asSent = (row: VapiRawCall): VapiRawCall =>
    row.artifact?.presignedUrlsExpiresAt === undefined
      ? row
      : { ...row, artifact: { ...row.artifact, presignedUrlsExpiresAt: new Date(Math.floor(Date.now() / 60_000) * 60_000 + HOUR).toISOString() } };

  function list(request: RecordedRequest): SimulatorReply {
    const parsed = listQuery(request.query);
    if (!('test' in parsed)) return parsed;
    // Newest createdAt first, at most `limit`: a bare array, no cursor.
    const page = rows.filter(parsed.test).slice(0, parsed.limit);
    return { status: 200, body: page.map((row) => unreadable.serve(row, asSent(row))) };
  }

  function oneCall(id: string): SimulatorReply {
    if (!UUID.test(id)) return nestError(400, 'Bad Request', ['id must be a UUID']);
    const call = rows.find((row) => row.id === id);
    return call ? { status: 200, body: unreadable.serve(call, asSent(call)) } : nestError(404, 'Not Found', 'Call not found');
  }

  /** GET /call/{id}/mono-recording and friends: 302 to a short-lived signed link, 404 without the artifact. */
  function download(id: string, kind: string): SimulatorReply {
    const call = rows.find((row) => row.id === id);
    const source = kind === 'stereo-recording' ? call?.artifact?.stereoRecordingUrl : kind === 'mono-recording' ? call?.artifact?.recordingUrl : undefined;
    if (!source) return nestError(404, 'Not Found', 'Artifact not found');
    return { status: 302, body: null, headers: { location: `${source}?X-Amz-Expires=300&X-Amz-Signature=${'0'.repeat(64)}` } };
  }

  function phoneNumber(id: string): SimulatorReply {
    const found = phoneNumbers.find((resource) => resource.id === id);
    return found ? { status: 200, body: found } : nestError(404, 'Not Found', 'Phone number not found');
  }

  const server = new SimulatorServer('vapi', (request) => {
    if (!authorised(request)) {
      return nestError(401, 'Unauthorized', 'Invalid Key. Hot tip, you may be using the private key instead of the public key, or vice versa.');
    }
    if (request.method !== 'GET') return nestError(404, 'Not Found', `Cannot ${request.method} ${request.path}`);
    if (request.path === '/call') return list(request);
    const segments = request.path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === 'call' && segments.length === 2) return oneCall(segments[1] as string);
    if (segments[0] === 'call' && segments.length === 3) return download(segments[1] as string, segments[2] as string);
    if (segments[0] === 'phone-number' && segments.length === 2) return phoneNumber(segments[1] as string);
    return nestError(404, 'Not Found', `Cannot GET ${request.path}`);
  }, { isAuxiliary: (request) => request.path.startsWith('/phone-number/') });

  function addCall(overrides: Partial<VapiRawCall> = {}): VapiRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, parseIsoInstant(row.startedAt ?? row.createdAt)?.getTime() ?? 0), 0);
    const startedAt = arrivalInstant(newest, random);
    const call: VapiRawCall = { ...makeCall(startedAt, startedAt - 1000, 'ended'), ...overrides };
    created.set(call, overrides.createdAt !== undefined ? (parseIsoInstant(overrides.createdAt)?.getTime() ?? 0) : startedAt - 1000);
    updated.set(call, overrides.updatedAt !== undefined ? (parseIsoInstant(overrides.updatedAt)?.getTime() ?? 0) : updatedOf(call));
    rows.push(call);
    rows.sort(byCreated);
    return call;
  }

  /** A call newer than every call held, in progress (Vapi lists calls in progress: `in-progress`). */
  function startCall(): VapiRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, parseIsoInstant(row.startedAt ?? row.createdAt)?.getTime() ?? 0), 0);
    const startedAt = arrivalInstant(newest, random);
    const call = makeCall(startedAt, startedAt - 1000, 'in-progress');
    rows.push(call);
    rows.sort(byCreated);
    return call;
  }

  /** Ends a call `startCall` returned: an ended call generated for the same start, under its id; its own fields stay. */
  function endCall(row: VapiRawCall): void {
    const start = parseIsoInstant(row.startedAt ?? row.createdAt)?.getTime() ?? 0;
    let ended = makeCall(start, createdOf(row), 'ended');
    while (ended.endedReason !== 'customer-ended-call' && ended.endedReason !== 'assistant-ended-call') ended = makeCall(start, createdOf(row), 'ended');
    const copy = JSON.parse(JSON.stringify(ended).replaceAll(ended.id, row.id)) as VapiRawCall;
    Object.assign(row, { ...copy, ...row, status: 'ended', endedReason: copy.endedReason, endedAt: copy.endedAt, updatedAt: copy.updatedAt, cost: copy.cost, costBreakdown: copy.costBreakdown, artifact: copy.artifact, analysis: copy.analysis });
    updated.set(row, updatedOf(ended));
  }

  function push(url: string, row: VapiRawCall, type: 'status-update' | 'end-of-call-report', credential: { secret: string; auth: 'bearer' | 'hmac' }, signing: PushSigning = {}): Promise<PushAnswer> {
    const now = signing.now ?? Date.now();
    const message =
      type === 'status-update'
        ? { type, status: row.status, endedReason: row.endedReason, call: row, timestamp: now }
        : { type, endedReason: row.endedReason, cost: row.cost, startedAt: row.startedAt, endedAt: row.endedAt, artifact: row.artifact, call: row, timestamp: now };
    const body = pushBody(JSON.stringify({ message }), signing);
    const key = signing.key ?? credential.secret;
    const headers: Record<string, string> =
      credential.auth === 'bearer'
        ? { authorization: `Bearer ${key}` }
        : { 'x-timestamp': String(now), 'x-signature': createHmac('sha256', key).update(`${now}.${body}`, 'utf8').digest('hex') };
    return sendPush(url, { 'content-type': 'application/json', ...headers }, body);
  }

  return { server, rows, phoneNumbers, credentials, addCall, startCall, endCall, listsOngoing: true, unreadable, push };
}
