import type { CallStatus } from '../../src/calls/model.js';
import { parseUpstreamJson } from '../../src/providers/json.js';
import { START_SLACK_MS, createdAtFiltersFor, decodeVapiToken, encodeVapiToken } from '../../src/providers/vapi/client.js';
import { STATUS_TABLE, directionOf, durationOf, statusOf, toCallRecord, toMoney } from '../../src/providers/vapi/map.js';
import { type VapiCall, vapiCallSchema } from '../../src/providers/vapi/schema.js';

/** The page's illustrative Call object (docs/providers/vapi.md). */
const example = {
  id: '3f6a1b2c-9d4e-4c1a-8f7b-2a9e5c0d1e4f',
  orgId: '8b0f2c55-0a3d-4e7e-9a61-5a0c7c9f1d22',
  type: 'inboundPhoneCall',
  status: 'ended',
  endedReason: 'customer-ended-call',
  createdAt: '2026-05-04T09:12:03.115Z',
  updatedAt: '2026-05-04T09:16:41.902Z',
  startedAt: '2026-05-04T09:12:05.730Z',
  endedAt: '2026-05-04T09:16:30.204Z',
  assistantId: 'a1c3e5f7-1111-4d2b-9c3a-77e1d0b9a001',
  phoneNumberId: '0c9d8e7f-2222-4a1b-8c7d-55aa66bb77cc',
  customer: { number: '+14155550123', name: 'Jane Doe' },
  cost: 0.1873,
  costBreakdown: { transport: 0.0221, stt: 0.0302, llm: 0.041, tts: 0.05, vapi: 0.044, total: 0.1873 },
  costs: [{ type: 'transport', provider: 'twilio', minutes: 4.41, cost: 0.0221 }],
  assistantOverrides: { variableValues: { firstName: 'Jane' } },
  artifact: {
    transcript: 'AI: Hello…\nUser: Hi…',
    recordingUrl: 'https://storage.vapi.ai/mono.wav',
    stereoRecordingUrl: 'https://storage.vapi.ai/stereo.wav',
    presignedMonoUrl: 'https://s3.example/mono.wav?X-Amz-Signature=abc',
    presignedStereoUrl: 'https://s3.example/stereo.wav?X-Amz-Signature=abc',
    presignedUrlsExpiresAt: '2026-05-04T10:16:41.902Z',
    logUrl: 'https://storage.vapi.ai/log',
    messages: [],
  },
  analysis: { summary: 'Caller asked about opening hours.', successEvaluation: 'true', structuredData: { booked: true } },
};

const parse = (row: unknown): VapiCall => vapiCallSchema.parse(row);
const context = { connection: 'default', baseUrl: 'https://api.vapi.ai' };
const record = (overrides: Record<string, unknown> = {}, agentNumber: string | null = '+14155550199') =>
  toCallRecord(parse({ ...example, ...overrides }), agentNumber, context);

describe('Vapi status (contract row and endedReason refinements)', () => {
  it.each<[string, CallStatus]>([
    ['scheduled', 'QUEUED'],
    ['queued', 'QUEUED'],
    ['ringing', 'RINGING'],
    ['in-progress', 'IN_PROGRESS'],
    ['forwarding', 'IN_PROGRESS'],
  ])('%s → %s, verbatim as providerStatus', (word, status) => {
    const call = record({ status: word, endedReason: undefined });
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe(word);
  });

  it('holds only the contract words', () => {
    expect(Object.keys(STATUS_TABLE).sort()).toEqual(['ended', 'forwarding', 'in-progress', 'queued', 'ringing', 'scheduled']);
  });

  it.each<[string, CallStatus]>([
    ['customer-busy', 'BUSY'],
    ['customer-did-not-answer', 'NO_ANSWER'],
    ['manually-canceled', 'CANCELED'],
    ['scheduled-call-deleted', 'CANCELED'],
    ['call.start.error-get-assistant', 'FAILED'],
    ['pipeline-error-openai-llm-failed', 'FAILED'],
    ['pipeline-no-available-llm-model', 'FAILED'],
    ['call.in-progress.error-vapifault-transport-never-connected', 'FAILED'],
    ['call.in-progress.error-providerfault-openai-llm-failed', 'FAILED'],
    ['call.ringing.error-sip-inbound-call-failed-to-connect', 'FAILED'],
    ['assistant-not-found', 'FAILED'],
    ['assistant-not-valid', 'FAILED'],
    ['assistant-request-failed', 'FAILED'],
    ['assistant-request-returned-error', 'FAILED'],
    ['twilio-failed-to-connect-call', 'FAILED'],
    ['vonage-failed-to-connect-call', 'FAILED'],
    ['twilio-reported-customer-misdialed', 'FAILED'],
    ['vonage-rejected', 'FAILED'],
    ['worker-shutdown', 'FAILED'],
    ['phone-call-provider-closed-websocket', 'FAILED'],
    ['customer-ended-call', 'COMPLETED'],
    ['assistant-ended-call', 'COMPLETED'],
    ['assistant-said-end-call-phrase', 'COMPLETED'],
    ['assistant-forwarded-call', 'COMPLETED'],
    ['exceeded-max-duration', 'COMPLETED'],
    ['silence-timed-out', 'COMPLETED'],
    ['voicemail', 'COMPLETED'],
    ['call.forwarding.operator-busy', 'COMPLETED'],
    ['a-reason-added-next-month', 'COMPLETED'],
  ])('ended + %s → %s; endReason verbatim', (reason, status) => {
    const call = record({ endedReason: reason });
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe('ended');
    expect(call.endReason).toBe(reason);
  });

  it('ended without a reason is COMPLETED', () => {
    expect(statusOf('ended', null)).toBe('COMPLETED');
    expect(record({ endedReason: undefined }).endReason).toBeNull();
  });

  it.each(['not-found', 'deletion-failed', 'Ended', 'toString', ''])('unknown word %j → UNKNOWN (a reason does not refine it)', (word) => {
    expect(record({ status: word, endedReason: 'customer-busy' }).status).toBe('UNKNOWN');
  });

  it('an absent status is UNKNOWN with an empty providerStatus', () => {
    const call = record({ status: undefined });
    expect(call.status).toBe('UNKNOWN');
    expect(call.providerStatus).toBe('');
  });
});

