/** Upstream JSON read without losing a digit (src/providers/json.ts). */
import fc from 'fast-check';
import { LosslessNumber, isSafeNumber } from 'lossless-json';
import { z } from 'zod';
import { freeJson, idText, numberText, parseUpstreamJson, quantity } from '../../src/providers/json.js';

/** Every number of `value` as the text it stands for: a double's String(), a LosslessNumber's text. */
const texts = (value: unknown): unknown =>
  value instanceof LosslessNumber
    ? `#${value.value}`
    : typeof value === 'number'
      ? `#${String(value)}`
      : Array.isArray(value)
        ? value.map(texts)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, texts(v)]))
          : value;

describe('parseUpstreamJson', () => {
  it.each([
    ['{"id": 9007199254740993}', { id: '#9007199254740993' }],
    ['{"id": 9007199254740992}', { id: '#9007199254740992' }], // 2^53: not safe either
    ['{"id": 9007199254740991}', { id: '#9007199254740991' }], // the largest safe integer: a number
    ['{"id": -9007199254740993}', { id: '#-9007199254740993' }],
    ['{"ids": [1, 9007199254740993, 2]}', { ids: ['#1', '#9007199254740993', '#2'] }],
    ['{"id":\n\t 12345678901234567890123}', { id: '#12345678901234567890123' }],
    ['[9007199254740993]', ['#9007199254740993']],
    ['9007199254740993', '#9007199254740993'],
    ['  9007199254740993 ', '#9007199254740993'],
    ['{"cost": 0.07700000000000000001}', { cost: '#0.07700000000000000001' }],
    ['{"cost": 1234567.891234567}', { cost: '#1234567.891234567' }], // 16 digits, no run of 16
    ['{"x": 1e400}', { x: '#1e400' }], // Infinity for JSON.parse
    ['{"x": 1e-400}', { x: '#1e-400' }], // 0 for JSON.parse
    ['{"x": 1.5e-7, "y": 0.077, "z": 12}', { x: '#1.5e-7', y: '#0.077', z: '#12' }],
    ['{"s": "9007199254740993", "t": "a:12345678901234567"}', { s: '9007199254740993', t: 'a:12345678901234567' }],
  ])('%s keeps every digit', (text, expected) => {
    expect(texts(parseUpstreamJson(text))).toEqual(expected);
  });

  it('gives what JSON.parse gives for every body whose numbers a double holds (both paths)', () => {
    const doublesHold = (value: unknown): boolean =>
      typeof value === 'number'
        ? isSafeNumber(String(value))
        : value !== null && typeof value === 'object'
          ? Object.values(value).every(doublesHold)
          : true;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }).filter(doublesHold), fc.boolean(), (value, forceLossless) => {
        // A 16-digit number (still safe) sends the body down the lossless path without changing it.
        const body = JSON.stringify(forceLossless ? { v: value, pad: [1234567890123456] } : { v: value });
        expect(parseUpstreamJson(body)).toEqual(JSON.parse(body));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps any integer digit for digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), (n) => {
        const parsed = parseUpstreamJson(`{"id": ${n}}`) as { id: unknown };
        expect(idText.parse(parsed.id)).toBe(n.toString());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the last of repeated keys and a "__proto__" key as a plain key, as JSON.parse does', () => {
    const text = '{"a": 1, "a": 9007199254740993, "__proto__": {"polluted": 1}}';
    const parsed = parseUpstreamJson(text) as Record<string, unknown>;
    expect(texts(parsed)).toEqual({ a: '#9007199254740993', ['__proto__']: { polluted: '#1' } });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect((parsed as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it.each(['{"id": 9007199254740993', '{"id": 12,}', '{"id": 01}', '', '\uFEFF{}'])('throws on %j, on either path', (text) => {
    expect(() => parseUpstreamJson(text)).toThrow();
  });
});

describe('field types', () => {
  const parse = (json: string) => (parseUpstreamJson(`{"v": ${json}}`) as { v: unknown }).v;

  it('idText: strings as they are, numbers as their digits', () => {
    expect(idText.parse('call_1')).toBe('call_1');
    expect(idText.parse(parse('919876543210'))).toBe('919876543210');
    expect(idText.parse(parse('9007199254740993'))).toBe('9007199254740993');
    expect(idText.parse(parse('100000000000000000000000'))).toBe('100000000000000000000000'); // never "1e+23"
    expect(idText.safeParse(true).success).toBe(false);
    expect(idText.safeParse({}).success).toBe(false);
  });

  it('numberText: the decimal as sent, never rounded; strings refused', () => {
    expect(numberText.parse(parse('0.077'))).toBe('0.077');
    expect(numberText.parse(parse('0.07700000000000000001'))).toBe('0.07700000000000000001');
    expect(numberText.safeParse('0.077').success).toBe(false);
  });

  it('quantity: a number, even from a LosslessNumber', () => {
    expect(quantity.parse(parse('94'))).toBe(94);
    expect(quantity.parse(parse('94.00000000000000001'))).toBe(94);
    expect(quantity.parse(parse('12345678901234567890'))).toBe(12345678901234567000);
    expect(quantity.safeParse('94').success).toBe(false);
  });

  it('freeJson: inexact numbers as their text at any depth, the rest untouched (the same object)', () => {
    expect(freeJson.parse(parseUpstreamJson('{"a": [1, {"b": 9007199254740993}], "c": "x", "d": null}'))).toEqual({
      a: [1, { b: '9007199254740993' }],
      c: 'x',
      d: null,
    });
    const plain = { a: [1, { b: 2 }] };
    expect(freeJson.parse(plain)).toBe(plain);
    const keyed = freeJson.parse(parseUpstreamJson('{"__proto__": 9007199254740993}')) as object;
    expect(Object.getPrototypeOf(keyed)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(keyed, '__proto__')?.value).toBe('9007199254740993');
  });

  it('work inside zod objects as the schemas use them', () => {
    const row = z.object({ id: idText.nullish(), seconds: quantity.nullish() });
    expect(row.parse(parseUpstreamJson('{"id": 9007199254740993, "seconds": 3}'))).toEqual({ id: '9007199254740993', seconds: 3 });
    expect(row.parse({ id: null })).toEqual({ id: null });
  });
});
