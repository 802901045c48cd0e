/**
 * Phone numbers in E.164, through libphonenumber-js. Providers send national numbers (Twenty2),
 * numbers without "+" (CINNOX, as JSON numbers) or E.164 (Unpod, TalkStack).
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export interface NormalisedPhone {
  /** E.164, or null when the number cannot be made valid E.164. */
  e164: string | null;
  /** ISO 3166-1 alpha-2 of the number, when known. */
  country: string | null;
}

/**
 * `defaultRegion` reads national numbers ("9999999999" in IN); `assumeInternational` reads digits
 * that already start with a country code but lack the "+" (CINNOX's 85298765432).
 */
export function normalisePhone(
  raw: string | number | null | undefined,
  options: { defaultRegion?: string; assumeInternational?: boolean } = {},
): NormalisedPhone {
  if (raw === null || raw === undefined) return { e164: null, country: null };
  let text = String(raw).trim();
  if (text === '') return { e164: null, country: null };
  if (options.assumeInternational && /^\d+$/.test(text)) text = `+${text}`;
  // Parsing is the costliest step of mapping a row (docs/benchmark.md, "Profile history") and
  // pure, and the same numbers recur page after page: remember recent answers.
  const memoKey = `${options.defaultRegion ?? ''}|${text}`;
  const known = memo.get(memoKey);
  if (known) return { ...known };
  const parsed = parsePhoneNumberFromString(text, options.defaultRegion as CountryCode | undefined);
  const result: NormalisedPhone =
    !parsed || !parsed.isPossible() ? { e164: null, country: null } : { e164: parsed.number, country: parsed.country ?? null };
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(memoKey, result);
  return { ...result };
}

const MEMO_LIMIT = 10_000;
const memo = new Map<string, NormalisedPhone>();

/** Whether `region` is a region libphonenumber knows ("IN", "US"…). */
export { isSupportedCountry } from 'libphonenumber-js/max';
