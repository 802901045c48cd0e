/**
 * Vapi `Call` objects → CallRecord. Pure functions; field meanings from docs/providers/vapi.md
 * (docs/providers/vapi.md) and the contract's Vapi status row.
 */
import type { CallDetails, CallDirection, CallParty, CallRecord, CallStatus, MediaLink, Money } from '../../calls/model.js';
import { normalisePhone } from '../../calls/phone.js';
import { mapStatus } from '../../calls/adapter.js';
import { upstreamUrl } from '../http.js';
import { decimalString } from '../json.js';
import type { VapiCall } from './schema.js';

/** The contract's Vapi row for every status word but `ended`, which `endedReason` refines (statusOf). */
export const STATUS_TABLE: Readonly<Record<string, CallStatus>> = {
  scheduled: 'QUEUED',
  queued: 'QUEUED',
  ringing: 'RINGING',
  'in-progress': 'IN_PROGRESS',
  forwarding: 'IN_PROGRESS',
  ended: 'COMPLETED',
};

/** `ended` + these exact reasons (Vapi call-ended-reason page). */
const ENDED_EXACT: Readonly<Record<string, CallStatus>> = {
  'customer-busy': 'BUSY',
  'customer-did-not-answer': 'NO_ANSWER',
  'manually-canceled': 'CANCELED',
  'scheduled-call-deleted': 'CANCELED',
  'twilio-reported-customer-misdialed': 'FAILED',
  'vonage-rejected': 'FAILED',
  'worker-shutdown': 'FAILED',
  'phone-call-provider-closed-websocket': 'FAILED',
};

/**
 * `ended` + a start, pipeline or provider error: FAILED. The families of docs/providers/vapi.md:
 * `call.start.error-*`, anything with `error` (`pipeline-error-*`, `call.in-progress.error-*`,
 * `call.ringing.error-*`…), `pipeline-*`, `assistant-not-*`, `assistant-request-*`,
 * `*-failed-to-connect-call`.
 */
const ENDED_FAILED = /^call\.start\.error-|error|^pipeline-|^assistant-not-|^assistant-request-|-failed-to-connect-call$/;

/**
 * The contract's Vapi row with its `endedReason` refinements. `ended` with any other reason (or
 * none) is COMPLETED: hang-ups, time-outs, `voicemail`, `assistant-forwarded-call`,
 * `call.forwarding.operator-busy` (the forwarding target was busy, not the customer). Words outside
 * the row (`not-found`, `deletion-failed`, new ones) are UNKNOWN.
 */
export function statusOf(status: string | null | undefined, endedReason: string | null | undefined): CallStatus {
  if (status === null || status === undefined) return 'UNKNOWN';
  if (status !== 'ended' || !endedReason) return mapStatus(STATUS_TABLE, status);
  if (Object.hasOwn(ENDED_EXACT, endedReason)) return ENDED_EXACT[endedReason] as CallStatus;
  return ENDED_FAILED.test(endedReason) ? 'FAILED' : 'COMPLETED';
}

/** Direction is only implied by `type`; web and websocket calls (and an absent type) do not tell. */
export function directionOf(type: string | null | undefined): CallDirection | null {
  if (type === 'inboundPhoneCall') return 'INBOUND';
  if (type === 'outboundPhoneCall') return 'OUTBOUND';
  return null;
}

/**
 * `cost` is US dollars as a JSON number, here its exact text ("0.1873" stays "0.1873"; "1e-7" →
 * "0.0000001"). Absent, not finite, or with a 4-digit exponent (not an amount) → null.
 */
export function toMoney(cost: string | null | undefined): Money | null {
  if (cost === null || cost === undefined) return null;
  if (!Number.isFinite(Number(cost)) || /e[+-]?\d{4}/i.test(cost)) return null;
  return { amount: decimalString(cost), currency: 'USD' };
}

/** Whole seconds between two instants, rounded half up; null when either is missing or it is negative. */
export function durationOf(startedAt: Date | null | undefined, endedAt: Date | null | undefined): number | null {
  if (!startedAt || !endedAt) return null;
  const ms = endedAt.getTime() - startedAt.getTime();
  return ms < 0 ? null : Math.round(ms / 1000);
}

