/**
 * Rows read one at a time. A provider's body is two things: its envelope (the list, the page
 * token, the count, the error block) and its rows (one per call). An envelope that does not read is
 * a body Switchboard cannot use (BAD_BODY, the connection is unavailable); a row that does not read
 * costs that row alone: it is left out and reported as an InvalidRowError, and every other row of
 * the body still comes back (docs/pagination.md, "Unreadable rows").
 *
 * What is still known of a bad row — its id, when it started, its key — is read field by field
 * with the row schema's own field parsers, so a bad row is placed and named by the same rules as a
 * good one. Nothing of its content goes into the error: only the path of the first offending field
 * and what was expected there.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { ConnectionRef } from '../calls/model.js';
import { InvalidRowError } from '../errors.js';
import type { InvalidRow } from '../calls/adapter.js';

/** How one provider's rows are read, and what can still be told of a row that does not read. */
export interface RowReader<T> {
  schema: z.ZodType<T>;
  /** The provider's call id of a raw row, when that field reads on its own; else null. */
  id(raw: Record<string, unknown>): string | null;
  /** When the call started, when that field reads on its own; else null. */
  startedAt(raw: Record<string, unknown>): Date | null;
  /** The row's key (`CallRecord.key`), when it can be told; the id when omitted. */
  key?(raw: Record<string, unknown>, startedAt: Date | null): string | null;
}

/** Where a body's rows sit, for error paths: `calls` gives `calls[3].date`; '' a bare array (`[3].date`) or a body that is the row (`date`). */
export interface RowSource {
  ref: ConnectionRef;
  path: string;
}

/** A value `schema` reads, or null (also for an absent one): how a bad row's id and start are still read, one field at a time. */
export function readField<T>(schema: z.ZodType<T>, value: unknown): NonNullable<T> | null {
  const result = schema.safeParse(value);
  return result.success ? (result.data ?? null) : null;
}

/** Ids longer than this are not ids: they are not repeated in an error. */
const MAX_ID_LENGTH = 200;
const MAX_PROBLEM_LENGTH = 200;

/** An id read by its schema (text: ./json.ts reads numeric ids as their digits), or null when it is none or implausibly long. */
export function plausibleId(value: unknown): string | null {
  const text = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : null;
  return text !== null && text.trim() !== '' && text.length <= MAX_ID_LENGTH ? text : null;
}

/** An issue's path under its row's prefix: `calls[3]` + ['date'] → `calls[3].date`; '' + ['call', 'started_at'] → `call.started_at`. */
function pathText(prefix: string, path: readonly PropertyKey[], whole = '(row)'): string {
  let text = prefix;
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? whole : text;
}

/**
 * The first issue as `path: expected …`. zod 4's messages name types and allowed values, never the
 * value received; their lead-in ("Invalid input: ", "Too small: ") is dropped and the text capped.
 * A union at the root names no field, so the first issue of its first branch is followed down to one
 * that does (`calls[0].callSid`, not `(root): invalid_union`). `whole` names an empty path: the row,
 * or for a response envelope (src/providers/http.ts) the body.
 */
export function problemOf(error: z.ZodError, prefix: string, whole = '(row)'): string {
  let issue: z.core.$ZodIssue | undefined = error.issues[0];
  if (!issue) return `${prefix || whole}: unreadable`;
  let path: PropertyKey[] = [...issue.path];
  while (issue.code === 'invalid_union' && path.length === 0 && issue.errors[0]?.[0]) {
    issue = issue.errors[0][0] as z.core.$ZodIssue;
    path = [...path, ...issue.path];
  }
  const message = issue.message.replace(/^[^:]{0,40}:\s*(?=expected\b)/i, '').slice(0, MAX_PROBLEM_LENGTH);
  return `${pathText(prefix, path, whole)}: ${message}`;
}

/** A JSON object's fields, or none for anything else: what a reader's `id`/`startedAt` look into. */
export const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** A digest of the row, so the same bad row is told apart from others without keeping its content. */
function fingerprint(raw: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = String(raw);
  }
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** What is known of a row that did not read (index -1: a body that is the row). */
function unreadable<T>(
  raw: unknown,
  index: number,
  error: z.ZodError,
  reader: RowReader<T>,
  source: RowSource,
  knownId: string | null,
): InvalidRow {
  const fields = asRecord(raw);
  const id = reader.id(fields);
  const startedAt = reader.startedAt(fields);
  const key = reader.key ? reader.key(fields, startedAt) : id;
  const prefix = index < 0 ? source.path : `${source.path}[${index}]`;
  return {
    index: Math.max(0, index),
    error: new InvalidRowError(source.ref, id ?? knownId, problemOf(error, prefix), fingerprint(raw)),
    startedAt,
    key,
  };
}

/** The rows of one body: the readable ones in order, and the others placed by index among them. */
export interface ReadRows<T> {
  rows: T[];
  invalid: InvalidRow[];
}

/** Reads each of `items` with `reader.schema`; a row that does not read is reported, not thrown. */
export function readRows<T>(items: readonly unknown[], reader: RowReader<T>, source: RowSource): ReadRows<T> {
  const rows: T[] = [];
  const invalid: InvalidRow[] = [];
  items.forEach((item, index) => {
    const result = reader.schema.safeParse(item);
    if (result.success) rows.push(result.data);
    else invalid.push(unreadable(item, index, result.error, reader, source, null));
  });
  return { rows, invalid };
}

/**
 * A body that is one row (a by-id answer): the row, or its InvalidRowError. `askedId` names the row
 * when its own id does not read: it is the call that was asked for.
 */
export function readRow<T>(item: unknown, reader: RowReader<T>, source: RowSource, askedId: string | null): T | InvalidRowError {
  const result = reader.schema.safeParse(item);
  return result.success ? result.data : unreadable(item, -1, result.error, reader, source, askedId).error;
}
