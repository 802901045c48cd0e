/**
 * Value types of provider settings (configuration file keys and environment variables), shared by
 * every provider module's settings schema and by src/config.ts. Each is taken exactly as written.
 */
import { z } from 'zod';
import { isSupportedCountry } from '../calls/phone.js';
import { isPathSegment } from './http.js';

/** A value exactly as written: not empty, no surrounding whitespace (never trimmed into something else). */
export const text = z
  .string()
  .min(1, 'must not be empty')
  .refine((s) => s.trim() === s, 'must not start or end with whitespace');
/** An http(s) base URL; credentials, a query or a fragment in it would be sent, or lost, silently. */
export const url = text
  .pipe(z.url({ protocol: /^https?$/, hostname: /./, error: 'must be an http:// or https:// URL' }))
  .refine((u) => {
    if (!URL.canParse(u)) return true; // already refused above
    const parsed = new URL(u);
    return !parsed.username && !parsed.password && !u.includes('?') && !u.includes('#');
  }, 'must be an http:// or https:// URL without credentials, query or fragment')
  .transform((u) => u.replace(/\/+$/, ''));
/** A value that goes into upstream URL paths as one segment (an account or app id): not `.` or `..` (./http.ts). */
export const pathSegment = text.refine(isPathSegment, 'must not be . or .. (it is a segment of the provider\'s URL paths)');
export const region = text
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 region such as IN')
  .transform((r) => r.toUpperCase())
  .refine((r) => isSupportedCountry(r), 'must be an ISO 3166-1 alpha-2 region such as IN');
export const currency = text.regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code such as USD').transform((c) => c.toUpperCase());