/** The customer: number as sent (E.164 unless the account turned the check off), name as display name. */
export function customerParty(customer: VapiCall['customer']): CallParty {
  const raw = customer?.number ?? null;
  const { e164, country } = normalisePhone(raw);
  return { phoneNumber: e164, rawPhoneNumber: raw, displayName: customer?.name ?? null, countryCode: country, isStaff: false };
}

/** The account's (Vapi) side: its number when known (phone-number resource or transient number), staff. */
export function agentParty(raw: string | null): CallParty {
  const { e164, country } = normalisePhone(raw);
  return { phoneNumber: e164, rawPhoneNumber: raw, displayName: null, countryCode: country, isStaff: true };
}

/** The Vapi number a call carries itself (a transient `phoneNumber`); a saved one needs GET /phone-number/{id}. */
export const inlineAgentNumber = (row: VapiCall): string | null =>
  row.phoneNumber?.number ?? row.phoneNumber?.twilioPhoneNumber ?? null;

/**
 * Recordings: the signed links of this response (valid until `presignedUrlsExpiresAt`), else — when
 * the call has a recording — the download endpoint, which answers 302 to a fresh signed link for a
 * holder of the private key (`expiresAt` null). `artifact.recordingUrl` itself is not downloadable.
 */
export function toRecordings(row: VapiCall, baseUrl: string): MediaLink[] {
  const artifact = row.artifact;
  if (!artifact) return [];
  const expiresAt = artifact.presignedUrlsExpiresAt ?? null;
  const signed = [artifact.presignedMonoUrl, artifact.presignedStereoUrl]
    .filter((url): url is string => typeof url === 'string' && url !== '')
    .map((url) => ({ url, expiresAt }));
  if (signed.length > 0) return signed;
  // Paths like any request's: the id one segment (../http.ts; the row schema already refuses `..`).
  const mono = artifact.recordingUrl ? upstreamUrl(baseUrl, 'call', row.id, 'mono-recording') : null;
  const stereo = artifact.stereoRecordingUrl ? upstreamUrl(baseUrl, 'call', row.id, 'stereo-recording') : null;
  return [mono, stereo].filter((url): url is string => url !== null).map((url) => ({ url, expiresAt: null }));
}

/** The detail fields: all on the row (list and by-id answers carry the same Call object). */
export function toDetails(row: VapiCall, baseUrl: string): CallDetails {
  return {
    billedDurationSeconds: null,
    recordings: toRecordings(row, baseUrl),
    transcript: null, // Vapi gives text, not a link: transcriptText
    transcriptText: row.artifact?.transcript ?? null,
    inputParameters: row.assistantOverrides?.variableValues ?? null,
    outputParameters: row.analysis?.structuredData ?? row.artifact?.structuredOutputs ?? null,
  };
}

export interface VapiMapContext {
  connection: string;
  /** The connection's base URL, without a trailing slash: recording download links are under it. */
  baseUrl: string;
}

/**
 * One Call object. `agentNumber` is the Vapi side's number (from `phoneNumberId`'s resource or the
 * transient number), null when unknown. Inbound and web/websocket calls: customer → Vapi; outbound:
 * Vapi → customer.
 */
export function toCallRecord(row: VapiCall, agentNumber: string | null, context: VapiMapContext): CallRecord {
  const direction = directionOf(row.type);
  const customer = customerParty(row.customer);
  const agent = agentParty(agentNumber);
  const outbound = direction === 'OUTBOUND';
  const providerStatus = row.status ?? '';
  return {
    provider: 'VAPI',
    connection: context.connection,
    key: row.id,
    providerCallId: row.id,
    direction,
    status: statusOf(row.status, row.endedReason),
    providerStatus,
    from: outbound ? agent : customer,
    to: outbound ? customer : agent,
    // A call that never started keeps its creation time: it was placed then (provider page, assumptions).
    startedAt: row.startedAt ?? row.createdAt,
    answeredAt: null,
    endedAt: row.endedAt ?? null,
    durationSeconds: durationOf(row.startedAt, row.endedAt),
    cost: toMoney(row.cost),
    endReason: row.endedReason ?? null,
    agentId: row.assistantId ?? row.squadId ?? row.workflowId ?? null,
    details: toDetails(row, context.baseUrl),
  };
}
