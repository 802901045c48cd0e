/**
 * A Twilio Programmable Voice upstream for tests and the demo, following docs/providers/twilio.md:
 * HTTP Basic auth (Account SID + Auth Token, or API Key SID + secret), Twilio's JSON error body,
 * GET …/Calls.json newest first with `PageSize` (1–1000), `next_page_uri` carrying the filters plus
 * `Page` and an opaque `PageToken`, the filters `To`, `From`, `ParentCallSid`, `Status`,
 * `StartTime`/`StartTime<`/`StartTime>` and `EndTime`/`EndTime<`/`EndTime>` on whole UTC days,
 * GET …/Calls/{Sid}.json and GET …/Calls/{Sid}/Recordings.json.
 * Page tokens hold the last row's position, so calls arriving mid-walk neither repeat nor shift rows.
 */
import { createHash, createHmac } from 'node:crypto';
import { type PushAnswer, type PushSigning, SimulatorServer, UnreadableRows, type RecordedRequest, type SimulatorReply, pushBody, sendPush } from '../../simulation/harness.js';
import { SHARED_NUMBERS, arrivalInstant, callInstants, pick, seededRandom, usNumber } from '../../simulation/data.js';
import { parseRfc5322Date } from '../../time.js';

/** A Call resource as Twilio sends it (the fields the page lists; `subresource_uris` trimmed to recordings). */
export interface TwilioRawCall {
  sid: string;
  account_sid: string;
  parent_call_sid: string | null;
  status: string;
  direction: string;
  from: string;
  from_formatted: string;
  to: string;
  to_formatted: string;
  caller_name: string | null;
  forwarded_from: string | null;
  /** RFC 2822 in UTC, e.g. "Fri, 18 Oct 2019 17:02:00 +0000"; "" when it has not happened. */
  date_created: string;
  date_updated: string;
  start_time: string;
  end_time: string;
  /** Seconds as a string; "" for busy, failed, unanswered or ongoing calls. */
  duration: string;
  /** Negative decimal text ("-0.01400"), null until billed. */
  price: string | null;
  price_unit: string;
  answered_by: string | null;
  queue_time: string;
  api_version: string;
  phone_number_sid: string | null;
  group_sid: null;
  trunk_sid: string | null;
  uri: string;
  subresource_uris: { recordings: string };
}

/** A call's recording (…/Calls/{Sid}/Recordings.json item). */
export interface TwilioRawRecording {
  sid: string;
  account_sid: string;
  call_sid: string;
  duration: string;
  status: string;
  channels: number;
  source: string;
  track: string;
  price: string | null;
  price_unit: string;
  date_created: string;
  start_time: string;
  encryption_details: { type: string; encryption_public_key_sid: string; encryption_cek: string; encryption_iv: string } | null;
  uri: string;
}

export interface TwilioCredentials {
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
}

export interface TwilioSimulatorOptions {
  seed?: number;
  count?: number;
  credentials?: Partial<TwilioCredentials>;
}

export interface TwilioSimulator {
  server: SimulatorServer;
  /** Every call, newest first (ties by sid), as the provider's JSON. */
  rows: TwilioRawCall[];
  /** Each call's recordings, by Call SID (absent: none). */
  recordings: Map<string, TwilioRawRecording[]>;
  credentials: TwilioCredentials;
  /** Adds a call newer than every existing one (1–60 s after the newest), finished unless `status` says otherwise. */
  addCall(overrides?: Partial<TwilioRawCall>, status?: string): TwilioRawCall;
  /** Starts a call newer than every existing one, `in-progress`; returns its row, for `endCall`. */
  startCall(): TwilioRawCall;
  /** Ends a call `startCall` returned: `completed`, with its end, duration and price. */
  endCall(row: TwilioRawCall): void;
  readonly listsOngoing: true;
  /** Rows sent unreadable, in the list and by FetchCall. */
  unreadable: UnreadableRows<TwilioRawCall>;
  /** The instant a row is listed and filtered by: start_time, else date_created (ms). */
  instantOf(row: TwilioRawCall): number;
  /**
   * Sends `row`'s status callback to `url` as Twilio does: a form POST of its parameters, signed in
   * X-Twilio-Signature with the Auth Token over the URL and the parameters sorted by name.
   */
  /** A status callback as a form POST, or with `json` as a JSON body whose SHA-256 the signed URL carries. */
  push(url: string, row: TwilioRawCall, signing?: PushSigning & { json?: boolean }): Promise<PushAnswer>;
}

