import type { CallStatus } from '../../src/calls/model.js';
import { startTimeCondition, statusFilterFor } from '../../src/providers/retell/client.js';
import { centsToMoney, msToSeconds, toCallRecord, toStatus } from '../../src/providers/retell/map.js';
import { parseUpstreamJson } from '../../src/providers/json.js';
import { retellCallSchema, retellListSchema } from '../../src/providers/retell/schema.js';

/** The reference's list item example (docs/providers/retell.md), with a transcript as get-call adds it. */
const example = {
  call_type: 'phone_call',
  call_id: 'call_5a82f0a43ea0977566b1104fcfc',
  agent_id: 'agent_oBeDLoLOeuAbiuaMFXRtDOLriT12345',
  agent_version: 1,
  agent_name: 'My Agent',
  call_status: 'ended',
  direction: 'inbound',
  from_number: '+12137771234',
  to_number: '+12137771235',
  start_timestamp: 1703302407333,
  end_timestamp: 1703302428855,
  duration_ms: 21522,
  disconnection_reason: 'user_hangup',
  recording_url: 'https://retellai.s3.us-west-2.amazonaws.com/x/recording.wav',
  recording_multi_channel_url: 'https://retellai.s3.us-west-2.amazonaws.com/x/recording_multichannel.wav',
  public_log_url: 'https://retellai.s3.us-west-2.amazonaws.com/x/public_log.txt',
  opt_in_signed_url: false,
  call_cost: { combined_cost: 70, total_duration_seconds: 22, total_duration_unit_price: 1, product_costs: [{ product: 'elevenlabs_tts', unit_price: 1, cost: 60 }] },
  call_analysis: { call_summary: 'The user agreed.', user_sentiment: 'Positive', call_successful: true, in_voicemail: false, custom_analysis_data: { slot: 'Mon 10am', last_node_name: 'Booked' } },
  metadata: { customer_id: 'cust_123' },
  retell_llm_dynamic_variables: { customer_name: 'John Doe' },
  collected_dynamic_variables: { last_node_name: 'Test node', topic: 'dental' },
  telephony_identifier: { twilio_call_sid: 'CA5d0d0d8047bf685c3f0ff980fe62c123' },
};

const read = (overrides: Record<string, unknown> = {}) => retellCallSchema.parse(parseUpstreamJson(JSON.stringify({ ...example, ...overrides })));
const context = { connection: 'default' };

describe('Retell status: the contract row and its disconnection_reason refinements', () => {
  it.each([
    ['registered', undefined, 'INITIATED'],
    ['ongoing', undefined, 'IN_PROGRESS'],
    ['ended', 'user_hangup', 'COMPLETED'],
    ['ended', 'agent_hangup', 'COMPLETED'],
    ['ended', undefined, 'COMPLETED'],
    ['not_connected', undefined, 'FAILED'],
    ['not_connected', 'no_valid_payment', 'FAILED'],
    ['error', 'error_llm_websocket_open', 'FAILED'],
    ['not_connected', 'dial_busy', 'BUSY'],
    ['ended', 'dial_busy', 'BUSY'],
    ['not_connected', 'user_declined', 'BUSY'],
    ['error', 'user_declined', 'BUSY'],
    ['not_connected', 'dial_no_answer', 'NO_ANSWER'],
    ['ended', 'dial_no_answer', 'NO_ANSWER'],
    ['not_connected', 'manual_stopped', 'CANCELED'],
    ['ended', 'manual_stopped', 'COMPLETED'],
    ['error', 'manual_stopped', 'FAILED'],
    ['ended', 'dial_failed', 'FAILED'],
    ['ended', 'invalid_destination', 'FAILED'],
    ['not_connected', 'invalid_destination', 'FAILED'],
    ['transferring', undefined, 'UNKNOWN'],
    ['transferring', 'dial_busy', 'UNKNOWN'],
    ['Ended', undefined, 'UNKNOWN'],
    ['', undefined, 'UNKNOWN'],
  ] as const)('%s + %s → %s', (word, reason, status) => {
    expect(toStatus(word, reason)).toBe(status);
    expect(toCallRecord(read({ call_status: word, disconnection_reason: reason }), context)?.status).toBe(status);
    expect(toCallRecord(read({ call_status: word, disconnection_reason: reason }), context)?.providerStatus).toBe(word);
  });
});

