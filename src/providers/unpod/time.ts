/** Unpod's timestamps: ISO 8601 such as "2026-02-07T05:57:00Z" (shared/providers/unpod.md). */

const ISO_INSTANT =
  /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * The instant `text` names, or null. A timestamp without a zone is read as UTC (every published
 * example is in UTC), never in the server's local zone.
 */
export function parseInstant(text: string): Date | null {
  const match = ISO_INSTANT.exec(text.trim());
  if (!match) return null;
  const [, date = '', time = '00:00:00', zone = 'Z'] = match;
  // Date.parse rolls "02-30" over into March; a calendar date that does not exist is no instant.
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  const offset = /^[+-]\d{2}$/.test(zone) ? `${zone}:00` : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const ms = Date.parse(`${date}T${time}${offset.toUpperCase()}`);
  return Number.isNaN(ms) ? null : new Date(ms);
}
