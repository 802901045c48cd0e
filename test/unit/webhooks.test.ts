/**
 * The pure parts of outgoing webhooks (src/live/webhooks.ts): the retry schedule, and which Call
 * fields count as detail fields (sent in call.ended only).
 */
import { DETAIL_FIELDS, defaultWebhookSettings, endpointIdentity, retryDelayMs } from '../../src/live/webhooks.js';
import { queuePrefix } from '../../src/live/webhookQueue.js';
import { emptyQuery } from '../../src/calls/filter.js';

describe('retryDelayMs', () => {
  const settings = { baseDelayMs: 5_000, maxDelayMs: 600_000 };

  it('makes the first retry within 30 seconds (the contract), whatever the jitter', () => {
    expect(retryDelayMs(1, defaultWebhookSettings, 0)).toBeGreaterThan(0);
    expect(retryDelayMs(1, defaultWebhookSettings, 0.999999)).toBeLessThanOrEqual(30_000);
  });

  it('doubles each time between half and all of its ceiling, up to the longest wait', () => {
    const lowest = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => retryDelayMs(n, settings, 0));
    const highest = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => retryDelayMs(n, settings, 0.999999));
    expect(lowest).toEqual([2_500, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(highest).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000, 600_000]);
    expect(retryDelayMs(3, settings, 0.5)).toBe(15_000);
  });

  it('stays finite and capped after very many retries', () => {
    expect(retryDelayMs(10_000, settings, 0.5)).toBe(450_000);
  });
});

describe('DETAIL_FIELDS', () => {
  it('are the Call fields resolved through the adapter\'s details', () => {
    expect([...DETAIL_FIELDS].sort()).toEqual(
      ['billedDurationSeconds', 'inputParameters', 'outputParameters', 'recordings', 'transcript', 'transcriptText'].sort(),
    );
  });
});

describe('endpointIdentity (what names an endpoint and its queue in Redis)', () => {
  const base = { url: 'https://crm.example.com/hooks', filter: { ...emptyQuery, providers: ['TWILIO', 'VAPI'] as never }, types: ['CALL_ENDED', 'CALL_ADDED'] as never };

  it('is the same whatever the order of lists and filter keys, the host case and a default port', () => {
    const reordered = { url: 'https://CRM.example.com:443/hooks', filter: { providers: ['VAPI', 'TWILIO'] as never, ...Object.fromEntries(Object.entries(emptyQuery).filter(([key]) => key !== 'providers').reverse()) } as unknown as typeof emptyQuery, types: ['CALL_ADDED', 'CALL_ENDED'] as never };
    expect(endpointIdentity(reordered)).toBe(endpointIdentity(base));
    expect(queuePrefix(endpointIdentity(reordered))).toBe(queuePrefix(endpointIdentity(base)));
  });

  it('differs when the URL, the filter or the event types differ', () => {
    const others = [
      { ...base, url: 'https://crm.example.com/hooks/2' },
      { ...base, filter: { ...base.filter, providers: ['TWILIO'] as never } },
      { ...base, types: null },
    ];
    for (const other of others) expect(queuePrefix(endpointIdentity(other))).not.toBe(queuePrefix(endpointIdentity(base)));
  });

  it('puts no URL in the queue key', () => {
    expect(queuePrefix(endpointIdentity(base))).toMatch(/^sb:v1:webhook:[A-Za-z0-9_-]{22}$/);
  });
});
