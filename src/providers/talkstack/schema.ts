/**
 * TalkStack AI's response bodies (shared/providers/talkstack.md). The call data object is the same
 * in the history list and in POST /call. Unknown fields (phoneNumber, partnerId, shiftId,
 * assignmentId…) are stripped.
 */
import { z } from 'zod';
import { parseRfc2822Date } from './map.js';

/** `date` is RFC 2822, read once here; anything else is a body we cannot read, not a call at some wrong time. */
const rfc2822Date = z.string().transform((text, ctx) => {
  const date = parseRfc2822Date(text);
  if (date === null) ctx.addIssue({ code: 'custom', message: 'expected an RFC 2822 date' });
  return date ?? z.NEVER;
});

export const talkStackCallSchema = z.object({
  callSid: z.string().min(1),
  date: rfc2822Date,
  status: z.string(),
  from: z.string().nullish(),
  to: z.string().nullish(),
  seconds: z.number().int().nonnegative().nullish(),
  /** A bare number in the account's currency. */
  cost: z.number().nullish(),
  recordingUrls: z.array(z.string()).nullish(),
  /** The variables the agent extracted; any JSON. */
  data: z.unknown().optional(),
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
    nextPageToken: z.string().nullish(),
  }),
  z.array(z.unknown()),
]);

/** POST /call answers the call data object itself: the envelope is that it is an object. */
export const talkStackCallBodySchema = z.record(z.string(), z.unknown());

export type TalkStackHistory = z.infer<typeof talkStackHistorySchema>;

/** Errors (400, 401, 404, 500) carry `{ message }`. */
export const talkStackErrorSchema = z.object({ message: z.string() });
