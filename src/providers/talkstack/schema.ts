/**
 * TalkStack AI's response bodies (docs/providers/talkstack.md). The call data object is the same
 * in the history list and in POST /call. Unknown fields (phoneNumber, partnerId, shiftId,
 * assignmentId…) are stripped.
 */
import { z } from 'zod';
import { freeJson, idText, numberText, quantity, rfc5322Date } from '../json.js';

export const talkStackCallSchema = z.object({
  // Strings on the page; a JSON number is kept digit for digit.
  callSid: idText.pipe(z.string().min(1)),
  // RFC 2822 (now RFC 5322) with its obsolete forms: anything else is a row we cannot read, not a call at some wrong time.
  date: rfc5322Date,
  status: z.string(),
  from: idText.nullish(),
  to: idText.nullish(),
  seconds: quantity.pipe(z.number().int().nonnegative()).nullish(),
  /** A bare number in the account's currency, as its decimal text (never rounded through a double). */
  cost: numberText.nullish(),
  recordingUrls: z.array(z.string()).nullish(),
  /** The variables the agent extracted; any JSON. */
  data: freeJson.optional(),
});

export type TalkStackCall = z.infer<typeof talkStackCallSchema>;

/**
 * The history response. The reference shows none, so (provider page, assumptions) either
 * `{ calls, nextPageToken }` or a bare array, which is a single, final page. This is the envelope
 * only: its rows are read one by one with `talkStackCallSchema` (src/providers/rows.ts), so one
 * unreadable row never fails the page.
 */
export const talkStackHistorySchema = z.union([
  z.object({
    calls: z.array(z.unknown()),
    // Opaque; a numeric token is kept digit for digit, as any key is.
    nextPageToken: idText.nullish(),
  }),
  z.array(z.unknown()),
]);

/** POST /call answers the call data object itself: the envelope is that it is an object. */
export const talkStackCallBodySchema = z.record(z.string(), z.unknown());

export type TalkStackHistory = z.infer<typeof talkStackHistorySchema>;

/** Errors (400, 401, 404, 500) carry `{ message }`. */
export const talkStackErrorSchema = z.object({ message: z.string() });
