/**
 * A stream read to its end, at most `limit` bytes: the one cap both ends of Switchboard put on a
 * body — a client's request (src/graphqlOverHttp.ts) and a provider's answer (src/providers/http.ts).
 */
import type { Readable } from 'node:stream';

/**
 * The bytes of `stream`, or null once they pass `limit`: the stream is then destroyed, or with
 * `keepOpen` (a client's request, which is to be answered 413 on its socket) only no longer read.
 * Rejects with the stream's error.
 */
export function readCapped(stream: Readable, limit: number, { keepOpen = false } = {}): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        if (keepOpen) stream.off('data', onData).pause();
        else stream.destroy();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    stream.on('data', onData);
    stream.once('error', reject);
    stream.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
  });
}

/**
 * A body's bytes as UTF-8 text without a leading byte order mark: RFC 8259 §8.1 lets a JSON parser
 * ignore one, and real servers and clients send it (Buffer's decoder would keep it as U+FEFF).
 */
export function utf8Text(bytes: Buffer): string {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return bytes.toString('utf8', bom ? 3 : 0);
}