describe('Retell call object → CallRecord', () => {
  it('maps every field of the page\'s table', () => {
    expect(toCallRecord(read(), context)).toEqual({
      provider: 'RETELL',
      connection: 'default',
      key: 'call_5a82f0a43ea0977566b1104fcfc',
      providerCallId: 'call_5a82f0a43ea0977566b1104fcfc',
      direction: 'INBOUND',
      status: 'COMPLETED',
      providerStatus: 'ended',
      from: { phoneNumber: '+12137771234', rawPhoneNumber: '+12137771234', displayName: null, countryCode: 'US', isStaff: null },
      to: { phoneNumber: '+12137771235', rawPhoneNumber: '+12137771235', displayName: null, countryCode: 'US', isStaff: null },
      startedAt: new Date('2023-12-23T03:33:27.333Z'),
      answeredAt: null,
      endedAt: new Date('2023-12-23T03:33:48.855Z'),
      durationSeconds: 22,
      cost: { amount: '0.70', currency: 'USD' },
      endReason: 'user_hangup',
      agentId: 'agent_oBeDLoLOeuAbiuaMFXRtDOLriT12345',
      details: {
        billedDurationSeconds: 22,
        recordings: [
          { url: example.recording_url, expiresAt: null },
          { url: example.recording_multi_channel_url, expiresAt: null },
        ],
        transcript: null,
        inputParameters: { customer_name: 'John Doe' },
        // Analysis keys win over collected variables.
        outputParameters: { last_node_name: 'Booked', topic: 'dental', slot: 'Mon 10am' },
      },
    });
  });

  it('list items leave transcriptText undefined (fetched when selected); get-call gives text or null', () => {
    expect(toCallRecord(read(), context)?.details).not.toHaveProperty('transcriptText');
    const withText = toCallRecord(read({ transcript: 'Agent: Hi.\nUser: Hello.' }), context, { withTranscript: true });
    expect(withText?.details?.transcriptText).toBe('Agent: Hi.\nUser: Hello.');
    expect(toCallRecord(read(), context, { withTranscript: true })?.details?.transcriptText).toBeNull();
  });

  it('web calls: no numbers, no direction', () => {
    const web = toCallRecord(read({ call_type: 'web_call', direction: undefined, from_number: undefined, to_number: undefined }), context);
    expect(web?.direction).toBeNull();
    expect(web?.from).toEqual({ phoneNumber: null, rawPhoneNumber: null, displayName: null, countryCode: null, isStaff: null });
    expect(toCallRecord(read({ direction: 'outbound' }), context)?.direction).toBe('OUTBOUND');
  });

  it('startedAt: start_timestamp, else end_timestamp, else the look-up\'s instant; none → not placed', () => {
    expect(toCallRecord(read({ start_timestamp: undefined }), context)?.startedAt).toEqual(new Date(1703302428855));
    const bare = read({ start_timestamp: undefined, end_timestamp: undefined, call_status: 'registered' });
    expect(toCallRecord(bare, context)).toBeNull();
    expect(toCallRecord(bare, context, { withTranscript: true, fallbackStart: new Date(5) })?.startedAt).toEqual(new Date(5));
  });

  it('parameters and costs absent → null', () => {
    const row = read({ call_cost: undefined, call_analysis: undefined, collected_dynamic_variables: undefined, retell_llm_dynamic_variables: undefined, recording_url: undefined, recording_multi_channel_url: undefined });
    const call = toCallRecord(row, context);
    expect(call?.cost).toBeNull();
    expect(call?.details).toEqual({ billedDurationSeconds: null, recordings: [], transcript: null, inputParameters: null, outputParameters: null });
  });

  it('timestamps must be integer epoch milliseconds', () => {
    for (const bad of ['2023-12-23T03:33:27Z', 1703302407333.5, -1, 9e15, '1703302407333']) {
      expect(retellCallSchema.safeParse({ ...example, start_timestamp: bad }).success).toBe(false);
    }
    // A 19-digit id is kept digit for digit.
    expect(retellCallSchema.parse(parseUpstreamJson('{"call_id": 9007199254740993, "call_status": "ended"}')).call_id).toBe('9007199254740993');
  });
});

