/**
 * The one date module (src/time.ts). Runs under two process time zones (jest.config.js): every
 * expected value here is an absolute instant, so the zone must never show.
 */
import {
  isoInstantProblem,
  parseHttpDate,
  parseIsoInstant,
  parseRfc5322Date,
  rfc5322DateProblem,
} from '../../src/time.js';

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

describe('the process time zone', () => {
  it('is not UTC under npm test (jest.config.js sets one per project)', () => {
    expect(['Asia/Kolkata', 'America/Los_Angeles']).toContain(process.env.TZ);
    expect(new Date(2026, 10, 20).getTimezoneOffset()).not.toBe(0);
  });
});

describe('parseIsoInstant: accepted forms', () => {
  it.each<[string, string]>([
    ['2024-12-25T10:00:00Z', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T10:00:00.123Z', '2024-12-25T10:00:00.123Z'],
    ['2024-12-25T10:00:00.1Z', '2024-12-25T10:00:00.100Z'],
    ['2024-12-25T10:00:00.123456789Z', '2024-12-25T10:00:00.123Z'], // truncated to ms
    ['2024-12-25T10:00:00.9999Z', '2024-12-25T10:00:00.999Z'], // truncated, never rounded up
    ['2024-12-25t10:00:00z', '2024-12-25T10:00:00.000Z'], // RFC 3339 §5.6: lowercase t and z
    ['2024-12-25 10:00:00Z', '2024-12-25T10:00:00.000Z'], // RFC 3339 §5.6 note: a space
    ['2024-12-25T10:00Z', '2024-12-25T10:00:00.000Z'], // ISO 8601: seconds left out
    ['2024-12-25T15:30:00+05:30', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T15:30:00+0530', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T15:00:00+05', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T02:00:00-08:00', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T10:00:00-00:00', '2024-12-25T10:00:00.000Z'], // RFC 3339 §4.3: UTC, local zone unknown
    ['2024-12-26T09:59:00+23:59', '2024-12-25T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'], // a leap year
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'], // divisible by 400
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
    ['2025-01-01T04:59:59+05:00', '2024-12-31T23:59:59.000Z'], // across a year by the offset
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['0099-06-01T00:00:00Z', '0099-06-01T00:00:00.000Z'], // not 1999 (Date.UTC's two-digit years)
    ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59Z', '9999-12-31T23:59:59.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(iso(parseIsoInstant(text))).toBe(expected);
  });

  it('reads a value without an offset as UTC only when told to, never in the local zone', () => {
    expect(iso(parseIsoInstant('2026-11-20T10:00:00', 'utc'))).toBe('2026-11-20T10:00:00.000Z');
    expect(iso(parseIsoInstant('2026-11-20 10:00', 'utc'))).toBe('2026-11-20T10:00:00.000Z');
    expect(parseIsoInstant('2026-11-20T10:00:00')).toBeNull();
    expect(parseIsoInstant('2026-11-20T10:00:00', 'refuse')).toBeNull();
    expect(isoInstantProblem('2026-11-20T10:00:00')).toMatch(/no UTC offset/);
  });
});

describe('parseIsoInstant: refused, the same way whatever the zone rule', () => {
  it.each<[string, RegExp]>([
    ['2023-02-29T00:00:00Z', /February 2023 has 28 days/],
    ['2025-02-29T10:00:00Z', /February 2025 has 28 days/],
    ['1900-02-29T00:00:00Z', /February 1900 has 28 days/], // divisible by 100, not 400
    ['2024-02-30T00:00:00Z', /February 2024 has 29 days/],
    ['2024-04-31T00:00:00Z', /April 2024 has 30 days/],
    ['2024-06-31T00:00:00Z', /June 2024 has 30 days/],
    ['2024-09-31T00:00:00Z', /September 2024 has 30 days/],
    ['2024-11-31T00:00:00Z', /November 2024 has 30 days/],
    ['2024-01-32T00:00:00Z', /January 2024 has 31 days/],
    ['2024-12-00T00:00:00Z', /no day 0/],
    ['2024-13-01T00:00:00Z', /no month 13/],
    ['2024-00-01T00:00:00Z', /no month 0/],
    ['2024-12-25T24:00:00Z', /hour 24/],
    ['2024-12-25T25:00:00Z', /no hour 25/],
    ['2024-12-25T10:60:00Z', /no minute 60/],
    ['2016-12-31T23:59:60Z', /leap second/],
    ['2024-12-25T10:00:61Z', /no second 61/],
    ['2024-12-25T10:00:00+24:00', /offset/],
    ['2024-12-25T10:00:00+05:60', /offset/],
    ['2024-12-25', /without a time of day/],
    ['2024-12-25T10Z', /not an ISO 8601/],
    ['2024-12-25T10:00:00.Z', /not an ISO 8601/],
    ['2024-12-25T10:00:00,5Z', /not an ISO 8601/], // ISO 8601's comma: not RFC 3339
    ['20241225T100000Z', /not an ISO 8601/], // basic format
    ['2024-W52-3T10:00:00Z', /not an ISO 8601/], // week date
    ['2024-360T10:00:00Z', /not an ISO 8601/], // ordinal date
    [' 2024-12-25T10:00:00Z', /not an ISO 8601/],
    ['2024-12-25T10:00:00Z ', /not an ISO 8601/],
    ['2024-12-25T10:00:00 Z', /not an ISO 8601/],
    ['2024-12-25T10:00:00+05:', /not an ISO 8601/],
    ['+002024-12-25T10:00:00Z', /not an ISO 8601/], // expanded year
    ['24-12-25T10:00:00Z', /not an ISO 8601/],
    ['2024-1-5T10:00:00Z', /not an ISO 8601/],
    ['Wed, 25 Dec 2024 10:00:00 GMT', /not an ISO 8601/],
    ['1735120800', /not an ISO 8601/],
    ['', /not an ISO 8601/],
  ])('%j: %s', (text, problem) => {
    expect(parseIsoInstant(text)).toBeNull();
    expect(parseIsoInstant(text, 'utc')).toBeNull();
    expect(isoInstantProblem(text)).toMatch(problem);
  });

  it('gives no problem for what it accepts', () => {
    expect(isoInstantProblem('2024-12-25T10:00:00Z')).toBeNull();
    expect(isoInstantProblem('2024-12-25T10:00:00', 'utc')).toBeNull();
  });

  it('agrees with Date.parse on every valid instant of a leap year and the next (hour by hour)', () => {
    for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 3_600_000 + 61_001) {
      const text = new Date(ms).toISOString();
      expect(parseIsoInstant(text)?.getTime()).toBe(ms);
      expect(parseIsoInstant(text.replace(/\.\d+Z$/, 'Z'))?.getTime()).toBe(ms - (ms % 1000));
      expect(parseIsoInstant(text.replace('Z', '+05:30'))?.getTime()).toBe(ms - 330 * 60_000);
    }
  });
});

