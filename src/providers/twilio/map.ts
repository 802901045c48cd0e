/**
 * Twilio Call resources → CallRecord. Pure functions; field meanings from docs/providers/twilio.md
 * and the contract's status row.
 */
import type { CallDetails, CallDirection, CallParty, CallRecord, CallStatus, MediaLink, Money } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus } from '../../calls/adapter.js';
import type { TwilioRecording, TwilioRow } from './schema.js';

/**
 * The contract's Twilio row, verbatim. `initiated` is not in the resource's enum (call_enum_status)
 * but Twilio's support pages and status callbacks use it, so it maps too; any other word is UNKNOWN.
 */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  queued: 'QUEUED',
  initiated: 'INITIATED',
  ringing: 'RINGING',
  'in-progress': 'IN_PROGRESS',
  completed: 'COMPLETED',
  busy: 'BUSY',
  'no-answer': 'NO_ANSWER',
  canceled: 'CANCELED',
  failed: 'FAILED',
};

/** The words the list's `Status` filter accepts (call_enum_status): `initiated` is not one. */
export const FILTERABLE_STATUS_WORDS: ReadonlySet<string> = new Set([
  'queued',
  'ringing',
  'in-progress',
  'canceled',
  'completed',
  'failed',
  'busy',
  'no-answer',
]);

/**
 * `direction` is a free string: `inbound` and `trunking-originating` (PSTN → your infrastructure)
 * come in; `outbound-api`, `outbound-dial` (a `<Dial>` child leg) and `trunking-terminating` go out.
 */
const DIRECTIONS: Readonly<Record<string, CallDirection>> = {
  inbound: 'INBOUND',
  'trunking-originating': 'INBOUND',
  'outbound-api': 'OUTBOUND',
  'outbound-dial': 'OUTBOUND',
  'trunking-terminating': 'OUTBOUND',
};

/** CallDirection of a Twilio `direction`; empty or any other word: null (not told). */
export const toDirection = (word: string | null | undefined): CallDirection | null =>
  word && Object.hasOwn(DIRECTIONS, word) ? (DIRECTIONS[word] as CallDirection) : null;

/**
 * A party. `from`/`to` are E.164 for phone numbers, else a SIP address, `client:name` or
 * `sim:<sid>`: only `+` and digits can be a phone number (a SIP user part of digits is not one).
 */
export function toParty(raw: string | null | undefined, displayName: string | null | undefined): CallParty {
  const rawPhoneNumber = raw === null || raw === undefined || raw === '' ? null : raw;
  const { e164, country } = rawPhoneNumber && /^\+\d+$/.test(rawPhoneNumber) ? normalisePhone(rawPhoneNumber) : { e164: null, country: null };
  return {
    phoneNumber: e164,
    rawPhoneNumber,
    displayName: displayName ? displayName : null,
    countryCode: country,
    isStaff: null,
  };
}

/**
 * Twilio's `price` is a charge written as a negative amount ("-0.200"); Money is what the call
 * cost, so the sign is flipped on the text, digits kept as sent ("-0.200" → "0.200", "0.00" stays).
 * No price (not billed yet) or no ISO 4217 `price_unit` (the currency is never assumed): null.
 */
export function toMoney(price: string | null | undefined, unit: string | null | undefined): Money | null {
  if (!price || !unit || !/^[A-Za-z]{3}$/.test(unit)) return null;
  const unsigned = price.replace(/^[+-]/, '');
  const negative = price.startsWith('-');
  const zero = /^[0.]+$/.test(unsigned);
  return { amount: negative || zero ? unsigned : `-${unsigned}`, currency: unit.toUpperCase() };
}

/** The recording's media: the resource path with `.mp3` (`.wav` when encrypted, error 16109) under the base URL. */
export function toRecordingLink(recording: TwilioRecording, baseUrl: string): MediaLink {
  const extension = recording.encryption_details ? '.wav' : '.mp3';
  return { url: `${baseUrl}${recording.uri.replace(/\.json$/, extension)}`, expiresAt: null };
}

/**
 * What a Call row tells of its details without a request: Twilio has no billed duration,
 * transcript or parameters, so those are null; `recordings` is left undefined (src/calls/model.ts):
 * only the Recordings request gives them, asked when a client selects `recordings`.
 */
const ROW_DETAILS: CallDetails = Object.freeze({
  billedDurationSeconds: null,
  transcript: null,
  transcriptText: null,
  inputParameters: null,
  outputParameters: null,
});

/**
 * The details a Call's Recordings sub-resource gives: only recordings whose media exist
 * (`completed`); Twilio has no billed duration, transcript text link or parameters.
 */
export function toCallDetails(recordings: readonly TwilioRecording[], baseUrl: string): CallDetails {
  return { ...ROW_DETAILS, recordings: recordings.filter((r) => r.status === 'completed').map((r) => toRecordingLink(r, baseUrl)) };
}

/**
 * Final statuses of a call that never connected: nothing was recorded, so its details are known
 * without a Recordings request (an assumption: a recording needs a connected call).
 */
const NEVER_CONNECTED: ReadonlySet<string> = new Set(['busy', 'no-answer', 'canceled', 'failed']);


/**
 * One Call. Its details are known but for the recordings, which cost a request per call
 * (…/Recordings.json) made only when a client selects `recordings` — except for a call that never
 * connected: none. No answered-at, end reason or agent exists on a Call; `answered_by` (AMD) is not
 * an end reason.
 */
export function toCallRecord(row: TwilioRow, connection: string): CallRecord {
  return {
    provider: 'TWILIO',
    connection,
    key: row.sid,
    providerCallId: row.sid,
    direction: toDirection(row.direction),
    status: mapStatus(STATUS_TABLE, row.status),
    providerStatus: row.status,
    from: toParty(row.from, row.caller_name),
    to: toParty(row.to, null),
    startedAt: row.startedAt,
    answeredAt: null,
    endedAt: row.end_time,
    durationSeconds: row.duration,
    cost: toMoney(row.price, row.price_unit),
    endReason: null,
    agentId: null,
    details: NEVER_CONNECTED.has(row.status) ? { ...ROW_DETAILS, recordings: [] } : { ...ROW_DETAILS },
  };
}