describe('Retell amounts and durations', () => {
  it.each([
    ['70', '0.70'],
    ['0', '0.00'],
    ['5', '0.05'],
    ['1234', '12.34'],
    ['18.73', '0.1873'],
    ['0.5', '0.005'],
    ['100000', '1000.00'],
    ['7e1', '0.70'],
    ['1.5e-1', '0.0015'],
    ['-20', '-0.20'],
  ])('%s cents → %s USD', (cents, amount) => {
    expect(centsToMoney(cents)).toEqual({ amount, currency: 'USD' });
  });

  it('keeps every digit of a cost JSON sends (never through a double)', () => {
    const row = retellCallSchema.parse(parseUpstreamJson('{"call_id":"c","call_status":"ended","call_cost":{"combined_cost":12345678901234567.89}}'));
    expect(toCallRecord({ ...row, start_timestamp: new Date(0) }, context)?.cost).toEqual({ amount: '123456789012345.6789', currency: 'USD' });
    expect(centsToMoney('1e9999')).toBeNull();
    expect(centsToMoney(null)).toBeNull();
  });

  it.each([
    [21522, 22],
    [21499, 21],
    [21500, 22],
    [0, 0],
    [499, 0],
  ])('duration_ms %i → %i s (rounded, half up)', (ms, seconds) => {
    expect(msToSeconds(ms)).toBe(seconds);
    expect(toCallRecord(read({ duration_ms: ms }), context)?.durationSeconds).toBe(seconds);
  });
});

describe('Retell push-down', () => {
  it.each<[CallStatus[], string[] | null | undefined]>([
    [['COMPLETED'], ['ended']],
    [['IN_PROGRESS'], ['ongoing']],
    [['CANCELED'], ['not_connected']],
    [['COMPLETED', 'CANCELED'], ['not_connected', 'ended']],
    [['QUEUED'], null],
    [['RINGING', 'QUEUED'], null],
    [['BUSY'], undefined], // a registered call may carry dial_busy: `registered` cannot be filtered
    [['FAILED'], undefined],
    [['INITIATED'], undefined],
    [['UNKNOWN'], undefined],
    [['COMPLETED', 'UNKNOWN'], undefined],
  ])('statuses %j → call_status in %j', (statuses, words) => {
    expect(statusFilterFor(statuses)).toEqual(words);
  });

  it('a two-sided window is sent 1 ms wider (bt ends undocumented); one-sided ones use ge / le', () => {
    const from = new Date(1_000_000);
    const until = new Date(2_000_000);
    expect(startTimeCondition(from, until)).toEqual({ type: 'range', op: 'bt', value: [999_999, 2_000_001] });
    expect(startTimeCondition(from, null)).toEqual({ type: 'number', op: 'ge', value: 1_000_000 });
    expect(startTimeCondition(null, until)).toEqual({ type: 'number', op: 'le', value: 2_000_000 });
    expect(startTimeCondition(null, null)).toBeUndefined();
  });

  it('reads the list envelope, with a numeric pagination key kept as text', () => {
    const body = retellListSchema.parse(parseUpstreamJson('{"items":[],"pagination_key":12345678901234567890,"has_more":true}'));
    expect(body.pagination_key).toBe('12345678901234567890');
    expect(retellListSchema.safeParse([]).success).toBe(false);
  });
});
