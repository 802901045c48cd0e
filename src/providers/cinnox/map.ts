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
import { parseIsoInstant } from '../../time.js';
import { mapStatus } from '../../calls/adapter.js';
import { CINNOX_ZONELESS, type CinnoxCall, type CinnoxCallee, type CinnoxCaller } from './schema.js';

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

/** callEndTime: empty is "not given", and a value that is not an instant is null too. */
function date(value: string | null | undefined): Date | null {
  const given = text(value);
  return given === null ? null : parseIsoInstant(given, CINNOX_ZONELESS);
}

/** An ISO 3166-1 alpha-2 code, or null for empty or anything else. */
function country(value: string | null | undefined): string | null {
  const given = text(value)?.trim().toUpperCase() ?? null;
  return given !== null && /^[A-Z]{2}$/.test(given) ? given : null;
}


function seconds(value: number | null | undefined): number | null {
  if (value === null || value === undefined || !Number.isFinite(value) || value < 0) return null;
  return Math.round(value);
}

/** The caller: the only party with a phone number (country code first, no "+"). */
function callerParty(caller: CinnoxCaller | null | undefined): CallParty {
  // A JSON number arrives as its digits (schema.ts), so the raw number is exactly what was sent.
  const raw = text(caller?.phoneNumber);
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
