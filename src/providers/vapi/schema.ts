/**
 * Vapi's response bodies (docs/providers/vapi.md, docs/providers/vapi.md): the `Call` object of
 * GET /call (a bare array of them) and GET /call/{id}, and the phone-number resource of
 * GET /phone-number/{id}. Only the fields Switchboard reads are declared; the rest (costs[],
 * costBreakdown, messages, monitor…) is stripped.
 */
import { z } from 'zod';
import { parseIsoInstant } from '../../time.js';
import { isPathSegment } from '../http.js';
import { freeJson, idText, isoInstant, numberText } from '../json.js';

/**
 * Vapi writes instants as ISO 8601 date-times with an offset ("2026-05-04T09:12:03.115Z"). One
 * without an offset is not read as any zone: it is a row we cannot read (src/time.ts, `refuse`).
 */
export const vapiInstant = isoInstant('refuse');

/**
 * An instant that is not the order key (an end, an update, a link's expiry): one that cannot be
 * read is null, as for every provider (docs/providers.md, "Dates"), never the whole row.
 */
const optionalInstant = z
  .string()
  .nullish()
  .transform((text) => (text ? parseIsoInstant(text, 'refuse') : null));

const optionalText = z.string().nullish();

/** `customer`: the other party. `number` is E.164 unless the account disabled the check. */
const customerSchema = z
  .object({
    number: idText.nullish(),
    sipUri: optionalText,
    name: optionalText,
  })
  .nullish();

/** `artifact`: what the call left behind. `*Url` are identifiers in a private bucket; `presigned*` are signed, expiring links. */
const artifactSchema = z
  .object({
    transcript: optionalText,
    recordingUrl: optionalText,
    stereoRecordingUrl: optionalText,
    presignedMonoUrl: optionalText,
    presignedStereoUrl: optionalText,
    presignedUrlsExpiresAt: optionalInstant,
    structuredOutputs: freeJson.optional(),
  })
  .nullish();

/** One `Call` object. Required by the spec: only id, orgId, createdAt, updatedAt. */
export const vapiCallSchema = z.object({
  // Looked up by it as a path segment (GET /call/{id}): `.`/`..` name no call (../http.ts).
  id: idText.pipe(z.string().min(1).refine(isPathSegment, 'expected a call id, not . or ..')),
  orgId: idText.nullish(),
  type: optionalText,
  status: optionalText,
  endedReason: optionalText,
  createdAt: vapiInstant,
  updatedAt: optionalInstant,
  startedAt: vapiInstant.nullish(),
  endedAt: optionalInstant,
  assistantId: optionalText,
  squadId: optionalText,
  workflowId: optionalText,
  phoneNumberId: optionalText,
  /** A transient phone number (not a saved resource); its digits in the deprecated `twilioPhoneNumber`. */
  phoneNumber: z.object({ twilioPhoneNumber: idText.nullish(), number: idText.nullish() }).nullish(),
  customer: customerSchema,
  /** US dollars as a JSON number, read as its exact decimal text ("0.1873"), never through a double. */
  cost: numberText.nullish(),
  assistantOverrides: z.object({ variableValues: freeJson.optional() }).nullish(),
  artifact: artifactSchema,
  analysis: z.object({ structuredData: freeJson.optional() }).nullish(),
});

export type VapiCall = z.infer<typeof vapiCallSchema>;

/** GET /call: a bare array of Call objects. Envelope only; rows are read one by one (src/providers/rows.ts). */
export const vapiListSchema = z.array(z.unknown());

/** GET /call/{id}: one Call object; the envelope is that it is an object. */
export const vapiCallBodySchema = z.record(z.string(), z.unknown());

/** GET /phone-number/{id}: the resource; `number` holds "the digits of the phone number". */
export const vapiPhoneNumberSchema = z.object({
  id: idText.nullish(),
  number: idText.nullish(),
  name: optionalText,
});

export type VapiPhoneNumber = z.infer<typeof vapiPhoneNumberSchema>;

/** Errors are NestJS-shaped: `{ message, error, statusCode }` (message may be a list of strings). */
export const vapiErrorSchema = z.object({
  message: z.union([z.string(), z.array(z.string())]),
  error: z.string().optional(),
  statusCode: z.number(),
});
