/**
 * Twilio's response bodies (docs/providers/twilio.md, Programmable Voice API 2010-04-01): the Call
 * resource (list items and FetchCall are the same object), the list envelope, and the call's
 * Recordings sub-resource. Unknown fields (account_sid, subresource_uris, queue_time…) are stripped.
 */
import { z } from 'zod';
import { parseRfc5322Date, rfc5322DateProblem } from '../../time.js';
import { decimalString, idText, numberText } from '../json.js';
import { isPlainPath } from '../http.js';

/** A Call SID: "CA" and 32 hex digits. Anything else is not a Twilio call (and never goes into a path). */
export const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

/**
 * An RFC 2822 date ("Fri, 18 Oct 2019 17:02:00 +0000"), read by src/time.ts; the Call's dates
 * are "empty" until they happen, so an empty string (or null) is no date. Any other text is a row
 * we cannot read, never a call at some wrong time.
 */
const optionalRfc2822 = z
  .string()
  .nullish()
  .transform((text, ctx) => {
    if (text === null || text === undefined || text.trim() === '') return null;
    const date = parseRfc5322Date(text);
    if (date === null) ctx.addIssue({ code: 'custom', message: `the value ${rfc5322DateProblem(text)}` });
    return date ?? z.NEVER;
  });

/**
 * An optional RFC 2822 date that is not the row's place (`end_time`): one that does not read is
 * unknown (null), as every provider's end is, and the call is still listed.
 */
const lenientRfc2822 = z
  .string()
  .nullish()
  .transform((text) => (text === null || text === undefined || text.trim() === '' ? null : parseRfc5322Date(text)));

/** Whole seconds sent as a string ("4"), empty while unknown; a JSON number is tolerated. */
const secondsText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined || value === '') return null;
    const text = String(value).trim();
    if (!/^\d+$/.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'expected whole seconds as digits' });
      return z.NEVER;
    }
    return Number(text);
  });

/**
 * `price` as its decimal text ("-0.200"), never through a double; empty/null while not yet
 * billed. A JSON number is kept digit for digit (numberText); an exponent form is written out.
 */
const priceText = z
  .union([z.string(), numberText])
  .nullish()
  .transform((value, ctx) => {
    if (value === null || value === undefined || value.trim() === '') return null;
    const text = value.trim();
    if (!/^[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(text)) {
      ctx.addIssue({ code: 'custom', message: 'expected a decimal amount such as "-0.200"' });
      return z.NEVER;
    }
    // A JSON number may come in exponent form ("-7.7E-4"): its digits moved, never rounded.
    return decimalString(text);
  });

/** One Call resource, as the list and FetchCall send it. */
export const twilioCallSchema = z.object({
  sid: idText.pipe(z.string().regex(CALL_SID, 'expected a Call SID (CA and 32 hex digits)')),
  parent_call_sid: z.string().nullish(),
  status: z.string(),
  direction: z.string().nullish(),
  // Phone numbers, SIP addresses, client:… or sim:… identifiers; a JSON number keeps its digits.
  from: idText.nullish(),
  to: idText.nullish(),
  caller_name: z.string().nullish(),
  date_created: optionalRfc2822,
  start_time: optionalRfc2822,
  end_time: lenientRfc2822,
  duration: secondsText,
  price: priceText,
  // ISO 4217 ("USD"); anything else is no currency (and then no cost: it is never assumed).
  price_unit: z.string().nullish(),
});

/** A Call as read: dates are Dates (or null when empty), `duration` a number, `price` decimal text. */
export type TwilioCall = z.infer<typeof twilioCallSchema>;

/**
 * A Call with the instant it is ordered by: `start_time`, empty until the call is dialled, else
 * `date_created` (docs/providers/twilio.md, assumptions). A Call with neither cannot be placed in
 * the list: it is a row we cannot read.
 */
export const twilioRowSchema = twilioCallSchema.transform((row, ctx) => {
  const startedAt = row.start_time ?? row.date_created;
  if (startedAt === null) {
    ctx.addIssue({ code: 'custom', path: ['start_time'], message: 'required (start_time or date_created)' });
    return z.NEVER;
  }
  return { ...row, startedAt };
});
export type TwilioRow = z.infer<typeof twilioRowSchema>;

/**
 * `next_page_uri` (a path relative to the base URL, or null on the last page) is the only way on:
 * Twilio's JSON has no total. This is the envelope only: its rows are read one by one with
 * `twilioCallSchema` (src/providers/rows.ts), so one unreadable row never fails the page.
 */
export const twilioCallListSchema = z.object({
  calls: z.array(z.unknown()),
  next_page_uri: z.string().nullish(),
  page: z.number().int().nullish(),
  page_size: z.number().int().nullish(),
});

/** FetchCall answers the Call object itself: the envelope is that it is an object. */
export const twilioCallBodySchema = z.record(z.string(), z.unknown());

/** One item of GET …/Calls/{CallSid}/Recordings.json. */
export const twilioRecordingSchema = z.object({
  sid: z.string().regex(/^RE[0-9a-fA-F]{32}$/, 'expected a Recording SID (RE and 32 hex digits)'),
  status: z.string(),
  // The recording resource's path ("/2010-04-01/Accounts/AC…/Recordings/RE….json").
  // Plain: the media link is built on it, and a dot segment would point it elsewhere on the host.
  uri: z
    .string()
    .regex(/^\/2010-04-01\/[^?#]*\.json$/, 'expected a /2010-04-01/… path ending .json')
    .refine(isPlainPath, 'expected a path without dot segments'),
  // Set (an object) when the recording is encrypted: then it cannot be fetched as .mp3 (error 16109).
  encryption_details: z.unknown().optional(),
});
export type TwilioRecording = z.infer<typeof twilioRecordingSchema>;

/** The Recordings list: the same paging envelope as Calls, rows under `recordings`. */
export const twilioRecordingListSchema = z.object({
  recordings: z.array(twilioRecordingSchema),
  next_page_uri: z.string().nullish(),
});

/** Error body: `status`, `message`, and when available `code` (Twilio's error number) and `more_info`. */
export const twilioErrorSchema = z.object({
  status: z.number(),
  message: z.string(),
  code: z.number().nullish(),
  more_info: z.string().nullish(),
});
