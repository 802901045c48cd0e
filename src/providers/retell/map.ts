/**
 * Retell AI call objects → CallRecord. Pure functions; field meanings from
 * docs/providers/retell.md (mirrored in docs/providers/retell.md) and the contract's Retell row.
 */
import type { CallDetails, CallParty, CallRecord, CallStatus, MediaLink, Money } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { directionFromWord, mapStatus } from '../../calls/adapter.js';
import { decimalString } from '../json.js';
import type { RetellCall } from './schema.js';

/** The contract's Retell row before its `disconnection_reason` refinements. */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  registered: 'INITIATED',
  ongoing: 'IN_PROGRESS',
  ended: 'COMPLETED',
  not_connected: 'FAILED',
  error: 'FAILED',
};

/** The refinements by `disconnection_reason`, for any `call_status` of the table (the contract's row). */
export const REASON_TABLE: Readonly<Record<string, CallStatus>> = {
  dial_busy: 'BUSY',
  user_declined: 'BUSY',
  dial_no_answer: 'NO_ANSWER',
  dial_failed: 'FAILED',
  invalid_destination: 'FAILED',
};

/** The words list-calls' `call_status` filter takes (`registered` cannot be filtered). */
export const FILTERABLE_STATUS_WORDS: readonly string[] = ['not_connected', 'ongoing', 'ended', 'error'];

/**
 * The contract's Retell row: the status word's status, refined by `disconnection_reason`
 * (`not_connected` + `manual_stopped` is CANCELED). A status word outside the row is UNKNOWN
 * whatever the reason: a future word's meaning is not known.
 */
export function toStatus(word: string, reason: string | null | undefined): CallStatus {
  const status = mapStatus(STATUS_TABLE, word);
  if (status === 'UNKNOWN' || !reason) return status;
  if (word === 'not_connected' && reason === 'manual_stopped') return 'CANCELED';
  return mapStatus(REASON_TABLE, reason) === 'UNKNOWN' ? status : (REASON_TABLE[reason] as CallStatus);
}

/** Every status a row with this `call_status` can map to, whatever its `disconnection_reason`. */
export function statusesOf(word: string): CallStatus[] {
  const base = mapStatus(STATUS_TABLE, word);
  if (base === 'UNKNOWN') return ['UNKNOWN'];
  const refined = new Set<CallStatus>([base, ...Object.values(REASON_TABLE)]);
  if (word === 'not_connected') refined.add('CANCELED');
  return [...refined];
}

/**
 * Cents (decimal text, as sent) → dollars, exactly: the point moves two places, no digit is
 * rounded ("70" → "0.70", "1234" → "12.34", "0.5" → "0.005"). Retell sends no currency; its prices
 * are in US dollars (assumption, docs/providers/retell.md). Null for text that is not a finite
 * plain decimal (an exponent such as "1e3" is expanded first; one of 4+ digits is not an amount).
 */
export function centsToMoney(cents: string | null | undefined): Money | null {
  if (cents === null || cents === undefined) return null;
  if (!Number.isFinite(Number(cents)) || /e[+-]?\d{4}/i.test(cents)) return null;
  const plain = decimalString(cents.trim());
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(plain);
  if (!match) return null;
  const [, sign = '', whole = '', fraction = ''] = match;
  // At least three integer digits, so a dollar digit stays before the point.
  const digits = whole.replace(/^0+/, '').padStart(3, '0') + fraction;
  const point = digits.length - fraction.length - 2;
  const amount = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return { amount: `${sign && /[1-9]/.test(amount) ? '-' : ''}${amount}`, currency: 'USD' };
}

/** Whole seconds from milliseconds, half up (the page: round(duration_ms / 1000)). */
export function msToSeconds(ms: number | null | undefined): number | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return null;
  return Math.round(ms / 1000);
}

/** Numbers are E.164 (Retell requires it unless custom telephony opts out); raw text kept as sent. */
export function toParty(raw: string | null | undefined): CallParty {
  const { e164, country } = normalisePhone(raw);
  return { phoneNumber: e164, rawPhoneNumber: raw ?? null, displayName: null, countryCode: country, isStaff: null };
}

/** `recording_url` then `recording_multi_channel_url`; no expiry is known (the 24 h has no documented start). */
export function toRecordings(row: RetellCall): MediaLink[] {
  return [row.recording_url, row.recording_multi_channel_url]
    .filter((url): url is string => typeof url === 'string' && url !== '')
    .map((url) => ({ url, expiresAt: null }));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `call_analysis.custom_analysis_data` merged over `collected_dynamic_variables` (analysis keys
 * win); null when neither is an object.
 */
export function toOutputParameters(row: RetellCall): unknown {
  const collected = row.collected_dynamic_variables;
  const analysis = row.call_analysis?.custom_analysis_data;
  if (!isObject(collected) && !isObject(analysis)) return null;
  return { ...(isObject(collected) ? collected : {}), ...(isObject(analysis) ? analysis : {}) };
}

/**
 * The detail fields. List items carry every one but the transcript: `transcriptText` is left
 * undefined there ("not in this row", fetched by get-call when selected) and is a string or null
 * from get-call (`withTranscript`).
 */
export function toCallDetails(row: RetellCall, withTranscript: boolean): CallDetails {
  return {
    billedDurationSeconds: row.call_cost?.total_duration_seconds ?? null,
    recordings: toRecordings(row),
    transcript: null, // Retell gives text, not a link
    inputParameters: row.retell_llm_dynamic_variables ?? null,
    outputParameters: toOutputParameters(row),
    ...(withTranscript ? { transcriptText: row.transcript ?? null } : {}),
  };
}

/** When the call is placed in the merged order: `start_timestamp`, else null (not placed yet). */
export const startOf = (row: RetellCall): Date | null => row.start_timestamp ?? null;

export interface RetellMapContext {
  connection: string;
}

/**
 * One call object. `startedAt` is `start_timestamp`, else `end_timestamp`, else `fallbackStart`
 * (a look-up by id: the instant its id carries); the caller leaves out rows with none of these.
 */
export function toCallRecord(
  row: RetellCall,
  context: RetellMapContext,
  options: { withTranscript: boolean; fallbackStart?: Date } = { withTranscript: false },
): CallRecord | null {
  const startedAt = row.start_timestamp ?? row.end_timestamp ?? options.fallbackStart ?? null;
  if (startedAt === null) return null;
  return {
    provider: 'RETELL',
    connection: context.connection,
    key: row.call_id,
    providerCallId: row.call_id,
    direction: directionFromWord(row.direction),
    status: toStatus(row.call_status, row.disconnection_reason),
    providerStatus: row.call_status,
    from: toParty(row.from_number),
    to: toParty(row.to_number),
    startedAt,
    answeredAt: null,
    endedAt: row.end_timestamp ?? null,
    durationSeconds: msToSeconds(row.duration_ms),
    cost: centsToMoney(row.call_cost?.combined_cost),
    endReason: row.disconnection_reason ?? null,
    agentId: row.agent_id ?? null,
    details: toCallDetails(row, options.withTranscript),
  };
}
