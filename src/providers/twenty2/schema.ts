/**
 * Zod schemas for the Twenty2 bodies the adapter reads (docs/providers/twenty2.md). Objects strip
 * unknown keys, so fields Twenty2 adds later are tolerated; the fields we map are type-checked.
 */
import { z } from 'zod';
import type { Zoneless } from '../../time.js';
import { freeJson, idText, isoInstant, quantity } from '../json.js';

/**
 * Twenty2 writes instants as ISO 8601 in UTC ("2024-12-25T10:00:00Z"); one without an offset is
 * read as UTC, never in the server's local zone. The forms accepted are src/time.ts's.
 */
export const TWENTY2_ZONELESS = 'utc' satisfies Zoneless;

/** The page's instants, read once here; a value that is not one is an issue naming why. */
const instant = isoInstant(TWENTY2_ZONELESS);

/** The page says numbers are strings ("9999999999"); a JSON number is tolerated and kept as its digits. */
const phoneField = idText.nullish();

/** The fields a `/call/logs` row carries; `/call/detail` repeats them under `call`. */
export const twenty2CallSchema = z.object({
  // Strings on the page; a JSON number is kept digit for digit (ids past 2^53 included).
  call_id: idText.pipe(z.string().min(1)),
  agent_id: idText.nullish(),
  status: z.string(),
  direction: z.string().nullish(),
  callee_phone: phoneField,
  caller_phone: phoneField,
  duration_seconds: quantity.nullish(),
  cost: z.string().nullish(),
  // The order key: a row without a readable start cannot be placed, so the body is refused.
  started_at: instant,
  // Not an order key: an unreadable end is null (map.ts), not a refused body.
  ended_at: z.string().nullish(),
});
/** A row as read: `started_at` is a Date. */
export type Twenty2Call = z.infer<typeof twenty2CallSchema>;

/** Error body: `{ success: false, error: { code, message, status } }`. */
export const twenty2ErrorSchema = z.object({
  code: z.string().nullish(),
  message: z.string().nullish(),
  status: z.number().nullish(),
});

/** Not in the public reference; the project's assumption (see the provider page). */
export const twenty2PaginationSchema = z.object({
  page: z.number().int().nullish(),
  limit: z.number().int().nullish(),
  total: z.number().int().nonnegative().nullish(),
  has_more: z.boolean().nullish(),
});

/**
 * `calls` is optional here only so a `success: false` body parses and can be reported by its
 * error code; the client refuses a successful body without `calls`. This is the envelope: its rows
 * are read one by one with `twenty2CallSchema` (src/providers/rows.ts), so one unreadable row never
 * fails the page.
 */
export const twenty2ListResponseSchema = z.object({
  success: z.boolean().nullish(),
  calls: z.array(z.unknown()).nullish(),
  pagination: twenty2PaginationSchema.nullish(),
  error: twenty2ErrorSchema.nullish(),
});
export type Twenty2ListResponse = z.infer<typeof twenty2ListResponseSchema>;

/** A signed link to the recording (.mp3) or transcript (.txt). */
export const twenty2MediaSchema = z.object({
  url: z.string().min(1),
  expires_at: z.string().nullish(),
});
export type Twenty2Media = z.infer<typeof twenty2MediaSchema>;

export const twenty2DetailCallSchema = twenty2CallSchema.extend({
  billed_duration_seconds: quantity.nullish(),
});

export const twenty2DetailResponseSchema = z.object({
  success: z.boolean().nullish(),
  call: twenty2DetailCallSchema.nullish(),
  // Free-form per agent: kept as JSON, whatever its shape.
  input_parameters: freeJson.optional(),
  output_parameters: freeJson.optional(),
  recording: twenty2MediaSchema.nullish(),
  transcript: twenty2MediaSchema.nullish(),
  error: twenty2ErrorSchema.nullish(),
});
export type Twenty2DetailResponse = z.infer<typeof twenty2DetailResponseSchema>;

/**
 * The envelope of a /call/detail body: its error block, and that a call is there. The call with its
 * media and parameters is the row, read with `twenty2DetailResponseSchema` on its own, so an
 * unreadable one fails that look-up alone. Loose: the rest of the body passes through to be read.
 */
export const twenty2DetailEnvelopeSchema = z.looseObject({
  success: z.boolean().nullish(),
  call: z.unknown().optional(),
  error: twenty2ErrorSchema.nullish(),
});
/** A detail body known to carry its call (the client checks before mapping). */
export type Twenty2Detail = Twenty2DetailResponse & {
  call: z.infer<typeof twenty2DetailCallSchema>;
};
