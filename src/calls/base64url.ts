/**
 * Canonical base64url for the opaque tokens clients hand back (cursors, call ids).
 *
 * Node's decoder is lenient: it skips characters outside the alphabet (`;`, whitespace), accepts
 * `=` padding and the `+`/`/` alphabet, and ignores the unused low bits of the last character, so
 * many spellings decode to the same bytes. A token must be exactly one the server issued, so it is
 * decoded only in the one spelling Buffer#toString('base64url') gives: the URL-safe alphabet, no
 * padding (RFC 4648 §5, §3.2) and zero pad bits (§3.5, "canonical encoding").
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/**
 * The bytes `text` encodes, when `text` is canonical unpadded base64url; otherwise null (never
 * throws). Re-encoding the bytes must give `text` back: that refuses non-zero pad bits and a
 * dangling sixth bit group (a length of 4n + 1) without decoding by hand.
 */
export function decodeBase64Url(text: string): Buffer | null {
  if (!ALPHABET.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}
