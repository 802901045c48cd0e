import type { z } from 'zod';
import { directionFromWord } from '../../src/calls/adapter.js';
import type { CallStatus } from '../../src/calls/model.js';
import {
  STATUS_TABLE,
  parseCost,
  toCallDetails,
  toCallRecord,
  toDetailedCallRecord,

  toParty,
  type Twenty2MapContext,
} from '../../src/providers/twenty2/map.js';
import { parseUpstreamJson } from '../../src/providers/json.js';
import { parseIsoInstant } from '../../src/time.js';
import {
  TWENTY2_ZONELESS,
  twenty2CallSchema,
  twenty2DetailResponseSchema,
  type Twenty2Call,
  type Twenty2Detail,
} from '../../src/providers/twenty2/schema.js';

const context: Twenty2MapContext = {
  ref: { provider: 'TWENTY2', connection: 'default' },
  phoneRegion: 'IN',
};

/** The list row of the provider page, as Twenty2 sends it. */
const pageJson: z.input<typeof twenty2CallSchema> = {
  call_id: 'call_9c4d7e12ab',
  agent_id: '69de483c68b23495c853b43a',
  status: 'completed',
  direction: 'outbound',
  callee_phone: '9999999999',
  caller_phone: '9876543210',
  duration_seconds: 94,
  cost: '15.67 INR',
  started_at: '2024-12-25T10:00:00Z',
  ended_at: '2024-12-25T10:01:34Z',
};

/** The same row as the schema reads it (`started_at` a Date). */
const pageRow: Twenty2Call = twenty2CallSchema.parse(pageJson);

const row = (overrides: Partial<z.input<typeof twenty2CallSchema>>): Twenty2Call =>
  twenty2CallSchema.parse({ ...pageJson, ...overrides });

describe('Twenty2 STATUS_TABLE', () => {
  it.each<[string, CallStatus]>([
    ['initiated', 'INITIATED'],
    ['connected', 'IN_PROGRESS'],
    ['completed', 'COMPLETED'],
    ['not_connected', 'NO_ANSWER'],
    ['failed', 'FAILED'],
  ])('maps %s to %s', (word, status) => {
    expect(STATUS_TABLE[word]).toBe(status);
    const record = toCallRecord(row({ status: word }), context);
    expect(record.status).toBe(status);
    expect(record.providerStatus).toBe(word);
  });

  it('holds exactly the contract row', () => {
    expect(Object.keys(STATUS_TABLE).sort()).toEqual(
      ['completed', 'connected', 'failed', 'initiated', 'not_connected'],
    );
  });

  it.each(['voicemail_detected', 'COMPLETED', '', 'toString', 'constructor'])(
    'maps the unknown word %p to UNKNOWN, keeping it verbatim',
    (word) => {
      const record = toCallRecord(row({ status: word }), context);
      expect(record.status).toBe('UNKNOWN');
      expect(record.providerStatus).toBe(word);
    },
  );
});

describe('Twenty2 toCallRecord', () => {
  it('maps the provider page example field by field', () => {
    expect(toCallRecord(pageRow, context)).toEqual({
      provider: 'TWENTY2',
      connection: 'default',
      key: 'call_9c4d7e12ab',
      providerCallId: 'call_9c4d7e12ab',
      direction: 'OUTBOUND',
      status: 'COMPLETED',
      providerStatus: 'completed',
      from: {
        phoneNumber: '+919876543210',
        rawPhoneNumber: '9876543210',
        countryCode: 'IN',
        displayName: null,
        isStaff: null,
      },
      to: {
        phoneNumber: '+919999999999',
        rawPhoneNumber: '9999999999',
        countryCode: 'IN',
        displayName: null,
        isStaff: null,
      },
      startedAt: new Date('2024-12-25T10:00:00.000Z'),
      answeredAt: null,
      endedAt: new Date('2024-12-25T10:01:34.000Z'),
      durationSeconds: 94,
      cost: { amount: '15.67', currency: 'INR' },
      endReason: null,
      agentId: '69de483c68b23495c853b43a',
      details: null,
    });
  });

  it('uses the connection name it is given', () => {
    const record = toCallRecord(pageRow, { ...context, ref: { provider: 'TWENTY2', connection: 'acme' } });
    expect(record.connection).toBe('acme');
  });

  it('leaves missing optional fields null', () => {
    const record = toCallRecord(
      row({
        agent_id: null,
        direction: undefined,
        callee_phone: null,
        caller_phone: undefined,
        duration_seconds: null,
        cost: null,
        ended_at: null,
      }),
      context,
    );
    expect(record).toMatchObject({
      agentId: null,
      direction: null,
      durationSeconds: null,
      cost: null,
      endedAt: null,
      from: { phoneNumber: null, rawPhoneNumber: null, countryCode: null },
      to: { phoneNumber: null, rawPhoneNumber: null, countryCode: null },
    });
  });

  it('maps an unreadable ended_at and a negative duration to null instead of throwing', () => {
    const record = toCallRecord(row({ ended_at: 'yesterday', duration_seconds: -3 }), context);
    expect(record.endedAt).toBeNull();
    expect(record.durationSeconds).toBeNull();
  });

  it('rounds a fractional duration to whole seconds', () => {
    expect(toCallRecord(row({ duration_seconds: 93.6 }), context).durationSeconds).toBe(94);
  });
});

