/**
 * CINNOX call-log records → CallRecord. Pure: no I/O, never throws for a value the schema accepted.
 */
import type {
  CallDirection,
  CallParty,
  CallRecord,
  CallStatus,
  ConnectionRef,
} from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus } from '../provider.js';
import type { CinnoxCall, CinnoxCallee, CinnoxCaller } from './schema.js';

/** The contract's CINNOX row of the status table. */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  'Call Ended': 'COMPLETED',
  Declined: 'BUSY',
  Busy: 'BUSY',
  'Not Answered': 'NO_ANSWER',
  Cancelled: 'CANCELED',
  Abandoned: 'CANCELED',
  Unreachable: 'FAILED',
  'Call Failed': 'FAILED',
};

/** Empty or blank optional text is "not given". */
function text(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return value.trim() === '' ? null : value;
}

function date(value: string | null | undefined): Date | null {
  const given = text(value);
  if (given === null) return null;
  const ms = Date.parse(given);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** An ISO 3166-1 alpha-2 code, or null for empty or anything else. */
function country(value: string | null | undefined): string | null {
  const given = text(value)?.trim().toUpperCase() ?? null;
  return given !== null && /^[A-Z]{2}$/.test(given) ? given : null;
}

/**
 * The phone number as the provider sent it, as a string. CINNOX sends a JSON number; `String()`
 * of a safe integer is plain digits, and BigInt keeps larger integers out of exponent notation.
 */
export function rawPhoneText(value: number | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return text(value);
  if (!Number.isFinite(value)) return null;
  return Number.isInteger(value) ? BigInt(value).toString() : String(value);
}

function seconds(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value < 0) return null;
  return Math.round(value);
}

/** The caller: the only party with a phone number (country code first, no "+"). */
function callerParty(caller: CinnoxCaller | null | undefined): CallParty {
  const raw = rawPhoneText(caller?.phoneNumber);
  const phone = normalisePhone(raw, { assumeInternational: true });
  return {
    phoneNumber: phone.e164,
    rawPhoneNumber: raw,
    displayName: text(caller?.displayName),
    countryCode: country(caller?.countryCode) ?? phone.country,
    isStaff: caller?.isStaff ?? null,
  };
}

/** The callee: no phone number field on the page; its country is the IP location's region. */
function calleeParty(callee: CinnoxCallee | null | undefined): CallParty {
  return {
    phoneNumber: null,
    rawPhoneNumber: null,
    displayName: text(callee?.displayName),
    countryCode: country(callee?.ipLocDetail?.regionCode),
    isStaff: callee?.isStaff ?? null,
  };
}

/** No direction field: a staff caller makes the call outbound, a staff callee inbound (contract). */
export function directionOf(call: CinnoxCall): CallDirection | null {
  if (call.callerInfo?.isStaff === true) return 'OUTBOUND';
  if (call.calleeInfo?.isStaff === true) return 'INBOUND';
  return null;
}

/** The staff member who handled the call: the staff party's eid. */
function agentOf(call: CinnoxCall): string | null {
  if (call.callerInfo?.isStaff === true) return text(call.callerInfo.eid);
  if (call.calleeInfo?.isStaff === true) return text(call.calleeInfo.eid);
  return null;
}

export function toCallRecord(call: CinnoxCall, ref: ConnectionRef): CallRecord {
  return {
    provider: ref.provider,
    connection: ref.connection,
    key: call.callID,
    providerCallId: call.callID,
    direction: directionOf(call),
    status: mapStatus(STATUS_TABLE, call.status),
    providerStatus: call.status,
    from: callerParty(call.callerInfo),
    to: calleeParty(call.calleeInfo),
    startedAt: call.callDate,
    answeredAt: null,
    endedAt: date(call.callEndTime),
    durationSeconds: seconds(call.callDuration),
    cost: null,
    endReason: text(call.byeReason),
    agentId: agentOf(call),
    // The list rows are all CINNOX has: nothing to fetch later.
    details: {
      billedDurationSeconds: null,
      recordings: [],
      transcript: null,
      inputParameters: null,
      outputParameters: null,
    },
  };
}
