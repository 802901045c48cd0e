/**
 * Opaque tokens a client hands back — cursors and global call ids — are accepted only as the exact
 * string the server issued: one token, one spelling. Node's base64url decoding is lenient (it
 * skips `;`, `=`, whitespace, reads `+`/`/`, ignores the pad bits of the last character), so
 * without canonical decoding several spellings reached the same signature bytes.
 */
import fc from 'fast-check';
import { decodeBase64Url } from '../../src/calls/base64url.js';
import { type CursorBinding, type CursorPayload, CursorCodec } from '../../src/calls/cursor.js';
import { decodeCallId, encodeCallId } from '../../src/calls/ids.js';
import { type CallRecord, PROVIDERS } from '../../src/calls/model.js';
import { BadInputError } from '../../src/errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Characters a tampered token might carry: the alphabet, the other alphabet, padding, separators, whitespace. */
const CHARACTERS = [...ALPHABET, '+', '/', '=', '.', ';', ' ', '\t', '\n', '%', ':', 'é'];

/** Every token within one edit of `token`: each character replaced or removed, one inserted anywhere. */
function oneEditAway(token: string): string[] {
  const out = new Set<string>();
  for (let i = 0; i <= token.length; i++) {
    for (const c of CHARACTERS) out.add(token.slice(0, i) + c + token.slice(i)); // inserted
    if (i === token.length) break;
    out.add(token.slice(0, i) + token.slice(i + 1)); // removed
    for (const c of CHARACTERS) if (c !== token[i]) out.add(token.slice(0, i) + c + token.slice(i + 1)); // replaced
  }
  out.delete(token);
  return [...out];
}

/** Spellings a lenient decoder reads as the same bytes. */
function respellings(token: string): string[] {
  const parts = token.split('.');
  const pad = (part: string) => part + '='.repeat((4 - (part.length % 4)) % 4 || 4);
  return [
    `${token}=`,
    `${token}==`,
    `${token};`,
    ` ${token}`,
    `${token} `,
    `${token}\n`,
    `${token.slice(0, 10)} ${token.slice(10)}`,
    `${token.slice(0, 10)}\n${token.slice(10)}`,
    token.replaceAll('-', '+').replaceAll('_', '/'),
    token.replace(/[-_]/, (c) => (c === '-' ? '+' : '/')),
    parts.map(pad).join('.'),
    ...parts.map((_, i) => parts.map((p, j) => (i === j ? pad(p) : p)).join('.')),
    // The last character with different pad bits: every character that shares its high bits.
    ...[...ALPHABET].map((c) => token.slice(0, -1) + c),
    ...parts.flatMap((_, i) => [...ALPHABET].map((c) => parts.map((p, j) => (i === j ? p.slice(0, -1) + c : p)).join('.'))),
  ].filter((t) => t !== token);
}

function refused(decode: () => unknown): boolean {
  try {
    decode();
    return false;
  } catch (error) {
    if (error instanceof BadInputError) return true;
    throw error;
  }
}

describe('decodeBase64Url', () => {
  it('gives the bytes of a canonical spelling, and null for every other', () => {
    for (const bytes of [[], [0], [0xff], [1, 2], [0xfb, 0xff], [1, 2, 3], [0xfb, 0xef, 0xbe, 0x00]]) {
      const text = Buffer.from(bytes).toString('base64url');
      expect([...decodeBase64Url(text)!]).toEqual(bytes);
    }
    expect(decodeBase64Url('_-8')).toEqual(Buffer.from([0xff, 0xef])); // canonical: 8 = 111100, pad bits 00
    for (const bad of ['_-9', '_-_', 'AB', 'AAA=', 'AA==', 'A', 'AAAAA', '+-8A', '/w', 'AA AA', 'AAAA;', 'AAAA\n', 'AAAA.']) {
      expect(decodeBase64Url(bad)).toBeNull();
    }
  });
});

