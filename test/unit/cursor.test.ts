/**
 * The cursor signature's HMAC: prepared pads and one-shot hashes must equal Node's Hmac exactly,
 * for every key length (shorter than, equal to and longer than a block) and any message.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { HmacSha256 } from '../../src/calls/cursor.js';

describe('HmacSha256', () => {
  const messages = [
    '',
    '1\nanonymous\n{"providers":["TWENTY2"]}\neyJ2IjoxLCJwIjpbMTczMTAwMDAwMDAwMCwwLCJ0d2VudHkyL2RlZmF1bHQiLCJjYWxsXzEiXX0',
    'filter: “ünïcødé” 📞 +44 20 7946 0958',
    'x'.repeat(200_000), // past the scratch buffer: the fallback path
  ];

  test.each([0, 1, 32, 63, 64, 65, 200])('equals createHmac with a %i-byte key', (length) => {
    const secret = randomBytes(length);
    const mac = new HmacSha256(secret);
    for (const message of messages) {
      expect(mac.digest(message).toString('hex')).toBe(createHmac('sha256', secret).update(message).digest('hex'));
    }
    // Reused scratch: a long message then a short one leaves nothing behind.
    expect(mac.digest('ab').toString('hex')).toBe(createHmac('sha256', secret).update('ab').digest('hex'));
  });
});