describe('Twenty2 phone numbers', () => {
  it.each<[string | null, string, string | null, string | null, string | null]>([
    ['9876543210', 'IN', '+919876543210', '9876543210', 'IN'],
    ['98765 43210', 'IN', '+919876543210', '98765 43210', 'IN'],
    ['09876543210', 'IN', '+919876543210', '09876543210', 'IN'],
    ['+919876543210', 'IN', '+919876543210', '+919876543210', 'IN'],
    ['+14152148508', 'IN', '+14152148508', '+14152148508', 'US'],
    ['4152148508', 'US', '+14152148508', '4152148508', 'US'],
    ['not a number', 'IN', null, 'not a number', null],
    ['12', 'IN', null, '12', null],
    ['', 'IN', null, '', null],
    [null, 'IN', null, null, null],
  ])('%p in %s → %p (raw %p, country %p)', (raw, region, e164, rawText, country) => {
    expect(toParty(raw, region)).toEqual({
      phoneNumber: e164,
      rawPhoneNumber: rawText,
      countryCode: country,
      displayName: null,
      isStaff: null,
    });
  });

  it('reads national numbers in the configured region', () => {
    const record = toCallRecord(row({ caller_phone: '4152148508' }), { ...context, phoneRegion: 'US' });
    expect(record.from.phoneNumber).toBe('+14152148508');
    expect(record.from.countryCode).toBe('US');
  });
});

describe('Twenty2 cost', () => {
  it.each<[string | null | undefined, { amount: string; currency: string } | null]>([
    ['15.67 INR', { amount: '15.67', currency: 'INR' }],
    ['0.00 INR', { amount: '0.00', currency: 'INR' }],
    ['12 INR', { amount: '12', currency: 'INR' }],
    ['1.5 usd', { amount: '1.5', currency: 'USD' }],
    ['  15.67   INR ', { amount: '15.67', currency: 'INR' }],
    ['-2.10 INR', { amount: '-2.10', currency: 'INR' }],
    ['15.67', null],
    ['INR 15.67', null],
    ['₹15.67', null],
    ['15,67 INR', null],
    ['15.67 RUPEES', null],
    ['', null],
    [null, null],
    [undefined, null],
  ])('%p → %p', (text, money) => {
    expect(parseCost(text)).toEqual(money);
  });
});

describe('Twenty2 direction', () => {
  it.each([
    ['inbound', 'INBOUND'],
    ['outbound', 'OUTBOUND'],
    ['Outbound', 'OUTBOUND'],
    ['web', null],
    ['', null],
    [null, null],
  ])('%p → %p', (word, direction) => {
    expect(directionFromWord(word)).toBe(direction);
  });
});

describe('Twenty2 numbers', () => {
  it('keeps JSON numbers for ids and phone numbers digit for digit', () => {
    const body = parseUpstreamJson(
      '{"call_id": 9007199254740993, "agent_id": 12345678901234567890, "caller_phone": 9876543210, "callee_phone": 919876543210,' +
        ' "status": "completed", "started_at": "2024-12-25T10:00:00Z", "duration_seconds": 94.0000000000000001}',
    );
    const record = toCallRecord(twenty2CallSchema.parse(body), context);
    expect(record.key).toBe('9007199254740993');
    expect(record.providerCallId).toBe('9007199254740993');
    expect(record.agentId).toBe('12345678901234567890');
    expect(record.from).toMatchObject({ phoneNumber: '+919876543210', rawPhoneNumber: '9876543210' });
    expect(record.to.rawPhoneNumber).toBe('919876543210');
    expect(record.durationSeconds).toBe(94);
  });

  it('keeps a free-form parameter that no double holds as its digits, and the rest as sent', () => {
    const body = parseUpstreamJson(
      `{"success": true, "call": ${JSON.stringify(pageJson)}, "input_parameters": {"order": 123456789012345678901, "n": 7, "list": [0.1, 1e400]}, "output_parameters": {"ok": true}}`,
    );
    const detail = twenty2DetailResponseSchema.parse(body);
    expect(detail.input_parameters).toEqual({ order: '123456789012345678901', n: 7, list: [0.1, '1e400'] });
    expect(detail.output_parameters).toEqual({ ok: true });
  });
});

