/**
 * Retell AI's response bodies (docs/providers/retell.md, docs/providers/retell.md). The call object
 * is the same in POST /v3/list-calls items and GET /v2/get-call/{call_id}, except that list items
 * carry no transcripts. Fields Switchboard does not use (access_token, public_log_url, metadata,
 * telephony_identifier…) are stripped.
 */
import { z } from 'zod';
import { isPathSegment } from '../http.js';
import { freeJson, idText, numberText, quantity } from '../json.js';

/**
 * An instant as epoch milliseconds (an integer, Retell's `start_timestamp` / `end_timestamp`).
 * Anything else — text, a fraction, a value a Date cannot hold — is a row that does not read, not
 * a call at some wrong time.
 */
export const epochMs = quantity.pipe(
  z
    .number()
    .int('expected an integer of epoch milliseconds')
    .min(0, 'expected epoch milliseconds')
    .max(8.64e15, 'expected epoch milliseconds')
    .transform((ms) => new Date(ms)),
);

/** `call_cost`: cents, with no currency field (the page: "in cents"). */
export const retellCostSchema = z.object({
  /** Cents as the decimal text sent ("70", "70.5"), never through a double. */
  combined_cost: numberText.nullish(),
  total_duration_seconds: quantity.pipe(z.number().nonnegative()).nullish(),
});

export const retellCallSchema = z.object({
  // Looked up by it as a path segment (GET /v2/get-call/{call_id}): `.`/`..` name no call (../http.ts).
  call_id: idText.pipe(z.string().min(1).refine(isPathSegment, 'expected a call id, not . or ..')),
  agent_id: idText.nullish(),
  call_status: z.string(),
  call_type: z.string().nullish(),
  /** Phone calls only; web calls have no direction and no numbers. */
  direction: z.string().nullish(),
  from_number: idText.nullish(),
  to_number: idText.nullish(),
  start_timestamp: epochMs.nullish(),
  end_timestamp: epochMs.nullish(),
  duration_ms: quantity.pipe(z.number().nonnegative()).nullish(),
  disconnection_reason: z.string().nullish(),
  recording_url: z.string().nullish(),
  recording_multi_channel_url: z.string().nullish(),
  call_cost: retellCostSchema.nullish(),
  call_analysis: z.object({ custom_analysis_data: freeJson.optional() }).nullish(),
  retell_llm_dynamic_variables: freeJson.optional(),
  collected_dynamic_variables: freeJson.optional(),
  /** Plain text; get-call only (absent from list items). */
  transcript: z.string().nullish(),
});

export type RetellCall = z.infer<typeof retellCallSchema>;

/**
 * The list response `{ items, pagination_key?, has_more?, total? }`: the envelope only; its items
 * are read one by one with `retellCallSchema` (src/providers/rows.ts).
 */
export const retellListSchema = z.object({
  items: z.array(z.unknown()),
  // Opaque; a numeric key is kept digit for digit, as any key is.
  pagination_key: idText.nullish(),
  has_more: z.boolean().nullish(),
  total: quantity.nullish(),
});

export type RetellList = z.infer<typeof retellListSchema>;

/** get-call answers the call object itself: the envelope is that it is an object. */
export const retellCallBodySchema = z.record(z.string(), z.unknown());

/** Errors: `{ status: "error", message }` (400, 401, 402, 422, 429, 500). */
export const retellErrorSchema = z.object({ status: z.literal('error'), message: z.string() });