describe('Vapi fields (the page’s field table)', () => {
  it('maps the page’s example', () => {
    const call = record();
    expect(call).toEqual({
      provider: 'VAPI',
      connection: 'default',
      key: example.id,
      providerCallId: example.id,
      direction: 'INBOUND',
      status: 'COMPLETED',
      providerStatus: 'ended',
      from: { phoneNumber: '+14155550123', rawPhoneNumber: '+14155550123', displayName: 'Jane Doe', countryCode: 'US', isStaff: false },
      to: { phoneNumber: '+14155550199', rawPhoneNumber: '+14155550199', displayName: null, countryCode: 'US', isStaff: true },
      startedAt: new Date('2026-05-04T09:12:05.730Z'),
      answeredAt: null,
      endedAt: new Date('2026-05-04T09:16:30.204Z'),
      durationSeconds: 264, // 264.474 s
      cost: { amount: '0.1873', currency: 'USD' },
      endReason: 'customer-ended-call',
      agentId: example.assistantId,
      details: {
        billedDurationSeconds: null,
        recordings: [
          { url: example.artifact.presignedMonoUrl, expiresAt: new Date('2026-05-04T10:16:41.902Z') },
          { url: example.artifact.presignedStereoUrl, expiresAt: new Date('2026-05-04T10:16:41.902Z') },
        ],
        transcript: null,
        transcriptText: 'AI: Hello…\nUser: Hi…',
        inputParameters: { firstName: 'Jane' },
        outputParameters: { booked: true },
      },
    });
  });

  it('outbound: the Vapi number calls the customer', () => {
    const call = record({ type: 'outboundPhoneCall' });
    expect(call.direction).toBe('OUTBOUND');
    expect(call.from.isStaff).toBe(true);
    expect(call.from.phoneNumber).toBe('+14155550199');
    expect(call.to.phoneNumber).toBe('+14155550123');
  });

  it.each(['webCall', 'vapi.websocketCall', undefined, 'somethingNew'])('type %j: no direction', (type) => {
    expect(directionOf(type)).toBeNull();
  });

  it('a web call has no numbers on either side', () => {
    const call = record({ type: 'webCall', customer: undefined, phoneNumberId: undefined }, null);
    expect(call.direction).toBeNull();
    expect(call.from).toEqual({ phoneNumber: null, rawPhoneNumber: null, displayName: null, countryCode: null, isStaff: false });
    expect(call.to).toEqual({ phoneNumber: null, rawPhoneNumber: null, displayName: null, countryCode: null, isStaff: true });
  });

  it('a customer number that is not E.164 (check disabled) is kept raw only', () => {
    const call = record({ customer: { number: 'abc123' } });
    expect(call.from.phoneNumber).toBeNull();
    expect(call.from.rawPhoneNumber).toBe('abc123');
  });

  it('startedAt falls back to createdAt for a call that never started; no duration then', () => {
    const call = record({ status: 'scheduled', endedReason: undefined, startedAt: undefined, endedAt: undefined });
    expect(call.startedAt).toEqual(new Date(example.createdAt));
    expect(call.durationSeconds).toBeNull();
    expect(call.endedAt).toBeNull();
  });

  it('agentId: assistantId, else squadId, else workflowId', () => {
    expect(record({ assistantId: undefined, squadId: 'sq-1', workflowId: 'wf-1' }).agentId).toBe('sq-1');
    expect(record({ assistantId: undefined, workflowId: 'wf-1' }).agentId).toBe('wf-1');
    expect(record({ assistantId: undefined }).agentId).toBeNull();
  });

  it('outputParameters: analysis.structuredData, else artifact.structuredOutputs', () => {
    const call = record({ analysis: undefined, artifact: { ...example.artifact, structuredOutputs: { x: { result: 1 } } } });
    expect(call.details?.outputParameters).toEqual({ x: { result: 1 } });
    expect(record({ analysis: undefined, assistantOverrides: undefined }).details).toMatchObject({ inputParameters: null, outputParameters: null });
  });

  it('recordings without signed links: the download endpoints (need the key, no expiry); none without a recording', () => {
    const artifact = { recordingUrl: 'https://storage.vapi.ai/m.wav', stereoRecordingUrl: 'https://storage.vapi.ai/s.wav', transcript: 'x' };
    expect(record({ artifact }).details?.recordings).toEqual([
      { url: `https://api.vapi.ai/call/${example.id}/mono-recording`, expiresAt: null },
      { url: `https://api.vapi.ai/call/${example.id}/stereo-recording`, expiresAt: null },
    ]);
    expect(record({ artifact: { transcript: '' } }).details?.recordings).toEqual([]);
    expect(record({ artifact: undefined }).details).toMatchObject({ recordings: [], transcriptText: null });
  });
});