describe('parseRfc5322Date: RFC 5322 §3.3 and the obsolete syntax of §4.3', () => {
  it.each<[string, string]>([
    ['Tue, 30 Jan 2024 13:39:53 +0000', '2024-01-30T13:39:53.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 +0000 (UTC)', '2026-11-19T14:06:45.000Z'], // a trailing comment
    ['Thu, 19 Nov 2026 14:06:45 +0000 (Coordinated Universal Time)', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 +0000 (a (nested) comment)', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 +0000 (escaped \\) paren)', '2026-11-19T14:06:45.000Z'],
    ['(sent) Thu, 19 Nov 2026 14:06:45 +0000', '2026-11-19T14:06:45.000Z'],
    ['Thu,(day)19(day)Nov(month)2026(year)14:06:45 +0000', '2026-11-19T14:06:45.000Z'], // comments as separators
    ['19 Nov 2026 14:06:45 +0000', '2026-11-19T14:06:45.000Z'], // no day of week
    ['Thu, 5 Nov 2026 14:06:45 +0000', '2026-11-05T14:06:45.000Z'], // one-digit day
    ['Thu, 05 Nov 2026 14:06:45 +0000', '2026-11-05T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06 +0000', '2026-11-19T14:06:00.000Z'], // no seconds
    ['thu, 19 nov 2026 14:06:45 +0000', '2026-11-19T14:06:45.000Z'], // names are case-insensitive
    ['THU, 19 NOV 2026 14:06:45 GMT', '2026-11-19T14:06:45.000Z'],
    ['Thu , 19 Nov 2026 14:06:45 +0000', '2026-11-19T14:06:45.000Z'], // obs-day-of-week: space before ","
    ['Thu,19 Nov 2026 14:06:45 +0000', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19  Nov   2026\t14:06:45   +0000', '2026-11-19T14:06:45.000Z'], // runs of whitespace
    ['Thu, 19 Nov 2026\r\n 14:06:45 +0000', '2026-11-19T14:06:45.000Z'], // folding
    ['Thu, 19 Nov 2026 14 : 06 : 45 +0000', '2026-11-19T14:06:45.000Z'], // obs-hour/minute: CFWS around ":"
    ['  Thu, 19 Nov 2026 14:06:45 +0000  ', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 19:36:45 +0530', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 06:06:45 -0800', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 -0000', '2026-11-19T14:06:45.000Z'],
    ['Fri, 20 Nov 2026 00:36:45 +1030', '2026-11-19T14:06:45.000Z'], // the offset crosses the day
    // obs-zone names
    ['Thu, 19 Nov 2026 14:06:45 UT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 GMT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 UTC', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 09:06:45 EST', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 10:06:45 EDT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 08:06:45 CST', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 09:06:45 CDT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 07:06:45 MST', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 08:06:45 MDT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 06:06:45 PST', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 07:06:45 PDT', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45GMT', '2026-11-19T14:06:45.000Z'], // obs-second's optional CFWS
    // military zones: Z is UTC; the others "SHOULD all be considered equivalent to -0000" (§4.3)
    ['Thu, 19 Nov 2026 14:06:45 Z', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 z', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 A', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 M', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 N', '2026-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 2026 14:06:45 Y', '2026-11-19T14:06:45.000Z'],
    // obs-year: 00–49 → 2000–2049, 50–99 → 1950–1999, three digits → 1900 + the year
    ['Thu, 19 Nov 26 14:06:45 +0000', '2026-11-19T14:06:45.000Z'],
    ['Fri, 19 Nov 49 14:06:45 +0000', '2049-11-19T14:06:45.000Z'],
    ['Sun, 19 Nov 50 14:06:45 +0000', '1950-11-19T14:06:45.000Z'],
    ['Fri, 19 Nov 99 14:06:45 +0000', '1999-11-19T14:06:45.000Z'],
    ['Thu, 19 Nov 126 14:06:45 +0000', '2026-11-19T14:06:45.000Z'],
    ['Mon, 1 Jan 1900 00:00:00 +0000', '1900-01-01T00:00:00.000Z'],
    ['Thu, 29 Feb 2024 23:59:59 +0000', '2024-02-29T23:59:59.000Z'],
  ])('%j → %s', (text, expected) => {
    expect(iso(parseRfc5322Date(text))).toBe(expected);
  });

  it.each<[string, RegExp]>([
    ['Fri, 19 Nov 2026 14:06:45 +0000', /day of the week/], // 19 Nov 2026 is a Thursday
    ['Thu, 29 Feb 2026 14:06:45 +0000', /February 2026 has 28 days/],
    ['Sun, 29 Feb 2025 10:00:00 +0000', /February 2025 has 28 days/],
    ['Thu, 31 Apr 2026 14:06:45 +0000', /April 2026 has 30 days/],
    ['Thu, 0 Nov 2026 14:06:45 +0000', /no day 0/],
    ['Thu, 19 Nov 2026 24:00:00 +0000', /hour 24/],
    ['Thu, 19 Nov 2026 14:60:00 +0000', /no minute 60/],
    ['Sat, 31 Dec 2016 23:59:60 +0000', /leap second/],
    ['Thu, 19 Nov 2026 14:06:45 +2400', /offset/],
    ['Thu, 19 Nov 2026 14:06:45 +0060', /offset/],
    ['Thu, 19 Nov 2026 14:06:45 IST', /zone name/], // India, Israel or Ireland: refused, not guessed
    ['Thu, 19 Nov 2026 14:06:45 CET', /zone name/],
    ['Thu, 19 Nov 2026 14:06:45 J', /zone name/], // J is no military zone
    ['Thu, 19 Nov 2026 14:06:45', /not an RFC 5322 date/], // a zone is required
    ['Thu, 19 Nov 2026 14:06:45+0000', /not an RFC 5322 date/], // numeric zone needs white space
    ['Thu, 19 Foo 2026 14:06:45 +0000', /month name/],
    ['Thx, 19 Nov 2026 14:06:45 +0000', /day name/],
    ['Thu, 19 Nov 1899 14:06:45 +0000', /before 1900/],
    ['Thu, 19 Nov 12026 14:06:45 +0000', /past 9999/],
    ['Thu, 119 Nov 2026 14:06:45 +0000', /not an RFC 5322 date/],
    ['Thu, 19 Nov 2026 4:06:45 +0000', /not an RFC 5322 date/],
    ['Thu, 19 Nov 2026 14:06:45 +0000 (unclosed', /unbalanced comment/],
    ['Thu, 19 Nov 2026 14:06:45 +0000 )', /unbalanced comment/],
    ['Thu, 19 Nov 2026\n14:06:45 +0000', /line break/], // a break not followed by white space
    ['Thu, 19 Nov 2026 14:06:45.123 +0000', /not an RFC 5322 date/],
    ['2026-11-19T14:06:45Z', /not an RFC 5322 date/],
    ['1763561205', /not an RFC 5322 date/],
    ['', /not an RFC 5322 date/],
  ])('refuses %j: %s', (text, problem) => {
    expect(parseRfc5322Date(text)).toBeNull();
    expect(rfc5322DateProblem(text)).toMatch(problem);
  });

  it('never repeats the text it refuses in its reason (upstream values stay out of messages)', () => {
    expect(rfc5322DateProblem('Thu, 19 Nov 2026 14:06:45 SECRETZONE')).not.toMatch(/SECRET/);
    expect(rfc5322DateProblem('Thu, 19 Sec 2026 14:06:45 +0000')).not.toMatch(/Sec/);
  });

  it('agrees with toUTCString for every day of a leap year and the next', () => {
    for (let ms = Date.UTC(2024, 0, 1, 13, 39, 53); ms < Date.UTC(2026, 0, 1); ms += 86_400_000) {
      const text = new Date(ms).toUTCString(); // "Tue, 30 Jan 2024 13:39:53 GMT"
      expect(parseRfc5322Date(text)?.getTime()).toBe(ms);
      expect(parseRfc5322Date(text.replace(/GMT$/, '+0000 (UTC)'))?.getTime()).toBe(ms);
      expect(parseRfc5322Date(text.replace(/GMT$/, '+0000'))?.getTime()).toBe(ms); // the form TalkStack sends
      expect(parseRfc5322Date(text.replace(/GMT$/, '-0130'))?.getTime()).toBe(ms + 90 * 60_000);
    }
  });
});

describe('parseHttpDate: RFC 9110 §5.6.7, always GMT', () => {
  const now = Date.UTC(2026, 10, 23, 12);
  it.each<[string, string]>([
    ['Sun, 06 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37.000Z'], // IMF-fixdate
    ['Sunday, 06-Nov-94 08:49:37 GMT', '1994-11-06T08:49:37.000Z'], // rfc850-date
    ['Monday, 23-Nov-26 12:00:05 GMT', '2026-11-23T12:00:05.000Z'],
    ['Sun Nov  6 08:49:37 1994', '1994-11-06T08:49:37.000Z'], // asctime-date, no zone: GMT
    ['Mon Nov 23 12:00:05 2026', '2026-11-23T12:00:05.000Z'],
  ])('%j → %s', (text, expected) => {
    expect(iso(parseHttpDate(text, now))).toBe(expected);
  });

  it.each(['Sun Nov  6 08:49:37 1995', 'Monday, 06-Nov-94 08:49:37 GMT', 'soon', '-1', ''])('refuses %j', (text) => {
    expect(parseHttpDate(text, now)).toBeNull();
  });
});