export const TWILIO_DEMO_CREDENTIALS: TwilioCredentials = {
  accountSid: `AC${'d'.repeat(8)}${'0'.repeat(24)}`,
  authToken: 'twilio-demo-auth-token',
  apiKeySid: `SK${'d'.repeat(8)}${'1'.repeat(24)}`,
  apiKeySecret: 'twilio-demo-api-key-secret',
};

/** call_enum_status: what the `Status` filter accepts. `initiated` is not among them. */
const FILTER_STATUSES = new Set(['queued', 'ringing', 'in-progress', 'canceled', 'completed', 'failed', 'busy', 'no-answer']);
const IN_FLIGHT = ['queued', 'initiated', 'ringing', 'in-progress'] as const;
const FINISHED = [
  ...Array<string>(10).fill('completed'),
  ...Array<string>(3).fill('no-answer'),
  ...Array<string>(2).fill('busy'),
  ...Array<string>(2).fill('canceled'),
  'failed',
] as const;
/** 0.01400 USD per started minute, in units of 0.00001. */
const RATE_PER_MINUTE = 1400;
const DAY_MS = 86_400_000;
const MAX_PAGE_SIZE = 1000;
const API = '/2010-04-01';

/** RFC 2822 in UTC: toUTCString's layout with a numeric zone, as Twilio writes it. */
export const formatRfc2822 = (instant: number): string => new Date(instant).toUTCString().replace(/GMT$/, '+0000');

/** `units` of 0.00001 as Twilio's negative price text: 2800 → "-0.02800". */
const priceText = (units: number): string => `-${Math.floor(units / 100000)}.${String(units % 100000).padStart(5, '0')}`;

const hex = (random: () => number, length: number): string =>
  Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');

/** "+14155550123" → "(415) 555-0123" (North American display); others as they are. */
const formatted = (party: string): string => {
  const match = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(party);
  return match ? `(${match[1]}) ${match[2]}-${match[3]}` : party;
};

/** Midnight UTC of a filter value's date, or null when it is not one. The spec types it date-time and
 * twilio-python sends `YYYY-MM-DDTHH:MM:SSZ`: only the date counts (time of day is not honoured). */
function midnightOf(value: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z)?$/.exec(value);
  if (!match) return null;
  const day = `${match[1]}-${match[2]}-${match[3]}`;
  const t = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return new Date(t).toISOString().slice(0, 10) === day ? t : null;
}

/** Twilio's error body. */
const error = (status: number, code: number, message: string): SimulatorReply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

const notFound = (path: string): SimulatorReply => error(404, 20404, `The requested resource ${path} was not found`);

const headerValue = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The list filters the simulator applies (and repeats in `next_page_uri`), in Twilio's order. */
const FILTER_KEYS = ['To', 'From', 'ParentCallSid', 'Status', 'StartTime', 'StartTime<', 'StartTime>', 'EndTime', 'EndTime<', 'EndTime>'] as const;