describe('Twenty2 instants', () => {
  const parseInstant = (text: string) => parseIsoInstant(text, TWENTY2_ZONELESS);

  it.each([
    ['2024-12-25T10:00:00Z', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T10:00:00.123Z', '2024-12-25T10:00:00.123Z'],
    ['2024-12-25T15:30:00+05:30', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25T15:30:00+0530', '2024-12-25T10:00:00.000Z'],
    // Without a zone the instant is read as UTC, never in the server's local time.
    ['2024-12-25T10:00:00', '2024-12-25T10:00:00.000Z'],
    ['2024-12-25 10:00:00', '2024-12-25T10:00:00.000Z'],
  ])('%p → %p', (text, iso) => {
    expect(parseInstant(text)?.toISOString()).toBe(iso);
  });

  it.each(['', 'Dec 25 2024', '2024-12-25', '2024-13-45T99:00:00Z', '1735120800', '2025-02-29T10:00:00Z'])(
    'refuses %p',
    (text) => {
      expect(parseInstant(text)).toBeNull();
    },
  );

  it('makes the schema refuse a row whose started_at cannot be read, or names a day that does not exist', () => {
    expect(twenty2CallSchema.safeParse({ ...pageJson, started_at: 'soon' }).success).toBe(false);
    // Date.parse read this as 2025-03-01.
    expect(twenty2CallSchema.safeParse({ ...pageJson, started_at: '2025-02-29T10:00:00Z' }).success).toBe(false);
    expect(twenty2CallSchema.safeParse(pageJson).success).toBe(true);
  });
});

describe('Twenty2 detail mapping', () => {
  const detailBody = {
    success: true,
    call: { ...pageJson, billed_duration_seconds: 120 },
    input_parameters: { customer_name: 'Meera' },
    output_parameters: { intent: 'callback' },
    recording: { url: 'https://cdn.example/rec.mp3?sig=x', expires_at: '2024-12-26T10:00:00Z' },
    transcript: { url: 'https://cdn.example/t.txt?sig=y', expires_at: '2024-12-26T10:00:00Z' },
  };
  const parse = (body: unknown): Twenty2Detail => {
    const parsed = twenty2DetailResponseSchema.parse(body);
    if (!parsed.call) throw new Error('fixture without call');
    return { ...parsed, call: parsed.call };
  };

  it('maps media, billed duration and parameters', () => {
    expect(toCallDetails(parse(detailBody))).toEqual({
      billedDurationSeconds: 120,
      recordings: [
        { url: 'https://cdn.example/rec.mp3?sig=x', expiresAt: new Date('2024-12-26T10:00:00Z') },
      ],
      transcript: { url: 'https://cdn.example/t.txt?sig=y', expiresAt: new Date('2024-12-26T10:00:00Z') },
      inputParameters: { customer_name: 'Meera' },
      outputParameters: { intent: 'callback' },
    });
  });

  it('maps null or absent media and parameters to empty values', () => {
    const { recording: _recording, transcript: _transcript, input_parameters: _in, ...rest } = detailBody;
    expect(toCallDetails(parse({ ...rest, recording: null, output_parameters: null }))).toEqual({
      billedDurationSeconds: 120,
      recordings: [],
      transcript: null,
      inputParameters: null,
      outputParameters: null,
    });
  });

  it('keeps a media link whose expiry is missing or unreadable', () => {
    const details = toCallDetails(
      parse({
        ...detailBody,
        recording: { url: 'https://cdn.example/r.mp3' },
        transcript: { url: 'https://cdn.example/t.txt', expires_at: 'later' },
      }),
    );
    expect(details.recordings).toEqual([{ url: 'https://cdn.example/r.mp3', expiresAt: null }]);
    expect(details.transcript).toEqual({ url: 'https://cdn.example/t.txt', expiresAt: null });
  });

  it('builds the full record from the detail body', () => {
    const record = toDetailedCallRecord(parse(detailBody), context);
    expect(record).toEqual({ ...toCallRecord(pageRow, context), details: toCallDetails(parse(detailBody)) });
  });

  it('maps a missing billed duration to null', () => {
    const { billed_duration_seconds: _billed, ...call } = detailBody.call;
    expect(toCallDetails(parse({ ...detailBody, call })).billedDurationSeconds).toBeNull();
  });
});
