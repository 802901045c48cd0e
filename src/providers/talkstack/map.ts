/**
 * TalkStack call data objects → CallRecord. Pure functions; field meanings from
 * shared/providers/talkstack.md and the contract's mapping table.
 */
import type { CallParty, CallRecord, CallStatus, MediaLink, Money } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus } from '../provider.js';
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

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** RFC 2822 §4.3 obsolete zones, in minutes east of UTC (military zones other than Z left out). */
const NAMED_ZONES: Readonly<Record<string, number>> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  z: 0,
  edt: -4 * 60,
  est: -5 * 60,
  cdt: -5 * 60,
  cst: -6 * 60,
  mdt: -6 * 60,
  mst: -7 * 60,
  pdt: -7 * 60,
  pst: -8 * 60,
};

const RFC_2822 =
  /^\s*(?:([a-z]{3})\s*,\s*)?(\d{1,2})\s+([a-z]{3})\s+(\d{4})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-]\d{4}|[a-z]{1,3})\s*$/i;

/**
 * TalkStack's `date` ("Tue, 30 Jan 2024 13:39:53 +0000"), strictly: the day must exist, the
 * weekday (when given) must match it, and the zone must be numeric or a named RFC 2822 zone.
 * Null for anything else, ISO 8601 included (Date.parse would accept far too much).
 */
export function parseRfc2822Date(text: string): Date | null {
  const match = RFC_2822.exec(text);
  if (!match) return null;
  const [, weekdayText, dayText, monthText, yearText, hourText, minuteText, secondText, zoneText] = match;
  const month = MONTHS.indexOf((monthText ?? '').toLowerCase());
  const day = Number(dayText);
  const year = Number(yearText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  // RFC 2822 §3.3: a year of 1900 or later.
  if (month < 0 || year < 1900 || hour > 23 || minute > 59 || second > 59) return null;
  const zone = zoneText ?? '';
  let offsetMinutes: number;
  if (/^[+-]\d{4}$/.test(zone)) {
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(3, 5));
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  } else {
    const named = NAMED_ZONES[zone.toLowerCase()];
    if (named === undefined) return null;
    offsetMinutes = named;
  }
  const wallClock = new Date(Date.UTC(year, month, day, hour, minute, second));
  if (wallClock.getUTCDate() !== day || wallClock.getUTCMonth() !== month) return null;
  if (weekdayText !== undefined && WEEKDAYS[wallClock.getUTCDay()] !== weekdayText.toLowerCase()) {
    return null;
  }
  return new Date(wallClock.getTime() - offsetMinutes * 60_000);
}

/** A number as a plain decimal string: 0.077 → "0.077", 1e-7 → "0.0000001", never exponent notation. */
export function decimalString(value: number): string {
  const text = String(value);
  const exponentAt = text.search(/e/i);
  if (exponentAt < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, exponentAt);
  const exponent = Number(text.slice(exponentAt + 1));
  const [integerPart = '', fractionPart = ''] = mantissa.split('.');
  const digits = integerPart + fractionPart;
  const point = integerPart.length + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}

/** `cost` is a bare number; its currency is the account's, which the connection is configured with. */
export function toMoney(cost: number | null | undefined, currency: string): Money | null {
  if (cost === null || cost === undefined || !Number.isFinite(cost)) return null;
  return { amount: decimalString(cost), currency };
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