export function createTwilioSimulator(options: TwilioSimulatorOptions = {}): TwilioSimulator {
  const seed = options.seed ?? 7701;
  const count = options.count ?? 300;
  const credentials: TwilioCredentials = { ...TWILIO_DEMO_CREDENTIALS, ...options.credentials };
  const random = seededRandom(seed);
  const accountPath = `${API}/Accounts/${credentials.accountSid}`;
  const ownNumbers = [usNumber(random), usNumber(random), usNumber(random)];
  const phoneNumberSids = ownNumbers.map(() => `PN${hex(random, 32)}`);
  const clients = ['client:alice', 'client:bob', 'client:support-desk'];
  const callerNames = ['JOHN SMITH', 'ACME CORP', 'WIRELESS CALLER'];
  const unreadable = new UnreadableRows<TwilioRawCall>();
  const recordings = new Map<string, TwilioRawRecording[]>();
  /** When each row is filed, kept beside the JSON so the simulator never depends on parsing it. */
  const instants = new WeakMap<TwilioRawCall, number>();
  const instantOf = (row: TwilioRawCall): number =>
    instants.get(row) ?? parseRfc5322Date(row.start_time)?.getTime() ?? parseRfc5322Date(row.date_created)?.getTime() ?? 0;
  const endOf = (row: TwilioRawCall): number | null => parseRfc5322Date(row.end_time)?.getTime() ?? null;

  function makeRecordings(call: TwilioRawCall, start: number, seconds: number): void {
    const list: TwilioRawRecording[] = Array.from({ length: random() < 0.15 ? 2 : 1 }, (_, i) => {
      const sid = `RE${hex(random, 32)}`;
      const encrypted = random() < 0.2;
      return {
        sid,
        account_sid: credentials.accountSid,
        call_sid: call.sid,
        duration: String(Math.max(1, seconds - i * 3)),
        status: i === 1 && random() < 0.3 ? 'absent' : 'completed',
        channels: 1,
        source: pick(random, ['DialVerb', 'RecordVerb', 'StartCallRecordingAPI']),
        track: 'both',
        price: null,
        price_unit: 'USD',
        date_created: formatRfc2822(start + (seconds + 1) * 1000),
        start_time: formatRfc2822(start),
        encryption_details: encrypted
          ? { type: 'rsa-aes', encryption_public_key_sid: `CR${hex(random, 32)}`, encryption_cek: hex(random, 32), encryption_iv: hex(random, 16) }
          : null,
        uri: `${accountPath}/Calls/${call.sid}/Recordings/${sid}.json`,
      };
    });
    recordings.set(call.sid, list);
  }

  /** A call placed (or queued) at `instant` with `status`; `parent` makes it that call's `<Dial>` leg. */
  function makeCall(instant: number, status: string, parent: TwilioRawCall | null = null): TwilioRawCall {
    const own = Math.floor(random() * ownNumbers.length);
    const r = random();
    const other = r < 0.05 ? SHARED_NUMBERS.us : r < 0.12 ? pick(random, clients) : r < 0.15 ? `sip:agent${Math.floor(random() * 9)}@pbx.example.com` : usNumber(random);
    const direction = parent ? 'outbound-dial' : pick(random, ['inbound', 'inbound', 'outbound-api', 'outbound-api', 'trunking-terminating', 'trunking-originating']);
    const inbound = direction === 'inbound' || direction === 'trunking-originating';
    const ours = ownNumbers[own] as string;
    const from = parent ? parent.to : inbound ? other : ours;
    const to = parent ? usNumber(random) : inbound ? ours : other;
    const dialled = status !== 'queued';
    const connected = status === 'completed' || status === 'in-progress';
    const seconds = status === 'completed' ? 5 + Math.floor(random() * 600) : status === 'in-progress' ? Math.floor(random() * 120) : 0;
    const created = instant - Math.floor(random() * 3) * 1000;
    const ended = status === 'completed' ? instant + seconds * 1000 : null;
    const sid = `CA${hex(random, 32)}`;
    const billed = status === 'completed' ? random() >= 0.05 : !IN_FLIGHT.includes(status as (typeof IN_FLIGHT)[number]);
    const call: TwilioRawCall = {
      sid,
      account_sid: credentials.accountSid,
      parent_call_sid: parent ? parent.sid : null,
      status,
      direction,
      from,
      from_formatted: formatted(from),
      to,
      to_formatted: formatted(to),
      caller_name: inbound && random() < 0.4 ? pick(random, callerNames) : null,
      forwarded_from: null,
      date_created: formatRfc2822(created),
      date_updated: formatRfc2822(ended ?? instant),
      // Empty until the call is dialled; end_time empty unless it completed (the reference's words).
      start_time: dialled ? formatRfc2822(instant) : '',
      end_time: ended !== null ? formatRfc2822(ended) : '',
      duration: status === 'completed' ? String(seconds) : '',
      // Connectivity charge once completed, "may not be immediately available" (some still null).
      price: billed ? priceText(Math.ceil(seconds / 60) * RATE_PER_MINUTE) : null,
      price_unit: 'USD',
      answered_by: connected && !inbound && random() < 0.3 ? pick(random, ['human', 'machine_start']) : null,
      queue_time: String(Math.floor(random() * 2000)),
      api_version: '2010-04-01',
      phone_number_sid: inbound ? (phoneNumberSids[own] as string) : null,
      group_sid: null,
      trunk_sid: direction.startsWith('trunking') ? `TK${hex(random, 32)}` : null,
      uri: `${accountPath}/Calls/${sid}.json`,
      subresource_uris: { recordings: `${accountPath}/Calls/${sid}/Recordings.json` },
    };
    instants.set(call, dialled ? instant : created);
    if (status === 'completed' && random() < 0.6) makeRecordings(call, instant, seconds);
    return call;
  }

  const byPosition = (a: TwilioRawCall, b: TwilioRawCall): number =>
    instantOf(b) - instantOf(a) || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0);

  const rows: TwilioRawCall[] = [];
  // `count` rows in all, child legs included.
  callInstants(seed, count).forEach((instant, i) => {
    if (rows.length >= count) return;
    // The newest calls are still in flight; the first four cover every in-flight word.
    let status: string;
    if (i < IN_FLIGHT.length) status = IN_FLIGHT[i] as string;
    else if (i < 10) status = pick(random, [...IN_FLIGHT, 'completed']);
    else status = pick(random, FINISHED);
    const call = makeCall(instant, status);
    rows.push(call);
    // Now and then an outbound `<Dial>` leg: its own SID, parent_call_sid, placed the same second or a little later.
    if (rows.length < count && call.direction === 'inbound' && status === 'completed' && random() < 0.25) {
      rows.push(makeCall(instant + Math.floor(random() * 3) * 1000, 'completed', call));
    }
  });
  rows.sort(byPosition);

  function authorised(request: RecordedRequest): boolean {
    const header = headerValue(request.headers.authorization) ?? '';
    if (!header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return (
      decoded === `${credentials.accountSid}:${credentials.authToken}` ||
      decoded === `${credentials.apiKeySid}:${credentials.apiKeySecret}`
    );
  }

  /** The list filters as a row predicate, or Twilio's 400 for a bad value. */
  function filterFrom(query: Record<string, string>): ((row: TwilioRawCall) => boolean) | SimulatorReply {
    const tests: ((row: TwilioRawCall) => boolean)[] = [];
    if (query.To !== undefined) tests.push((row) => row.to === query.To);
    if (query.From !== undefined) tests.push((row) => row.from === query.From);
    if (query.ParentCallSid !== undefined) tests.push((row) => row.parent_call_sid === query.ParentCallSid);
    if (query.Status !== undefined) {
      if (!FILTER_STATUSES.has(query.Status)) return error(400, 20001, 'Invalid Status');
      tests.push((row) => row.status === query.Status);
    }
    const bounds: [string, (row: TwilioRawCall) => number | null][] = [
      // ASSUMPTION (docs/providers/twilio.md): a call not yet dialled is filed by date_created.
      ['StartTime', instantOf],
      ['EndTime', endOf],
    ];
    for (const [name, timeOf] of bounds) {
      for (const [suffix, test] of [
        ['', (t: number, midnight: number) => t >= midnight && t < midnight + DAY_MS],
        ['<', (t: number, midnight: number) => t < midnight],
        ['>', (t: number, midnight: number) => t >= midnight],
      ] as const) {
        const value = query[`${name}${suffix}`];
        if (value === undefined) continue;
        const midnight = midnightOf(value);
        if (midnight === null) return error(400, 20001, `Invalid ${name}${suffix}`);
        tests.push((row) => {
          const t = timeOf(row);
          return t !== null && test(t, midnight);
        });
      }
    }
    return (row) => tests.every((test) => test(row));
  }

  function decodeToken(token: string): [number, string] | null {
    if (!token.startsWith('PA')) return null;
    try {
      const value: unknown = JSON.parse(Buffer.from(token.slice(2), 'base64url').toString('utf8'));
      if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') return [value[0], value[1]];
    } catch {
      // falls through: not a token this server issued
    }
    return null;
  }

  /** `PageSize` as Twilio reads it (default 50, 1–1000), or its 400. */
  function pageSizeOf(query: Record<string, string>): number | SimulatorReply {
    if (query.PageSize === undefined) return 50;
    const size = /^\d+$/.test(query.PageSize) ? Number(query.PageSize) : NaN;
    return Number.isInteger(size) && size >= 1 && size <= MAX_PAGE_SIZE ? size : error(400, 20001, 'PageSize must be between 1 and 1000');
  }

  /** A list page: `items` past the token, with Twilio's envelope under `key`. */
  function page<T>(
    path: string,
    query: Record<string, string>,
    key: string,
    items: readonly T[],
    positionOf: (item: T) => [number, string],
    serve: (items: T[]) => unknown[],
  ): SimulatorReply {
    const pageSize = pageSizeOf(query);
    if (typeof pageSize !== 'number') return pageSize;
    const index = query.Page === undefined ? 0 : Number(query.Page);
    if (!Number.isInteger(index) || index < 0) return error(400, 20001, 'Invalid Page');
    let after: [number, string] | null = null;
    if (query.PageToken !== undefined) {
      after = decodeToken(query.PageToken);
      if (!after) return error(400, 20001, 'Invalid PageToken');
    }
    const [afterInstant, afterSid] = after ?? [Infinity, ''];
    const rest = items.filter((item) => {
      const [t, sid] = positionOf(item);
      return t < afterInstant || (t === afterInstant && sid > afterSid);
    });
    const chosen = rest.slice(0, pageSize);
    const filters = new URLSearchParams();
    for (const name of FILTER_KEYS) if (query[name] !== undefined) filters.append(name, query[name] as string);
    const uriOf = (pageIndex: number, token?: string): string => {
      const params = new URLSearchParams(filters);
      params.append('PageSize', String(pageSize));
      params.append('Page', String(pageIndex));
      if (token) params.append('PageToken', token);
      return `${path}?${params.toString()}`;
    };
    const last = chosen[chosen.length - 1];
    const start = index * pageSize;
    return {
      status: 200,
      body: {
        [key]: serve(chosen),
        uri: uriOf(index, query.PageToken),
        first_page_uri: uriOf(0),
        next_page_uri:
          rest.length > pageSize && last !== undefined
            ? uriOf(index + 1, `PA${Buffer.from(JSON.stringify(positionOf(last))).toString('base64url')}`)
            : null,
        previous_page_uri: null,
        page: index,
        page_size: pageSize,
        start,
        end: start + Math.max(0, chosen.length - 1),
      },
    };
  }

  function listCalls(request: RecordedRequest): SimulatorReply {
    const filter = filterFrom(request.query);
    if (typeof filter !== 'function') return filter;
    return page(request.path, request.query, 'calls', rows.filter(filter), (row) => [instantOf(row), row.sid], (chosen) => unreadable.serveAll(chosen));
  }

  function listRecordings(request: RecordedRequest, sid: string): SimulatorReply {
    if (!rows.some((row) => row.sid === sid)) return notFound(request.path);
    const list = recordings.get(sid) ?? [];
    // Twilio lists recordings newest first; the position is date_created, then sid.
    const sorted = [...list].sort((a, b) => (parseRfc5322Date(b.date_created)?.getTime() ?? 0) - (parseRfc5322Date(a.date_created)?.getTime() ?? 0) || (a.sid < b.sid ? -1 : 1));
    return page(request.path, request.query, 'recordings', sorted, (r) => [parseRfc5322Date(r.date_created)?.getTime() ?? 0, r.sid], (chosen) => [...chosen]);
  }

  const server = new SimulatorServer('twilio', (request) => {
    if (!authorised(request)) {
      return error(401, 20003, 'Authenticate');
    }
    if (request.method !== 'GET') return error(405, 20004, 'Method not allowed');
    // Another account's path with these credentials: Twilio refuses to authenticate it (20003).
    if (!request.path.startsWith(`${accountPath}/`)) {
      return request.path.startsWith(`${API}/Accounts/`) ? error(401, 20003, 'Authenticate') : notFound(request.path);
    }
    const rest = request.path.slice(accountPath.length);
    if (rest === '/Calls.json') return listCalls(request);
    const one = /^\/Calls\/([^/]+)\.json$/.exec(rest);
    if (one) {
      const call = rows.find((row) => row.sid === one[1]);
      return call ? { status: 200, body: unreadable.serve(call) } : notFound(request.path);
    }
    const recs = /^\/Calls\/([^/]+)\/Recordings\.json$/.exec(rest);
    if (recs) return listRecordings(request, recs[1] as string);
    // Without `.json` the 2010 API answers XML, which Switchboard never asks for: not simulated.
    return notFound(request.path);
  });

  function addCall(overrides: Partial<TwilioRawCall> = {}, status: string = pick(random, FINISHED)): TwilioRawCall {
    const newest = rows.reduce((max, row) => Math.max(max, instantOf(row)), 0);
    const instant = arrivalInstant(newest, random);
    const made = makeCall(instant, status);
    const call: TwilioRawCall = { ...made, ...overrides };
    instants.set(
      call,
      overrides.start_time !== undefined || overrides.date_created !== undefined
        ? (parseRfc5322Date(call.start_time)?.getTime() ?? parseRfc5322Date(call.date_created)?.getTime() ?? 0)
        : instant,
    );
    if (overrides.sid !== undefined && recordings.has(made.sid)) {
      recordings.set(overrides.sid, recordings.get(made.sid)!);
      recordings.delete(made.sid);
    }
    rows.push(call);
    rows.sort(byPosition);
    return call;
  }

  /** An answered call still going on (Twilio lists calls in progress). */
  const startCall = (): TwilioRawCall => addCall({}, 'in-progress');

  /** Ends a call `startCall` returned: `completed`, with its end, duration and price, as Twilio fills them in. */
  function endCall(row: TwilioRawCall): void {
    const started = instantOf(row);
    const seconds = 5 + Math.floor(random() * 600);
    const ended = started + seconds * 1000;
    Object.assign(row, {
      status: 'completed',
      end_time: formatRfc2822(ended),
      date_updated: formatRfc2822(ended),
      duration: String(seconds),
      price: priceText(Math.ceil(seconds / 60) * RATE_PER_MINUTE),
    } satisfies Partial<TwilioRawCall>);
  }

  function push(url: string, row: TwilioRawCall, signing: PushSigning & { json?: boolean } = {}): Promise<PushAnswer> {
    // The parameters of a voice status callback (docs/providers/twilio.md, "Status callbacks").
    const params: [string, string][] = [
      ['AccountSid', row.account_sid],
      ['ApiVersion', '2010-04-01'],
      ['CallSid', row.sid],
      ['CallStatus', row.status],
      ['Direction', row.direction],
      ['From', row.from],
      ['To', row.to],
      ['Timestamp', formatRfc2822(signing.now ?? Date.now())],
      ['CallbackSource', 'call-progress-events'],
      ['SequenceNumber', String(sequence++)],
      ...(row.status === 'completed' ? ([['CallDuration', row.duration]] as [string, string][]) : []),
    ];
    const key = signing.key ?? credentials.authToken;
    if (signing.json) {
      // A JSON body: its SHA-256 goes into the URL, which alone is signed (twilio.com/docs/usage/webhooks/webhooks-security).
      const body = pushBody(JSON.stringify(Object.fromEntries(params)), signing);
      const signedUrl = `${url}${url.includes('?') ? '&' : '?'}bodySHA256=${createHash('sha256').update(body, 'utf8').digest('hex')}`;
      const signature = createHmac('sha1', key).update(signedUrl, 'utf8').digest('base64');
      return sendPush(signedUrl, { 'content-type': 'application/json', 'x-twilio-signature': signature }, body);
    }
    const signed = url + [...params].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => name + value).join('');
    const signature = createHmac('sha1', key).update(signed, 'utf8').digest('base64');
    return sendPush(url, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, pushBody(new URLSearchParams(params).toString(), signing));
  }
  let sequence = 0;

  return { server, rows, recordings, credentials, addCall, startCall, endCall, listsOngoing: true, unreadable, instantOf, push };
}
