/**
 * The one place Switchboard reads an instant from text: ISO 8601 / RFC 3339 date-times (the
 * DateTime scalar, Twenty2, Unpod, CINNOX and the simulators' query parameters), RFC 5322 dates
 * (TalkStack) and HTTP dates (Retry-After). Strict and time-zone free:
 *
 * - a calendar date that does not exist ("2023-02-29") is refused, never rolled over as Date.parse
 *   rolls it into March;
 * - hour 24 and second 60 are refused (JavaScript time has no leap seconds; the last one was
 *   2016-12-31 and none is scheduled);
 * - a value without an offset is refused unless its caller names the zone it is in (`zoneless`),
 *   so no result ever depends on the process's TZ.
 *
 * Each reader returns null for a refused value; the `…Problem` forms say why, for error messages,
 * without repeating the text they were given.
 */

/** What a date-time without an offset means: refused, or read as UTC (a provider's documented default). */
export type Zoneless = 'refuse' | 'utc';

const MS_PER_DAY = 86_400_000;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const isLeap = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysIn = (year: number, month: number): number => (month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!);

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (month 1–12): H. Hinnant's days_from_civil.
 * Date.UTC would read years 0–99 as 1900–1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Why a date or time of day is not a real one, or null when it is. */
function calendarProblem(year: number, month: number, day: number, hour: number, minute: number, second: number): string | null {
  if (month < 1 || month > 12) return `there is no month ${month}`;
  if (day < 1 || day > daysIn(year, month)) {
    return day < 1 ? 'there is no day 0' : `${MONTH_NAMES[month - 1]} ${year} has ${daysIn(year, month)} days`;
  }
  if (hour === 24) return 'hour 24 is not accepted: write 00:00 of the next day';
  if (hour > 23) return `there is no hour ${hour}`;
  if (minute > 59) return `there is no minute ${minute}`;
  if (second === 60) return 'second 60 (a leap second) is not accepted';
  if (second > 59) return `there is no second ${second}`;
  return null;
}

// ---------- ISO 8601 / RFC 3339 ----------

/**
 * RFC 3339 §5.6 `date-time`, with the ISO 8601 variants servers send: "T", "t" or a space between
 * date and time (RFC 3339 §5.6 note), seconds optional, any number of fractional digits, and the
 * offset as Z/z, ±hh:mm, ±hhmm or ±hh. Nothing around it: no whitespace, no week or ordinal dates,
 * no basic format ("20241225T100000Z"), no comma before the fraction.
 */
const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const EXAMPLE = 'e.g. "2024-12-25T10:00:00Z"';

/** The form nearly every provider sends ("2024-12-25T10:00:00Z", ".sss" optional): read without a match array. */
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

/** The two-digit number at `at` (the caller has checked they are digits). */
const twoDigits = (text: string, at: number): number => (text.charCodeAt(at) - 48) * 10 + text.charCodeAt(at + 1) - 48;

/**
 * The canonical form's instant, or null to take the general path (which also says why it is
 * refused). Reading dates is on every row's hot path (docs/benchmark.md, "Profile history"), so
 * this form skips the capture groups and string-to-number conversions of the general path.
 */
function readCanonicalUtc(text: string): Date | null {
  if (!CANONICAL_UTC.test(text)) return null;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  if (calendarProblem(year, month, day, hour, minute, second) !== null) return null;
  let ms = 0;
  for (let i = 20, scale = 100; i < text.length - 1; i++, scale /= 10) ms += (text.charCodeAt(i) - 48) * scale;
  return new Date(daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + ms);
}

/** The instant `text` names, or why it names none. */
function readIso(text: string, zoneless: Zoneless): Date | string {
  const canonical = readCanonicalUtc(text);
  if (canonical) return canonical;
  const m = ISO_DATE_TIME.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return `is a date without a time of day (${EXAMPLE})`;
    return `is not an ISO 8601 date-time (${EXAMPLE})`;
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const problem = calendarProblem(year, month, day, hour, minute, second);
  if (problem) return `is not a real date-time: ${problem}`;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const offsetHours = Number(m[10]);
    const offsetMins = m[11] === undefined ? 0 : Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return 'has an offset outside ±23:59';
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  } else if (m[8] === undefined && zoneless === 'refuse') {
    return `has no UTC offset: end it with Z or ±hh:mm (${EXAMPLE})`;
  }
  // Milliseconds: further digits are dropped (truncated, as Date.parse does).
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  return new Date(
    daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + ms,
  );
}

