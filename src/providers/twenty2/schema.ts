/**
 * Zod schemas for the Twenty2 bodies the adapter reads (shared/providers/twenty2.md). Objects strip
 * unknown keys, so fields Twenty2 adds later are tolerated; the fields we map are type-checked.
 */
import { z } from 'zod';

const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

/**
 * An ISO 8601 instant as Twenty2 writes it ("2024-12-25T10:00:00Z"). Returns null for anything
 * else. A timestamp without a zone is read as UTC rather than in the server's local time.
 */
export function parseInstant(text: string): Date | null {
  // The form Twenty2 sends, in UTC: Date.parse reads it as is (the general path below builds the
  // same string from its parts). Measured: parsing was 2% of a page's CPU before this shortcut.
  if (CANONICAL_UTC.test(text)) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : new Date(ms);
  }
  const match =
    /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i.exec(
      text.trim(),
    );
  if (!match) return null;
  const [, date, time, zone] = match;
  const offset = !zone || zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${date}T${time}${offset}`);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** The page says numbers are strings ("9999999999"); a JSON number is tolerated and kept as text. */
const phoneField = z.union([z.string(), z.number()]).nullish();

/** The fields a `/call/logs` row carries; `/call/detail` repeats them under `call`. */
export const twenty2CallSchema = z.object({
  call_id: z.string().min(1),
  agent_id: z.string().nullish(),
  status: z.string(),
  direction: z.string().nullish(),
  callee_phone: phoneField,
  caller_phone: phoneField,
  duration_seconds: z.number().nullish(),
  cost: z.string().nullish(),
  // The order key, read once here: a row without a readable start cannot be placed, so the body is refused.
  started_at: z.string().transform((text, ctx) => {
    const date = parseInstant(text);
    if (date === null) ctx.addIssue({ code: 'custom', message: 'not an ISO 8601 instant' });
    return date ?? z.NEVER;
  }),
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
  billed_duration_seconds: z.number().nullish(),
});

export const twenty2DetailResponseSchema = z.object({
  success: z.boolean().nullish(),
  call: twenty2DetailCallSchema.nullish(),
  // Free-form per agent: kept as JSON, whatever its shape.
  input_parameters: z.unknown().optional(),
  output_parameters: z.unknown().optional(),
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
