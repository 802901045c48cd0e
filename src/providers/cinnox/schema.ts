/**
 * The CINNOX call-log bodies Switchboard reads (shared/providers/cinnox.md). Strict on the fields
 * mapped into a CallRecord, lenient elsewhere; unknown keys are stripped.
 */
import { z } from 'zod';

const optionalText = z.string().nullish();

/** An RFC 3339 instant Date.parse understands ("2022-11-07T00:00:00.000Z"), read once here. */
const instant = z.string().transform((value, ctx) => {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: 'not a date' });
  return Number.isNaN(ms) ? z.NEVER : new Date(ms);
});

/**
 * The page documents phone numbers as JSON numbers (country code + number, no "+"); a string of
 * digits is tolerated as well.
 */
const phoneNumber = z.union([z.number(), z.string()]).nullish();

export const cinnoxCallerSchema = z.object({
  countryCode: optionalText,
  displayName: optionalText,
  eid: optionalText,
  isStaff: z.boolean().nullish(),
  phoneNumber,
  serviceId: optionalText,
});

export const cinnoxCalleeSchema = z.object({
  displayName: optionalText,
  eid: optionalText,
  isStaff: z.boolean().nullish(),
  serviceId: optionalText,
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
  callID: z.string().min(1),
  status: z.string(),
  callDate: instant,
  callEndTime: optionalText,
  callDuration: z.number().nullish(),
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