/**
 * An ISO 8601 / RFC 3339 date-time (see ISO_DATE_TIME for the forms) as a Date, or null when it is
 * not one, names a day or time that does not exist, or has no offset and `zoneless` is 'refuse'.
 */
export function parseIsoInstant(text: string, zoneless: Zoneless = 'refuse'): Date | null {
  const result = readIso(text, zoneless);
  return typeof result === 'string' ? null : result;
}

/** Why parseIsoInstant refuses `text` ("is not a real date-time: February 2023 has 28 days"), or null. */
export function isoInstantProblem(text: string, zoneless: Zoneless = 'refuse'): string | null {
  const result = readIso(text, zoneless);
  return typeof result === 'string' ? result : null;
}

// ---------- RFC 5322 (RFC 2822) ----------

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Alphabetic zones in minutes east of UTC: RFC 5322 §4.3 obs-zone, plus "UTC", whose meaning is
 * known. Single military letters are handled apart. Any other name (CET, IST…) is refused: the RFC
 * would read it as -0000, which for "IST" is 5½ hours wrong.
 */
const NAMED_ZONES: Readonly<Record<string, number>> = {
  ut: 0,
  utc: 0,
  gmt: 0,
  edt: -4 * 60,
  est: -5 * 60,
  cdt: -5 * 60,
  cst: -6 * 60,
  mdt: -6 * 60,
  mst: -7 * 60,
  pdt: -7 * 60,
  pst: -8 * 60,
};

/**
 * `text` with its comments (RFC 5322 §3.2.2: nested, with quoted-pairs) replaced by a space and its
 * folding (CRLF before whitespace) undone; null when a comment is unbalanced or a line break is
 * not folding.
 */
function uncommented(text: string): string | null {
  let out = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && depth > 0) {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')') {
      if (depth === 0) return null;
      depth--;
      if (depth === 0) out += ' ';
    } else if (depth === 0) out += c;
  }
  if (depth !== 0) return null;
  const unfolded = out.replace(/\r\n(?=[ \t])/g, '');
  return /[\r\n]/.test(unfolded) ? null : unfolded;
}

/**
 * RFC 5322 §3.3 date-time with the obsolete forms of §4.3, once comments are out: optional
 * day-of-week (with space before its comma allowed), a one- or two-digit day, month name, a year of
 * two or more digits, hh:mm with optional :ss (spaces around the colons allowed), and a numeric
 * or alphabetic zone. Names are case-insensitive (RFC 5234 §2.3).
 */
const RFC_5322 =
  /^[ \t]*(?:([a-z]{3})[ \t]*,[ \t]*)?(\d{1,2})[ \t]+([a-z]{3})[ \t]+(\d{2,})[ \t]+(\d{2})[ \t]*:[ \t]*(\d{2})(?:[ \t]*:[ \t]*(\d{2}))?(?:[ \t]+([+-])(\d{2})(\d{2})|[ \t]*([a-z]+))[ \t]*$/i;

/** The form servers mostly send ("Tue, 30 Jan 2024 13:39:53 +0000"), read without a match array. */
const CANONICAL_RFC_5322 = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