describe('Vapi dates, amounts and durations', () => {
  it.each([
    ['0.1873', '0.1873'],
    ['0.7', '0.7'],
    ['0', '0'],
    ['12', '12'],
    ['1e-7', '0.0000001'],
    ['0.30000000000000004', '0.30000000000000004'],
    ['123456789.123456789012', '123456789.123456789012'],
  ])('cost %s → "%s" USD, digit for digit', (json, amount) => {
    const row = parseUpstreamJson(`{"cost": ${json}}`) as { cost: unknown };
    expect(record({ cost: row.cost }).cost).toEqual({ amount, currency: 'USD' });
  });

  it('absent or unusable cost → null; a string cost is a row that does not read', () => {
    expect(record({ cost: undefined }).cost).toBeNull();
    expect(toMoney('1e400')).toBeNull();
    expect(vapiCallSchema.safeParse({ ...example, cost: '0.18' }).success).toBe(false);
  });

  it('durations round half up from milliseconds; negative → null', () => {
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
    expect(durationOf(at(0), at(1499))).toBe(1);
    expect(durationOf(at(0), at(1500))).toBe(2);
    expect(durationOf(at(0), at(499))).toBe(0);
    expect(durationOf(at(1000), at(0))).toBeNull();
    expect(durationOf(null, at(0))).toBeNull();
  });

  it('dates keep their milliseconds and offsets; a zoneless or impossible start or creation makes the row unreadable, any other instant null', () => {
    expect(record({ startedAt: '2026-05-04T11:12:05.730+02:00' }).startedAt).toEqual(new Date('2026-05-04T09:12:05.730Z'));
    expect(record({ endedAt: '2026-05-04T09:16:30' })).toMatchObject({ endedAt: null, durationSeconds: null });
    expect(record({ endedAt: '2026-04-31T09:16:30Z' }).endedAt).toBeNull();
    expect(vapiCallSchema.safeParse({ ...example, updatedAt: 'yesterday' }).success).toBe(true);
    expect(vapiCallSchema.safeParse({ ...example, startedAt: '2026-05-04T09:12:05' }).success).toBe(false);
    expect(vapiCallSchema.safeParse({ ...example, createdAt: '2026-02-30T09:12:05Z' }).success).toBe(false);
    expect(vapiCallSchema.safeParse({ ...example, createdAt: undefined }).success).toBe(false);
  });

  it('the only required fields are id, orgId… as read: id and createdAt', () => {
    const call = toCallRecord(parse({ id: 'x-1', orgId: 'o', createdAt: example.createdAt, updatedAt: example.updatedAt }), null, context);
    expect(call).toMatchObject({ key: 'x-1', status: 'UNKNOWN', direction: null, startedAt: new Date(example.createdAt), cost: null });
  });
});

describe('Vapi time push-down', () => {
  it('startedBefore bounds createdAt; startedAfter is widened by the start slack', () => {
    const from = new Date('2026-05-04T00:00:00.000Z');
    const until = new Date('2026-05-05T00:00:00.000Z');
    expect(createdAtFiltersFor(from, until)).toEqual({
      createdAtGe: new Date(from.getTime() - START_SLACK_MS).toISOString(),
      createdAtLe: until.toISOString(),
    });
    expect(createdAtFiltersFor(null, null)).toEqual({});
  });

  it('page tokens round-trip; a foreign token is refused', () => {
    const position = { le: 1_700_000_000_000, seen: ['a', 'b'] };
    expect(decodeVapiToken(encodeVapiToken(position))).toEqual(position);
    expect(() => decodeVapiToken('not-a-token')).toThrow(TypeError);
  });
});
