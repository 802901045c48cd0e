/**
 * Deterministic ingredients for simulated call data, shared by the simulators so their data
 * interleave realistically — including instants that several providers share exactly, which
 * exercise the merged order's tie-break.
 */

/** The instant simulated history ends at; fixed so every run sees the same data. */
export const SIMULATION_END = Date.parse('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;

/** mulberry32: a small seeded PRNG, good enough for test data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

/** Instants (whole seconds) that every simulator includes, so providers tie exactly on them. */
export function sharedInstants(count = 12): number[] {
  const random = seededRandom(424242);
  return Array.from(
    { length: count },
    (_, i) => Math.floor((SIMULATION_END - (i + 1) * 2.5 * DAY - random() * DAY) / 1000) * 1000,
  );
}

/**
 * `count` call start instants over `days` days before SIMULATION_END, newest first, in whole
 * seconds, including every shared instant and a few ties within the provider itself.
 */
export function callInstants(seed: number, count: number, days = 42): number[] {
  const random = seededRandom(seed);
  const shared = sharedInstants();
  const instants: number[] = [...shared];
  while (instants.length < count) {
    const t = Math.floor((SIMULATION_END - random() * days * DAY) / 1000) * 1000;
    instants.push(t);
    // Now and then two calls of one provider start in the same second.
    if (random() < 0.03 && instants.length < count) instants.push(t);
  }
  return instants.sort((a, b) => b - a);
}

/** A plausible Indian mobile number, national format (10 digits starting 6–9). */
export function indianMobile(random: () => number): string {
  return `${pick(random, ['9', '8', '7', '6'])}${Array.from({ length: 9 }, () => Math.floor(random() * 10)).join('')}`;
}

// Real US area codes: libphonenumber can only tell a +1 number's country from a real one.
const US_AREA_CODES = ['206', '212', '312', '415', '512', '617', '628', '650', '718', '929'];

/** A plausible US number in E.164 (a real area code, exchange 2xx–9xx). */
export function usNumber(random: () => number): string {
  const d = () => Math.floor(random() * 10);
  const n = () => 2 + Math.floor(random() * 8);
  return `+1${pick(random, US_AREA_CODES)}${n()}${d()}${d()}${d()}${d()}${d()}${d()}`;
}

/** Numbers that appear at more than one provider, so a phone filter matches across providers. */
export const SHARED_NUMBERS = {
  india: '+919876543210',
  us: '+14152148508',
};

let latestArrival = SIMULATION_END;

/**
 * When a call that arrives now starts: after every call any simulator in this process holds, as
 * real arrivals are (1–60 s after the newest), so "calls arriving mid-walk" are newer than every
 * cursor across providers, not just within one.
 */
export function arrivalInstant(newestOwn: number, random: () => number): number {
  latestArrival = Math.max(latestArrival, newestOwn) + (1 + Math.floor(random() * 60)) * 1000;
  return latestArrival;
}