/** The canonical form's instant, or null to take the general path (which also says why it is refused). */
function readCanonicalRfc5322(text: string): Date | null {
  if (!CANONICAL_RFC_5322.test(text)) return null;
  const month = MONTHS.indexOf(text.slice(8, 11).toLowerCase()) + 1;
  const year = twoDigits(text, 12) * 100 + twoDigits(text, 14);
  const day = twoDigits(text, 5);
  const hour = twoDigits(text, 17);
  const minute = twoDigits(text, 20);
  const second = twoDigits(text, 23);
  const zoneHours = twoDigits(text, 27);
  const zoneMinutes = twoDigits(text, 29);
  if (month === 0 || year < 1900 || zoneHours > 23 || zoneMinutes > 59) return null;
  if (calendarProblem(year, month, day, hour, minute, second) !== null) return null;
  const days = daysFromCivil(year, month, day);
  if (DAY_NAMES[(((days + 4) % 7) + 7) % 7] !== text.slice(0, 3).toLowerCase()) return null;
  const offset = (text.charCodeAt(26) === 45 ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  return new Date(days * MS_PER_DAY + ((hour * 60 + minute - offset) * 60 + second) * 1000);
}

function readRfc5322(text: string): Date | string {
  const canonical = readCanonicalRfc5322(text);
  if (canonical) return canonical;
  const clean = /[()\r\n]/.test(text) ? uncommented(text) : text;
  if (clean === null) return 'has an unbalanced comment or a line break that is not folding';
  const m = RFC_5322.exec(clean);
  if (!m) return 'is not an RFC 5322 date (e.g. "Tue, 30 Jan 2024 13:39:53 +0000")';
  const [, dayName, dayText, monthText, yearText, hourText, minuteText, secondText, sign, zoneHours, zoneMinutes, zoneName] = m;
  const month = MONTHS.indexOf(monthText!.toLowerCase()) + 1;
  if (month === 0) return 'has no such month name';
  // §4.3: two-digit years 00–49 are 2000–2049, 50–99 and any three-digit year are 1900 + the year.
  let year = Number(yearText);
  if (yearText!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (yearText!.length === 3) year += 1900;
  else if (yearText!.length > 4) return 'has a year past 9999';
  if (year < 1900) return 'has a year before 1900 (RFC 5322 §3.3)';
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = secondText === undefined ? 0 : Number(secondText);
  const problem = calendarProblem(year, month, day, hour, minute, second);
  if (problem) return `is not a real date-time: ${problem}`;
  let offsetMinutes: number;
  if (sign !== undefined) {
    if (Number(zoneHours) > 23 || Number(zoneMinutes) > 59) return 'has an offset outside ±2359';
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(zoneHours) * 60 + Number(zoneMinutes));
  } else {
    const name = zoneName!.toLowerCase();
    const named = NAMED_ZONES[name];
    if (named !== undefined) offsetMinutes = named;
    // §4.3: military zones; their signs were wrong in RFC 822, so all but Z mean -0000 (UTC).
    else if (name.length === 1 && name !== 'j') offsetMinutes = 0;
    else return 'has a zone name that is not one of RFC 5322 §4.3 (or UTC)';
  }
  const days = daysFromCivil(year, month, day);
  if (dayName !== undefined) {
    const given = DAY_NAMES.indexOf(dayName.toLowerCase());
    if (given < 0) return 'has no such day name';
    if ((((days + 4) % 7) + 7) % 7 !== given) return 'has a day of the week that does not match its date';
  }
  return new Date(days * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000);
}

/**
 * An RFC 5322 (formerly RFC 2822) date-time, e.g. "Thu, 19 Nov 2026 14:06:45 +0000 (UTC)", with
 * the obsolete syntax of §4.3 (comments, folding, two- and three-digit years, zone names, military
 * zones), or null. A weekday that contradicts the date, a day or time that does not exist, a year
 * before 1900 or after 9999 and an unknown zone name are refused.
 */
export function parseRfc5322Date(text: string): Date | null {
  const result = readRfc5322(text);
  return typeof result === 'string' ? null : result;
}

/** Why parseRfc5322Date refuses `text`, or null. */
export function rfc5322DateProblem(text: string): string | null {
  const result = readRfc5322(text);
  return typeof result === 'string' ? result : null;
}

// ---------- HTTP dates ----------

/** RFC 9110 §5.6.7 obsolete forms: rfc850-date and asctime-date. */
const RFC_850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}:\d{2}:\d{2}) GMT$/;
const ASCTIME = /^([A-Z][a-z]{2}) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}:\d{2}:\d{2}) (\d{4})$/;

/**
 * An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", read by the
 * RFC 5322 reader), rfc850-date or asctime-date, all in GMT whatever the process's zone; or null.
 */
export function parseHttpDate(text: string, now: number = Date.now()): Date | null {
  const rfc850 = RFC_850.exec(text);
  if (rfc850) {
    const [, weekday, day, month, yy, time] = rfc850;
    // A two-digit year more than 50 years ahead is the latest past year with those digits.
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return parseRfc5322Date(`${weekday!.slice(0, 3)}, ${day} ${month} ${year} ${time} GMT`);
  }
  const asctime = ASCTIME.exec(text);
  if (asctime) {
    const [, weekday, month, day, time, year] = asctime;
    return parseRfc5322Date(`${weekday}, ${day!.trim()} ${month} ${year} ${time} GMT`);
  }
  return parseRfc5322Date(text);
}
