/**
 * The CINNOX call-log bodies Switchboard reads (docs/providers/cinnox.md). Strict on the fields
 * mapped into a CallRecord, lenient elsewhere; unknown keys are stripped.
 */
import { z } from 'zod';
import type { Zoneless } from '../../time.js';
import { idText, isoInstant, quantity } from '../json.js';

const optionalText = z.string().nullish();
/** Ids are strings on the page; a JSON number is kept digit for digit. */
const optionalId = idText.nullish();

/**
 * CINNOX documents RFC 3339 ("2022-11-07T00:00:00.000Z"); a value without an offset is read as
 * UTC (an assumption: the page shows only UTC), never in the server's local zone. Forms: src/time.ts.
 */
export const CINNOX_ZONELESS = 'utc' satisfies Zoneless;

/** callDate, read once here: the order key, so a value that is not an instant fails the body. */
const instant = isoInstant(CINNOX_ZONELESS);

/**
 * The page documents phone numbers as JSON numbers (country code + number, no "+"), kept here as
 * their digits whatever their length; a string of digits is tolerated as well.
 */
const phoneNumber = idText.nullish();

export const cinnoxCallerSchema = z.object({
  countryCode: optionalText,
  displayName: optionalText,
  eid: optionalId,
  isStaff: z.boolean().nullish(),
  phoneNumber,
  serviceId: optionalId,
});

export const cinnoxCalleeSchema = z.object({
  displayName: optionalText,
  eid: optionalId,
  isStaff: z.boolean().nullish(),
  serviceId: optionalId,
  // Empty strings when unknown, per the page.
  ipLocDetail: z
    .object({
      city: optionalText,
      province: optionalText,
      regionCode: optionalText,
      subdivision: optionalText,
    })
    .nullish(),
});

export const cinnoxCallSchema = z.object({
  callID: idText.pipe(z.string().min(1)),
  status: z.string(),
  callDate: instant,
  // Not an order key: an unreadable end time is null (map.ts), not a refused body.
  callEndTime: optionalText,
  callDuration: quantity.nullish(),
  byeReason: optionalText,
  callerInfo: cinnoxCallerSchema.nullish(),
  calleeInfo: cinnoxCalleeSchema.nullish(),
});

/**
 * `{ code: 0, result: [...] }` on success; a non-zero `code` is an error whatever the HTTP status,
 * and then `result` may be absent. This is the envelope: its records are read one by one with
 * `cinnoxCallSchema` (src/providers/rows.ts), so one unreadable record never fails the page.
 */
export const cinnoxCallLogSchema = z.object({
  code: z.number(),
  result: z.array(z.unknown()).nullish(),
});

export type CinnoxCall = z.infer<typeof cinnoxCallSchema>;
export type CinnoxCaller = z.infer<typeof cinnoxCallerSchema>;
export type CinnoxCallee = z.infer<typeof cinnoxCalleeSchema>;
export type CinnoxCallLog = z.infer<typeof cinnoxCallLogSchema>;
