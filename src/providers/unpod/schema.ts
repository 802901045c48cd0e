/**
 * Zod schemas for the Unpod bodies the adapter reads (docs/providers/unpod.md, GET /call-logs/).
 * Objects strip unknown keys, so extra fields such as `"bridge": 1` are tolerated.
 */
import { z } from 'zod';
import type { Zoneless } from '../../time.js';
import { idText, isoInstant, quantity } from '../json.js';

/**
 * Unpod writes ISO 8601 in UTC ("2026-02-07T05:57:00Z"); one without an offset is read as UTC
 * (every published example is UTC), never in the server's local zone. Forms: src/time.ts.
 */
export const UNPOD_ZONELESS = 'utc' satisfies Zoneless;

/** An instant, read once here into a Date; anything else fails the body rather than the mapping. */
const instant = isoInstant(UNPOD_ZONELESS);

/** Numbers are E.164 strings on the page; a JSON number is accepted and kept as its digits. */
const phoneText = idText.nullish();

export const unpodRowSchema = z.object({
  // Quirk: one published example has `"id": "call_abc123def456"`, the main reference has no id at all.
  // A JSON number is kept digit for digit: 9007199254740993 and …992 are two calls.
  id: idText.nullish(),
  source_number: phoneText,
  destination_number: phoneText,
  call_type: z.string().nullish(),
  call_status: z.string(),
  creation_time: instant,
  // Null for a missed call; an unreadable value maps to null rather than failing the page.
  start_time: z.string().nullish(),
  end_time: z.string().nullish(),
  // Quirk: an integer of seconds in one example, an "H:MM:SS" string ("0:05:25") in another.
  call_duration: z.union([quantity, z.string()]).nullish(),
  end_reason: z.string().nullish(),
  agent_id: idText.nullish(),
});

/** A row as read: `creation_time` is a Date. */
export type UnpodRow = z.infer<typeof unpodRowSchema>;

/**
 * The envelope of a list body: its rows are read one by one with `unpodRowSchema`
 * (src/providers/rows.ts), so one unreadable row never fails the page.
 */
export const unpodListSchema = z.object({
  count: z.number().int().nonnegative(),
  status_code: z.number().nullish(),
  message: z.string().nullish(),
  data: z.array(z.unknown()),
});

/** `{ "status_code": 401, "message": "Authentication credentials were not provided." }` */
export const unpodErrorSchema = z.object({
  status_code: z.number(),
  message: z.string(),
});

export type UnpodErrorBody = z.infer<typeof unpodErrorSchema>;