describe('cursors', () => {
  const codec = new CursorCodec(Buffer.from('cursor-test-secret-0123456789abcdef'));
  const binding: CursorBinding = { filter: '{"providers":["UNPOD"]}', scope: 'tenant-a' };
  const payload: CursorPayload = {
    position: [1763600000000, 1, 'default', 'call_42'],
    hints: { 'twenty2/default': 42 },
    missing: ['cinnox/default'],
  };
  // Pinned: the format is the contract between a server and the cursors its clients hold.
  const CURSOR =
    'eyJ2IjoxLCJwIjpbMTc2MzYwMDAwMDAwMCwxLCJkZWZhdWx0IiwiY2FsbF80MiJdLCJoIjp7InR3ZW50eTIvZGVmYXVsdCI6NDJ9LCJtIjpbImNpbm5veC9kZWZhdWx0Il19.1AN4VPEXGV6aRH3Mf6Z8bA';

  it('encodes a fixed payload and secret to a fixed string, and decodes it back', () => {
    expect(codec.encode(payload, binding)).toBe(CURSOR);
    expect(codec.decode(CURSOR, binding, 'after')).toEqual(payload);
  });

  it('refuses every respelling: padding, whitespace, appended characters, the +/ alphabet, other pad bits', () => {
    const spellings = respellings(CURSOR);
    expect(spellings.length).toBeGreaterThan(100);
    for (const spelling of spellings) {
      if (!refused(() => codec.decode(spelling, binding, 'after'))) throw new Error(`accepted ${JSON.stringify(spelling)}`);
    }
  });

  it('refuses every token one character away from an issued one', () => {
    const edits = oneEditAway(CURSOR);
    expect(edits.length).toBeGreaterThan(10_000);
    for (const edit of edits) {
      if (!refused(() => codec.decode(edit, binding, 'after'))) throw new Error(`accepted ${JSON.stringify(edit)}`);
    }
  });

  it('refuses it as a message naming the argument', () => {
    expect(() => codec.decode(`${CURSOR}=`, binding, 'before')).toThrow('Argument "before": is not a cursor this server issued for this query');
  });
});

describe('call ids', () => {
  const call = { provider: 'UNPOD', connection: 'default', key: 'call_42', startedAt: new Date(1763600000000) } as CallRecord;
  const ID = 'WyJDYWxsIiwiVU5QT0QiLCJkZWZhdWx0IiwiY2FsbF80MiIsMTc2MzYwMDAwMDAwMF0';
  const same = (decoded: ReturnType<typeof decodeCallId>) =>
    decoded.provider === 'UNPOD' && decoded.connection === 'default' && decoded.key === 'call_42' && decoded.startedAt.getTime() === 1763600000000;

  it('encodes a fixed call to a fixed id, and decodes it back', () => {
    expect(encodeCallId(call)).toBe(ID);
    expect(decodeCallId(ID)).toEqual({ provider: 'UNPOD', connection: 'default', key: 'call_42', startedAt: new Date(1763600000000) });
  });

  it('refuses every respelling of an id', () => {
    for (const spelling of respellings(ID)) {
      if (!refused(() => decodeCallId(spelling))) throw new Error(`accepted ${JSON.stringify(spelling)}`);
    }
  });

  it('refuses other JSON spellings of the same id, and bytes that are not UTF-8', () => {
    const json = (text: string) => Buffer.from(text).toString('base64url');
    for (const text of [
      '["Call", "UNPOD", "default", "call_42", 1763600000000]',
      '["Call","UNPOD","default","call_42",1763600000000] ',
      '["Call","UNPOD","default","call_\\u0034\\u0032",1763600000000]',
      '["Call","UNPOD","default","call_42",1.7636e12]',
      '["Call","UNPOD","default","call_42",1763600000000.0]',
    ]) {
      expect(() => decodeCallId(json(text))).toThrow(BadInputError);
    }
    const notUtf8 = Buffer.concat([Buffer.from('["Call","UNPOD","default","call_'), Buffer.from([0xff]), Buffer.from('",1763600000000]')]);
    expect(() => decodeCallId(notUtf8.toString('base64url'))).toThrow(BadInputError);
    // Out of a Date's range: refused, not an Invalid Date further down.
    expect(() => decodeCallId(json('["Call","UNPOD","default","call_42",9000000000000000]'))).toThrow(BadInputError);
  });

  it('never reads a token one character away as the same call', () => {
    for (const edit of oneEditAway(ID)) {
      let decoded: ReturnType<typeof decodeCallId>;
      try {
        decoded = decodeCallId(edit);
      } catch (error) {
        if (error instanceof BadInputError) continue;
        throw error;
      }
      // Another call's id, in that call's one spelling.
      if (same(decoded)) throw new Error(`accepted ${JSON.stringify(edit)} as ${ID}`);
      expect(encodeCallId({ ...decoded } as CallRecord)).toBe(edit);
    }
  });
});

