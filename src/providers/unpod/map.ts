/**
 * Unpod call-log rows → CallRecord. Pure: no I/O, no clock. Field meanings from
 * docs/providers/unpod.md and the contract's field mapping.
 */
import { createHash } from 'node:crypto';
import type { CallDetails, CallDirection, CallParty, CallRecord, CallStatus } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus, directionFromWord } from '../../calls/adapter.js';
import { parseIsoInstant } from '../../time.js';
import { UNPOD_ZONELESS, type UnpodRow } from './schema.js';

/** The contract's status table for Unpod. */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  completed: 'COMPLETED',
  missed: 'NO_ANSWER',
  'no-answer': 'NO_ANSWER',
  failed: 'FAILED',
};

export interface UnpodMapContext {
  connection: string;
  /** Part of derived keys: the same call in two organisations is two calls. */
  orgHandle: string;
}

const text = (value: string | null | undefined): string | null =>
  value === null || value === undefined || value.trim() === '' ? null : value;

/**
 * Quirk: rows may have no `id`. Such a row's key is derived from fields that do not change once the
 * call is logged (organisation, creation_time, source, destination): `d` + 20 hex digits of
 * SHA-256. creation_time enters as its normalised instant, so "…05:57:00Z" and "…05:57:00.000Z" agree.
 */
export function derivedKey(
  row: Pick<UnpodRow, 'creation_time' | 'source_number' | 'destination_number'>,
  orgHandle: string,
): string {
  const material = `${orgHandle}|${row.creation_time.toISOString()}|${text(row.source_number) ?? ''}|${text(row.destination_number) ?? ''}`;
  return `d${createHash('sha256').update(material).digest('hex').slice(0, 20)}`;
}

/** The row's key within its connection: its id when it has one, else the derived key. */
export const rowKey = (row: UnpodRow, orgHandle: string): string =>
  text(row.id) ?? derivedKey(row, orgHandle);

const HMS = /^(\d+):([0-5]?\d):([0-5]?\d)(?:\.\d+)?$/;
const MS = /^([0-5]?\d):([0-5]?\d)(?:\.\d+)?$/;

/**
 * Quirk: `call_duration` is an integer of seconds (207) or an "H:MM:SS" string ("0:05:25" → 325);
 * numeric strings ("207") are read too. Anything else is null.
 */
export function parseDuration(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed));
  const hms = HMS.exec(trimmed);
  if (hms) return Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]);
  const ms = MS.exec(trimmed);
  if (ms) return Number(ms[1]) * 60 + Number(ms[2]);
  return null;
}


/** Unpod sends E.164 ("+911234567890"); the country comes from the number. */
export function toParty(raw: string | null | undefined): CallParty {
  const rawPhoneNumber = text(raw);
  const { e164, country } = normalisePhone(rawPhoneNumber);
  return { phoneNumber: e164, rawPhoneNumber, displayName: null, countryCode: country, isStaff: null };
}

/** start_time / end_time: null for a missed call, and null when unreadable (not an order key). */
const optionalInstant = (value: string | null | undefined): Date | null =>
  value ? parseIsoInstant(value, UNPOD_ZONELESS) : null;

/** List rows carry everything Unpod has: no detail request is ever needed. */
const COMPLETE_DETAILS: CallDetails = {
  billedDurationSeconds: null,
  recordings: [],
  transcript: null,
  inputParameters: null,
  outputParameters: null,
};

export function toCallRecord(row: UnpodRow, context: UnpodMapContext): CallRecord {
  return {
    provider: 'UNPOD',
    connection: context.connection,
    key: rowKey(row, context.orgHandle),
    providerCallId: text(row.id),
    direction: directionFromWord(row.call_type),
    status: mapStatus(STATUS_TABLE, row.call_status),
    providerStatus: row.call_status,
    from: toParty(row.source_number),
    to: toParty(row.destination_number),
    startedAt: row.creation_time,
    answeredAt: optionalInstant(row.start_time),
    endedAt: optionalInstant(row.end_time),
    durationSeconds: parseDuration(row.call_duration),
    cost: null,
    endReason: text(row.end_reason),
    agentId: text(row.agent_id),
    details: { ...COMPLETE_DETAILS, recordings: [] },
  };
}
