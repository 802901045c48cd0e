/**
 * TalkStack call data objects → CallRecord. Pure functions; field meanings from
 * docs/providers/talkstack.md and the contract's mapping table.
 */
import { decimalString } from '../json.js';
import type { CallParty, CallRecord, CallStatus, MediaLink, Money } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus } from '../../calls/adapter.js';
import type { TalkStackCall } from './schema.js';

/** The contract's TalkStack row, verbatim. `silence`: closed after > 6 s of silence, so it connected. */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  queued: 'QUEUED',
  initiated: 'INITIATED',
  ringing: 'RINGING',
  'in-progress': 'IN_PROGRESS',
  completed: 'COMPLETED',
  busy: 'BUSY',
  failed: 'FAILED',
  'no-answer': 'NO_ANSWER',
  voicemail: 'NO_ANSWER',
  silence: 'COMPLETED',
};

/** The words the history's `status` filter accepts (voicemail and silence are not among them). */
export const FILTERABLE_STATUS_WORDS: ReadonlySet<string> = new Set([
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'failed',
  'no-answer',
]);

/**
 * `cost` is a bare number, here its text as sent; its currency is the account's, which the
 * connection is configured with. A cost past a double's range or with an exponent of four or more
 * digits (whose plain form would be thousands of digits long) is not an amount: null.
 */
export function toMoney(cost: number | string | null | undefined, currency: string): Money | null {
  if (cost === null || cost === undefined) return null;
  const text = String(cost);
  if (!Number.isFinite(Number(text)) || /e[+-]?\d{4}/i.test(text)) return null;
  return { amount: decimalString(text), currency };
}

/** TalkStack numbers are E.164 (Twilio); the raw text is kept as sent. */
export function toParty(raw: string | null | undefined): CallParty {
  const { e164, country } = normalisePhone(raw);
  return {
    phoneNumber: e164,
    rawPhoneNumber: raw ?? null,
    displayName: null,
    countryCode: country,
    isStaff: null,
  };
}

/** Recording URLs carry no expiry. */
export const toRecordings = (urls: readonly string[] | null | undefined): MediaLink[] =>
  (urls ?? []).map((url) => ({ url, expiresAt: null }));

export interface TalkStackMapContext {
  connection: string;
  /** ISO 4217 code of the account's currency (settings.currency). */
  currency: string;
}

/**
 * One call data object. The object is complete (list rows and POST /call are the same shape),
 * so `details` is always filled in and no detail request is ever needed.
 */
export function toCallRecord(row: TalkStackCall, context: TalkStackMapContext): CallRecord {
  const recordings = toRecordings(row.recordingUrls);
  const outputParameters = row.data ?? null;
  return {
    provider: 'TALKSTACK',
    connection: context.connection,
    key: row.callSid,
    providerCallId: row.callSid,
    direction: null, // TalkStack has no direction field
    status: mapStatus(STATUS_TABLE, row.status),
    providerStatus: row.status,
    from: toParty(row.from),
    to: toParty(row.to),
    startedAt: row.date,
    answeredAt: null,
    endedAt: null,
    durationSeconds: row.seconds ?? null,
    cost: toMoney(row.cost, context.currency),
    endReason: null,
    agentId: null,
    details: {
      billedDurationSeconds: null,
      recordings,
      transcript: null,
      inputParameters: null,
      outputParameters,
    },
  };
}
