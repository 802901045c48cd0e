/**
 * Twenty2 rows → the internal call model. Pure functions; field meanings from
 * docs/providers/twenty2.md and the contract's status table.
 */
import type {
  CallDetails,
  CallDirection,
  CallParty,
  CallRecord,
  CallStatus,
  ConnectionRef,
  MediaLink,
  Money,
} from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus, directionFromWord } from '../../calls/adapter.js';
import { parseIsoInstant } from '../../time.js';
import { TWENTY2_ZONELESS, type Twenty2Call, type Twenty2Detail, type Twenty2Media } from './schema.js';

/** The contract's Twenty2 row; any other word (e.g. "voicemail_detected") is UNKNOWN. */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  initiated: 'INITIATED',
  connected: 'IN_PROGRESS',
  completed: 'COMPLETED',
  not_connected: 'NO_ANSWER',
  failed: 'FAILED',
};

export interface Twenty2MapContext {
  ref: ConnectionRef;
  /** ISO alpha-2 region the account's national numbers belong to ("IN"). */
  phoneRegion: string;
}

/** Twenty2 sends numbers without a country code: national numbers of the account's region. */
export function toParty(raw: string | null | undefined, phoneRegion: string): CallParty {
  const rawPhoneNumber = raw ?? null;
  const { e164, country } = normalisePhone(rawPhoneNumber, { defaultRegion: phoneRegion });
  return { phoneNumber: e164, rawPhoneNumber, countryCode: country, displayName: null, isStaff: null };
}

/** "15.67 INR" → { amount: "15.67", currency: "INR" }; null when it is not amount and ISO 4217 code. */
export function parseCost(text: string | null | undefined): Money | null {
  if (!text) return null;
  const match = /^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z]{3})\s*$/.exec(text);
  if (!match) return null;
  const [, amount, currency] = match;
  if (amount === undefined || currency === undefined) return null;
  return { amount, currency: currency.toUpperCase() };
}


/** Whole seconds; negative or non-finite values are not durations. */
export function toSeconds(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value < 0) return null;
  return Math.round(value);
}

/** An optional instant (ended_at, expires_at); one that cannot be read is null. */
const toInstant = (text: string | null | undefined): Date | null =>
  text ? parseIsoInstant(text, TWENTY2_ZONELESS) : null;

/** A list row. `details` stays null: they come only from /call/detail. */
export function toCallRecord(row: Twenty2Call, context: Twenty2MapContext): CallRecord {
  return {
    provider: context.ref.provider,
    connection: context.ref.connection,
    key: row.call_id,
    providerCallId: row.call_id,
    direction: directionFromWord(row.direction),
    status: mapStatus(STATUS_TABLE, row.status),
    providerStatus: row.status,
    from: toParty(row.caller_phone, context.phoneRegion),
    to: toParty(row.callee_phone, context.phoneRegion),
    startedAt: row.started_at,
    answeredAt: null,
    endedAt: toInstant(row.ended_at),
    durationSeconds: toSeconds(row.duration_seconds),
    cost: parseCost(row.cost),
    endReason: null,
    agentId: row.agent_id ?? null,
    details: null,
  };
}

export function toMediaLink(media: Twenty2Media | null | undefined): MediaLink | null {
  if (!media) return null;
  return { url: media.url, expiresAt: toInstant(media.expires_at) };
}

/** The fields only /call/detail has. Missing parameters are null, not undefined. */
export function toCallDetails(detail: Twenty2Detail): CallDetails {
  const recording = toMediaLink(detail.recording);
  return {
    billedDurationSeconds: toSeconds(detail.call.billed_duration_seconds),
    recordings: recording ? [recording] : [],
    transcript: toMediaLink(detail.transcript),
    inputParameters: detail.input_parameters ?? null,
    outputParameters: detail.output_parameters ?? null,
  };
}

/** A /call/detail body as a complete record, details included. */
export function toDetailedCallRecord(detail: Twenty2Detail, context: Twenty2MapContext): CallRecord {
  return { ...toCallRecord(detail.call, context), details: toCallDetails(detail) };
}
