/**
 * Cursors: a position in the merged order, not an offset, so they do not drift when calls arrive.
 *
 * A cursor holds the position of its edge ([startedAt, provider rank, connection, key]) and, for
 * connections the core resumes by offset (providers that cannot filter by time), how many of that
 * connection's rows came up to the position — a hint the core verifies before trusting.
 *
 * Cursors are versioned and signed with HMAC-SHA256 over the payload, the filter they were issued
 * for and the client's scope: an altered cursor, one from another filter, another API key or an
 * older version is refused with BAD_USER_INPUT. Both parts are read as canonical base64url
 * (./base64url.ts), so a cursor is accepted only as the exact string the server issued.
 *
 * A cursor also names the connections that failed on the page that issued it or on any earlier page
 * of the same walk (`m`): their calls before the cursor were never returned, so every later page
 * says so with an error instead of silently skipping them. Nothing time-dependent goes in, so the same page
 * asked twice gives byte-identical cursors.
 *
 * A page the scan budget cut short ends at a frontier: a position between two instants (rank -1,
 * see `cutBefore`) rather than an edge's. A `last` scan cut short before it reached the oldest
 * calls ends at the end of the list, remembering how far it read (`r`); a backward page, the span
 * its windows had grown to (`w`), so the next page does not start again from one hour.
 */
import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { BadInputError } from '../errors.js';
import { decodeBase64Url } from './base64url.js';
import type { Position } from './model.js';

const VERSION = 1;

export interface CursorPayload {
  position: Position;
  /** Offset hints per connection label ("twenty2/default": 42). */
  hints: Record<string, number>;
  /** Labels of connections that failed on this walk's pages up to this cursor. */
  missing?: readonly string[];
  /**
   * Only on the end-of-list cursor of a `last` scan the budget stopped: the scan has read every
   * call newer than this position; `hints` are this position's.
   */
  resume?: Position;
  /** Only on the frontier cursor of a backward page cut short: the span (ms) its windows start with. */
  span?: number;
}

const positionSchema = z.tuple([z.number().int(), z.number().int().min(-1), z.string(), z.string()]);

const payloadSchema = z.object({
  v: z.literal(VERSION),
  p: positionSchema,
  h: z.record(z.string(), z.number().int().min(0)).optional(),
  m: z.array(z.string().max(200)).max(100).optional(),
  r: positionSchema.optional(),
  w: z.number().int().min(1).optional(),
});

/** What a cursor is bound to besides its payload: the normalised filter and the caller's scope. */
export interface CursorBinding {
  filter: string;
  scope: string;
}

export interface CursorCodecOptions {
  /**
   * The key was drawn at random at start-up (no SWITCHBOARD_CURSOR_SECRET): a cursor from before a
   * restart, or from another replica, fails its signature, and the refusal says so.
   */
  ephemeralSecret?: boolean;
}

export class CursorCodec {
  private readonly mac: HmacSha256;
  private readonly signatureRefusal: string;

  constructor(secret: Buffer, options: CursorCodecOptions = {}) {
    this.mac = new HmacSha256(secret);
    this.signatureRefusal = options.ephemeralSecret
      ? 'altered, issued for another filter or API key, or issued before this server restarted or by another replica: ' +
        'SWITCHBOARD_CURSOR_SECRET is not set, so each process signs cursors with a key of its own; start again from the first page'
      : 'altered, or issued for another filter or API key';
  }

  encode(payload: CursorPayload, binding: CursorBinding): string {
    // Written by hand, byte for byte what JSON.stringify({ v, p, h?, m?, r?, w? }) gives, without building
    // that object: a page encodes one cursor per edge (docs/benchmark.md, "Profile history").
    let json = `{"v":${VERSION},"p":${JSON.stringify(payload.position)}`;
    for (const _ in payload.hints) {
      json += `,"h":${JSON.stringify(payload.hints)}`;
      break;
    }
    if (payload.missing && payload.missing.length > 0) json += `,"m":${JSON.stringify(payload.missing)}`;
    if (payload.resume) json += `,"r":${JSON.stringify(payload.resume)}`;
    if (payload.span) json += `,"w":${payload.span}`;
    const data = Buffer.from(`${json}}`).toString('base64url');
    return `${data}.${this.sign(data, binding).toString('base64url')}`;
  }

  /** Decodes `cursor`, or throws BAD_USER_INPUT naming `argument`. */
  decode(cursor: string, binding: CursorBinding, argument: string): CursorPayload {
    const refuse = (why: string): never => {
      throw new BadInputError(argument, `is not a cursor this server issued for this query (${why})`);
    };
    const [data, signature, extra] = cursor.split('.');
    if (!data || !signature || extra !== undefined || cursor.length > 2048) refuse('malformed');
    // The signature in its one canonical spelling: Node's lenient decoding maps `=`, `;` or a
    // changed last character onto the same bytes (the HMAC covers `data` as text already).
    const given = decodeBase64Url(signature as string);
    const expected = this.sign(data as string, binding);
    if (!given || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      refuse(this.signatureRefusal);
    }
    const bytes = decodeBase64Url(data as string);
    let json: unknown;
    try {
      if (!bytes) throw new Error('not canonical base64url');
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return refuse('malformed');
    }
    const parsed = payloadSchema.safeParse(json);
    if (!parsed.success) return refuse('from an older version of Switchboard; start again from the first page');
    const { p, h, m, r, w } = parsed.data;
    return { position: p, hints: h ?? {}, ...(m ? { missing: m } : {}), ...(r ? { resume: r } : {}), ...(w ? { span: w } : {}) };
  }

  private sign(data: string, binding: CursorBinding): Buffer {
    return this.mac.digest(`${VERSION}\n${binding.scope}\n${binding.filter}\n${data}`).subarray(0, 16);
  }
}

const BLOCK = 64; // SHA-256's block size, in bytes
const SCRATCH = 16 * 1024;

/**
 * HMAC-SHA256 (RFC 2104) with the key's pads prepared once: two one-shot hashes per signature
 * instead of a Hmac object, whose key set-up is paid once per signature, one per edge
 * (docs/benchmark.md, "Profile history"). Equal to `createHmac('sha256', secret)` byte for byte (unit test).
 */
export class HmacSha256 {
  /** ipad-key ‖ message, written in place (one thread: no request can interleave). */
  private readonly inner = Buffer.allocUnsafe(SCRATCH);
  /** opad-key ‖ inner digest. */
  private readonly outer = Buffer.allocUnsafe(BLOCK + 32);

  constructor(private readonly secret: Buffer) {
    const key = Buffer.alloc(BLOCK);
    (secret.length > BLOCK ? createHash('sha256').update(secret).digest() : secret).copy(key);
    for (let i = 0; i < BLOCK; i++) {
      this.inner[i] = key[i]! ^ 0x36;
      this.outer[i] = key[i]! ^ 0x5c;
    }
  }

  digest(message: string): Buffer {
    const written = this.inner.write(message, BLOCK, 'utf8');
    // Nearly full: the message may not have fitted (a cursor never comes close).
    if (written > SCRATCH - BLOCK - 4) return createHmac('sha256', this.secret).update(message).digest();
    hash('sha256', this.inner.subarray(0, BLOCK + written), 'buffer').copy(this.outer, BLOCK);
    return hash('sha256', this.outer, 'buffer');
  }
}
