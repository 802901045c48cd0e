/**
 * Rows read one at a time (src/providers/rows.ts): a row that does not read is placed and named
 * by what still reads of it, never by its content.
 */
import { z } from 'zod';
import { InvalidRowError } from '../../src/errors.js';
import { type RowReader, plausibleId, problemOf, readField, readRow, readRows } from '../../src/providers/rows.js';

const schema = z.object({
  id: z.string().min(1),
  at: z.string().transform((text, ctx) => {
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) ctx.addIssue({ code: 'custom', message: 'expected a date' });
    return Number.isNaN(ms) ? z.NEVER : new Date(ms);
  }),
  status: z.enum(['done', 'busy']),
});
const reader: RowReader<z.infer<typeof schema>> = {
  schema,
  id: (raw) => plausibleId(readField(schema.shape.id, raw.id)),
  startedAt: (raw) => readField(schema.shape.at, raw.at),
};
const ref = { provider: 'TALKSTACK', connection: 'us' } as const;
const good = (id: string) => ({ id, at: '2026-11-19T14:06:45Z', status: 'done' });

describe('readRows', () => {
  it('keeps the readable rows in order and places the others by index', () => {
    const items = [good('a'), { ...good('b'), at: 'SECRET-VALUE' }, good('c'), 42, { ...good('e'), status: 'SECRET-WORD' }];
    const { rows, invalid } = readRows(items, reader, { ref, path: 'calls' });
    expect(rows.map((row) => row.id)).toEqual(['a', 'c']);
    expect(invalid.map((row) => [row.index, row.key, row.startedAt?.toISOString() ?? null, row.error.problem])).toEqual([
      [1, 'b', null, 'calls[1].at: expected a date'],
      [3, null, null, 'calls[3]: expected object, received number'],
      [4, 'e', '2026-11-19T14:06:45.000Z', 'calls[4].status: expected one of "done"|"busy"'],
    ]);
    for (const row of invalid) {
      expect(row.error).toBeInstanceOf(InvalidRowError);
      expect(row.error.code).toBe('PROVIDER_DATA_INVALID');
      expect([row.error.provider, row.error.connection]).toEqual(['TALKSTACK', 'us']);
      expect(row.error.message).not.toMatch(/SECRET/);
    }
    expect(invalid[0]!.error.message).toBe(
      'TalkStack connection "us" sent a call Switchboard could not read (call id b), left out of the answer: calls[1].at: expected a date',
    );
  });

  it('names rows of a bare array by index alone', () => {
    const { invalid } = readRows([good('a'), { ...good('b'), at: 'x' }], reader, { ref, path: '' });
    expect(invalid[0]!.error.problem).toBe('[1].at: expected a date');
  });

  it('tells one bad row from another by a digest of its content, the same for the same row', () => {
    const bad = (id: string) => ({ ...good(id), at: 'x' });
    const first = readRows([bad('a'), bad('b')], reader, { ref, path: 'calls' }).invalid;
    const again = readRows([good('z'), bad('a')], reader, { ref, path: 'calls' }).invalid;
    expect(first[0]!.error.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(first[0]!.error.fingerprint).not.toBe(first[1]!.error.fingerprint);
    expect(again[0]!.error.fingerprint).toBe(first[0]!.error.fingerprint);
  });

  it('repeats no id that is not one: empty, too long, an object', () => {
    expect(plausibleId('')).toBeNull();
    expect(plausibleId('x'.repeat(201))).toBeNull();
    expect(plausibleId({ id: 'a' })).toBeNull();
    expect(plausibleId(9007199254740991)).toBe('9007199254740991');
    const { invalid } = readRows([{ ...good('x'.repeat(300)), at: 'x' }], reader, { ref, path: 'calls' });
    expect(invalid[0]!.error.providerCallId).toBeNull();
    expect(invalid[0]!.error.message).not.toContain('xxxx');
  });
});

describe('readRow', () => {
  it('a body that is the row: the row, or its error named by the id asked for when its own does not read', () => {
    expect(readRow(good('a'), reader, { ref, path: '' }, 'a')).toMatchObject({ id: 'a' });
    const error = readRow({ ...good('a'), id: 7 }, reader, { ref, path: '' }, 'asked') as InvalidRowError;
    expect(error).toBeInstanceOf(InvalidRowError);
    expect(error.providerCallId).toBe('asked');
    expect(error.problem).toBe('id: expected string, received number');
    const nested = readRow({ ...good('a'), at: 'x' }, reader, { ref, path: 'call' }, 'asked') as InvalidRowError;
    expect(nested.problem).toBe('call.at: expected a date');
    expect(nested.providerCallId).toBe('a');
  });
});

describe('problemOf on a response envelope', () => {
  it('follows a root union down to the first offending path, without the value', () => {
    const body = z.union([z.object({ calls: z.array(z.object({ callSid: z.string() })) }), z.object({ message: z.string() })]);
    const result = body.safeParse({ calls: [{ callSid: 'CA1' }, { sid: 'secret-value' }] });
    expect(problemOf(result.error!, '', '(body)')).toBe('calls[1].callSid: expected string, received undefined');
    expect(problemOf(z.object({ a: z.string() }).safeParse(5).error!, '', '(body)')).toBe('(body): expected object, received number');
  });
});
