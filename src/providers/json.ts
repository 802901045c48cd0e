/**
 * Upstream JSON read without losing a digit, and the zod field types that read its values: numbers
 * by what they mean, instants strictly (src/time.ts).
 *
 * JSON.parse turns every number into a double: `"id": 9007199254740993` becomes
 * 9007199254740992, so two calls share one id. parseUpstreamJson keeps every number exact: a
 * `number` when the double holds the digits the provider wrote, else a lossless-json
 * `LosslessNumber` carrying the text. The schemas then read a number by what it means: an
 * identifier or phone number as its text (`idText`), money as its decimal text, a duration as a
 * number (`quantity`), free-form JSON with inexact numbers as their text (`freeJson`).
 */
import { LosslessNumber, isSafeNumber, parse as parseLossless } from 'lossless-json';
import { z } from 'zod';
import { type Zoneless, isoInstantProblem, parseIsoInstant, parseRfc5322Date, rfc5322DateProblem } from '../time.js';

/**
 * A number token JSON.parse may not hold exactly: 16 or more digits (a double keeps 15 for sure),
 * or a three-digit exponent (overflow, underflow). Inside a body a number token follows `:`, `,`
 * or `[`; a string that happens to match only costs the slower parse. (Anchoring the same pattern
 * at the start of the text too made the scan twice as slow: a bare number is tested apart.)
 */
const MAY_LOSE_DIGITS = /[:,[][ \t\n\r]*-?\d(?:[\d.]{15}|[\d.]*[eE][+-]?\d{3})/;
const STARTS_WITH_NUMBER = /^[ \t\n\r]*-?\d/;

/** A number when the double holds exactly the digits written, else the text itself. */
const exactNumber = (text: string): number | LosslessNumber =>
  isSafeNumber(text) ? Number(text) : new LosslessNumber(text);

/**
 * Parses an upstream body. JSON.parse when every number in it has at most 15 significant digits
 * and a short exponent (then it is exact, and the body costs a regular-expression scan more);
 * lossless-json otherwise, about 6–10× slower (docs/benchmark.md). A repeated key keeps its last
 * value, as with JSON.parse. Throws SyntaxError (or RangeError when nested too deep) on bad JSON.
 */
export function parseUpstreamJson(text: string): unknown {
  if (!MAY_LOSE_DIGITS.test(text) && !STARTS_WITH_NUMBER.test(text)) return JSON.parse(text);
  return parseLossless(text, null, {
    parseNumber: exactNumber,
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

const lossless = z.instanceof(LosslessNumber);

/**
 * An identifier, a phone number or any other key: a string, or a JSON number kept digit for
 * digit as its text (9007199254740993 → "9007199254740993"). A string skips the transform: ids are
 * read on every row, and a transform on every value made the schema of a page of 100 Twenty2 rows
 * 2–3× slower.
 */
export const idText = z.union([z.string(), z.union([z.number(), lossless]).transform(String)], {
  // zod's own message for a union is "Invalid input": say what was expected.
  error: (issue) => (issue.input === undefined ? 'required' : 'expected a string or a number'),
});

/**
 * A JSON number whose exact text matters (money): the number as written, e.g. "0.077" or
 * "1.5e-7", never rounded through a double (a double is used only when it prints those digits).
 */
export const numberText = z.union([z.number(), lossless]).transform(String);

/** A measure such as a duration in seconds: a number; one JSON cannot give exactly comes as the nearest double. */
export const quantity = z.union([z.number(), lossless.transform((value) => Number(value.value))]);

/**
 * Free-form JSON (a call's parameters): as sent, except that a number a double cannot hold
 * exactly comes as a string of its text, so no digit is lost on the way to the client.
 */
export const freeJson = z.unknown().transform(withExactNumbers);

/** `value` with each LosslessNumber replaced by its text; the same object when there is none. */
function withExactNumbers(value: unknown): unknown {
  if (value instanceof LosslessNumber) return value.value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, index) => {
      const exact = withExactNumbers(item);
      if (exact !== item) (copy ??= [...value])[index] = exact;
    });
    return copy ?? value;
  }
  let copy: Record<string, unknown> | null = null;
  for (const [key, item] of Object.entries(value)) {
    const exact = withExactNumbers(item);
    // defineProperty: a "__proto__" key stays a plain key, as JSON.parse leaves it.
    if (exact !== item) Object.defineProperty((copy ??= { ...value }), key, { value: exact, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? value;
}

/**
 * An ISO 8601 / RFC 3339 instant as a Date (src/time.ts's forms); `zoneless` says how a value
 * without an offset reads. Anything else is an issue saying why ("the value is not a real
 * date-time: February 2023 has 28 days"), never a Date at some other time.
 */
export const isoInstant = (zoneless: Zoneless) =>
  z.string().transform((text, ctx) => {
    const date = parseIsoInstant(text, zoneless);
    if (date === null) ctx.addIssue({ code: 'custom', message: `the value ${isoInstantProblem(text, zoneless)}` });
    return date ?? z.NEVER;
  });

/** An RFC 5322 (RFC 2822) date with its obsolete forms, as a Date; anything else is an issue saying why. */
export const rfc5322Date = z.string().transform((text, ctx) => {
  const date = parseRfc5322Date(text);
  if (date === null) ctx.addIssue({ code: 'custom', message: `the value ${rfc5322DateProblem(text)}` });
  return date ?? z.NEVER;
});

/**
 * A number's decimal text without exponent notation: "0.077" → "0.077", "1e-7" → "0.0000001".
 * Digits are moved, never rounded. A number (not text) is taken as String() writes it.
 */
export function decimalString(value: number | string): string {
  const text = String(value);
  const exponentAt = text.search(/e/i);
  if (exponentAt < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, exponentAt).replace(/^\+/, '');
  const exponent = Number(text.slice(exponentAt + 1));
  const [integerPart = '', fractionPart = ''] = mantissa.split('.');
  const digits = integerPart + fractionPart;
  const point = integerPart.length + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${plain}` : plain;
}