describe('property: a mutated token is refused, or is exactly an issued one', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), char: fc.constantFrom(...CHARACTERS) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), char: fc.constantFrom(...CHARACTERS) }),
    fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), char: fc.constant('') }),
    fc.record({ kind: fc.constant('append' as const), at: fc.constant(0), char: fc.constantFrom('=', '==', ';', ' ', '\n', '.', 'A') }),
    fc.record({ kind: fc.constant('alphabet' as const), at: fc.constant(0), char: fc.constant('') }),
  );
  function mutate(token: string, m: { kind: string; at: number; char: string }): string {
    const at = m.at % (token.length + 1);
    if (m.kind === 'replace') return token.slice(0, Math.min(at, token.length - 1)) + m.char + token.slice(Math.min(at, token.length - 1) + 1);
    if (m.kind === 'insert') return token.slice(0, at) + m.char + token.slice(at);
    if (m.kind === 'remove') return token.slice(0, Math.min(at, token.length - 1)) + token.slice(Math.min(at, token.length - 1) + 1);
    if (m.kind === 'append') return token + m.char;
    return token.replaceAll('-', '+').replaceAll('_', '/');
  }
  const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });
  const runs = { numRuns: Number(process.env.TOKEN_RUNS ?? 1000), seed: Number(process.env.PROPERTY_SEED ?? 20261124) };

  it('cursors', () => {
    const text = fc.string({ unit: 'binary', maxLength: 30 });
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.record({ filter: text, scope: text }),
        fc.record({
          position: fc.tuple(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.integer({ min: 0, max: 3 }), text, text),
          hints: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.nat()),
          missing: fc.array(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 3 }),
        }),
        mutations,
        (secret, binding, payload, ms) => {
          const codec = new CursorCodec(Buffer.from(secret));
          const issued = codec.encode(payload as CursorPayload, binding);
          const mutated = ms.reduce(mutate, issued);
          return refused(() => codec.decode(mutated, binding, 'after')) || mutated === issued;
        },
      ),
      runs,
    );
  });

  it('call ids', () => {
    fc.assert(
      fc.property(
        fc.record({
          provider: fc.constantFrom(...PROVIDERS),
          connection: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
          key: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
          startedAt: fc.integer({ min: -8.64e15, max: 8.64e15 }).map((ms) => new Date(ms)),
        }),
        mutations,
        (call, ms) => {
          const issued = encodeCallId(call as CallRecord);
          expect(decodeCallId(issued)).toEqual(call);
          const mutated = ms.reduce(mutate, issued);
          let decoded: ReturnType<typeof decodeCallId>;
          try {
            decoded = decodeCallId(mutated);
          } catch (error) {
            if (error instanceof BadInputError) return true;
            throw error;
          }
          // Accepted: the one spelling of the call it names, so the issued call only if unchanged.
          return encodeCallId(decoded as CallRecord) === mutated;
        },
      ),
      runs,
    );
  });
});

describe('the cursor codec, pinned byte for byte', () => {
  const codec = new CursorCodec(Buffer.alloc(32, 7));
  const binding: CursorBinding = { filter: '[null,null,null,null,null,null]', scope: 'anonymous' };
  const payload: CursorPayload = { position: [1767225600000, 1, 'default', 'call-42'], hints: { 'unpod/default': 3 } };
  // Checked once against createHmac('sha256', key) over `1\nanonymous\n<filter>\n<data>`, first 16 bytes.
  const PINNED =
    'eyJ2IjoxLCJwIjpbMTc2NzIyNTYwMDAwMCwxLCJkZWZhdWx0IiwiY2FsbC00MiJdLCJoIjp7InVucG9kL2RlZmF1bHQiOjN9fQ.PCDr2AyfWMQTWi6Uc4LhvQ';

  it('encodes a fixed payload and secret to one literal string', () => {
    expect(codec.encode(payload, binding)).toBe(PINNED);
  });

  it('decodes the literal back to the payload', () => {
    expect(codec.decode(PINNED, binding, 'after')).toEqual(payload);
  });

  it('refuses a correctly signed cursor of an older format as stale, not misread', () => {
    // `{"v":0,"offset":40}`, signed like PINNED.
    const stale = 'eyJ2IjowLCJvZmZzZXQiOjQwfQ.rCC80HydToljYwUiiptFfg';
    expect(() => codec.decode(stale, binding, 'after')).toThrow(/"after".*older version/);
  });

  it('refuses the literal with any one byte altered', () => {
    for (let i = 0; i < PINNED.length; i++) {
      const altered = PINNED.slice(0, i) + (PINNED[i] === 'A' ? 'B' : 'A') + PINNED.slice(i + 1);
      expect(() => codec.decode(altered, binding, 'after')).toThrow(BadInputError);
    }
  });
});
