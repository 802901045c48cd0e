import type { CallStatus } from '../../src/calls/model.js';
import {
  STATUS_TABLE,
  toCallRecord,
  toMoney,
  toParty,
} from '../../src/providers/talkstack/map.js';
import { talkStackCallSchema, talkStackHistorySchema, type TalkStackCall } from '../../src/providers/talkstack/schema.js';
import { dateFiltersFor, statusFilterFor } from '../../src/providers/talkstack/client.js';
import { decimalString, parseUpstreamJson } from '../../src/providers/json.js';
import { parseRfc5322Date as parseRfc2822Date } from '../../src/time.js';

/** The reference's "Get call data" example (docs/providers/talkstack.md). */
const example = {
  seconds: 23,
  cost: 0.077,
  status: 'completed',
  from: '+14152148508',
  to: '+12068091239',
  date: 'Tue, 30 Jan 2024 13:39:53 +0000',
  recordingUrls: ['https://api.twilio.com/2010-04-01/Accounts/xxxxxx/Recordings/xxxxx.mp3'],
  phoneNumber: '+12068091239',
  callSid: 'CA26e39c970fd416515799f5a165718be3',
  partnerId: 'partner-id',
  shiftId: 'shift-id',
  assignmentId: 'assignment-id',
  data: { employeeGoToWork: 'false', newDate: '' },
};

const parse = (row: unknown): TalkStackCall => talkStackCallSchema.parse(row);
const context = { connection: 'default', currency: 'USD' };

describe('TalkStack status table (contract)', () => {
  const contract: [string, CallStatus][] = [
    ['queued', 'QUEUED'],
    ['initiated', 'INITIATED'],
    ['ringing', 'RINGING'],
    ['in-progress', 'IN_PROGRESS'],
    ['completed', 'COMPLETED'],
    ['busy', 'BUSY'],
    ['failed', 'FAILED'],
    ['no-answer', 'NO_ANSWER'],
    ['voicemail', 'NO_ANSWER'],
    ['silence', 'COMPLETED'],
  ];

  it('holds exactly the contract rows', () => {
    expect(Object.entries(STATUS_TABLE).sort()).toEqual([...contract].sort());
  });

  it.each(contract)('%s → %s, verbatim as providerStatus', (word, status) => {
    const call = toCallRecord(parse({ ...example, status: word }), context);
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe(word);
  });

  it.each(['canceled-by-user', 'Completed', '', 'toString'])('unknown word %j → UNKNOWN', (word) => {
    const call = toCallRecord(parse({ ...example, status: word }), context);
    expect(call.status).toBe('UNKNOWN');
    expect(call.providerStatus).toBe(word);
  });
});

describe('toCallRecord', () => {
  it('maps the reference example field by field', () => {
    expect(toCallRecord(parse(example), context)).toEqual({
      provider: 'TALKSTACK',
      connection: 'default',
      key: 'CA26e39c970fd416515799f5a165718be3',
      providerCallId: 'CA26e39c970fd416515799f5a165718be3',
      direction: null,
      status: 'COMPLETED',
      providerStatus: 'completed',
      from: {
        phoneNumber: '+14152148508',
        rawPhoneNumber: '+14152148508',
        displayName: null,
        countryCode: 'US',
        isStaff: null,
      },
      to: {
        phoneNumber: '+12068091239',
        rawPhoneNumber: '+12068091239',
        displayName: null,
        countryCode: 'US',
        isStaff: null,
      },
      startedAt: new Date('2024-01-30T13:39:53.000Z'),
      answeredAt: null,
      endedAt: null,
      durationSeconds: 23,
      cost: { amount: '0.077', currency: 'USD' },
      endReason: null,
      agentId: null,
      details: {
        billedDurationSeconds: null,
        recordings: [
          { url: 'https://api.twilio.com/2010-04-01/Accounts/xxxxxx/Recordings/xxxxx.mp3', expiresAt: null },
        ],
        transcript: null,
        inputParameters: null,
        outputParameters: { employeeGoToWork: 'false', newDate: '' },
      },
    });
  });

  it('gives cost the configured currency', () => {
    const call = toCallRecord(parse(example), { connection: 'eu', currency: 'EUR' });
    expect(call.cost).toEqual({ amount: '0.077', currency: 'EUR' });
    expect(call.connection).toBe('eu');
  });

  it('leaves absent optional fields null or empty', () => {
    const { cost: _cost, seconds: _seconds, recordingUrls: _urls, data: _data, ...bare } = example;
    const call = toCallRecord(parse({ ...bare, status: 'queued' }), context);
    expect(call.cost).toBeNull();
    expect(call.durationSeconds).toBeNull();
    expect(call.details).toEqual({
      billedDurationSeconds: null,
      recordings: [],
      transcript: null,
      inputParameters: null,
      outputParameters: null,
    });
    const nulls = toCallRecord(parse({ ...example, cost: null, seconds: null, recordingUrls: null, data: null }), context);
    expect(nulls.cost).toBeNull();
    expect(nulls.durationSeconds).toBeNull();
    expect(nulls.details?.recordings).toEqual([]);
    expect(nulls.details?.outputParameters).toBeNull();
  });

  it('keeps a zero cost and zero duration (unanswered calls)', () => {
    const call = toCallRecord(parse({ ...example, status: 'busy', cost: 0, seconds: 0 }), context);
    expect(call.cost).toEqual({ amount: '0', currency: 'USD' });
    expect(call.durationSeconds).toBe(0);
  });

  it('keeps every recording URL in order', () => {
    const urls = ['https://api.twilio.com/a.mp3', 'https://api.twilio.com/b.mp3'];
    expect(toCallRecord(parse({ ...example, recordingUrls: urls }), context).details?.recordings).toEqual([
      { url: urls[0], expiresAt: null },
      { url: urls[1], expiresAt: null },
    ]);
  });
});

describe('toParty', () => {
  it.each([
    ['+14152148508', '+14152148508', 'US'],
    ['+1 (206) 809-1239', '+12068091239', 'US'],
    ['+442071838750', '+442071838750', 'GB'],
    ['+919876543210', '+919876543210', 'IN'],
  ])('%s → %s (%s), raw kept', (raw, e164, country) => {
    expect(toParty(raw)).toEqual({
      phoneNumber: e164,
      rawPhoneNumber: raw,
      displayName: null,
      countryCode: country,
      isStaff: null,
    });
  });

  it.each(['client:agent-7', 'anonymous', ''])('unreadable %j → no E.164, raw kept', (raw) => {
    expect(toParty(raw)).toMatchObject({ phoneNumber: null, rawPhoneNumber: raw, countryCode: null });
  });

  it('absent → all null', () => {
    expect(toParty(undefined)).toMatchObject({ phoneNumber: null, rawPhoneNumber: null, countryCode: null });
    expect(toParty(null)).toMatchObject({ phoneNumber: null, rawPhoneNumber: null });
  });
});

describe('parseRfc2822Date', () => {
  it.each([
    ['Tue, 30 Jan 2024 13:39:53 +0000', '2024-01-30T13:39:53.000Z'],
    ['30 Jan 2024 13:39:53 +0000', '2024-01-30T13:39:53.000Z'],
    ['Tue, 30 Jan 2024 08:39:53 -0500', '2024-01-30T13:39:53.000Z'],
    ['Wed, 31 Jan 2024 00:09:53 +0530', '2024-01-30T18:39:53.000Z'],
    ['Tue, 30 Jan 2024 13:39:53 GMT', '2024-01-30T13:39:53.000Z'],
    ['Tue, 30 Jan 2024 13:39 +0000', '2024-01-30T13:39:00.000Z'],
    ['Tue, 30 Jan 2024 05:39:53 PST', '2024-01-30T13:39:53.000Z'],
    ['tue, 30 jan 2024 13:39:53 +0000', '2024-01-30T13:39:53.000Z'],
    ['Thu, 1 Feb 2024 09:00:00 +0000', '2024-02-01T09:00:00.000Z'],
    ['Thu, 29 Feb 2024 23:59:59 +0000', '2024-02-29T23:59:59.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseRfc2822Date(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2024-01-30T13:39:53Z', // ISO 8601 is not what TalkStack sends
    '2024-01-30',
    '1706621993',
    'Wed, 30 Jan 2024 13:39:53 +0000', // 30 Jan 2024 was a Tuesday
    'Fri, 30 Feb 2024 13:39:53 +0000', // no such day
    'Thu, 29 Feb 2023 13:39:53 +0000',
    'Tue, 30 Jan 2024 24:00:00 +0000',
    'Tue, 30 Jan 2024 13:60:00 +0000',
    'Tue, 30 Jan 2024 13:39:53 +2400',
    'Tue, 30 Foo 2024 13:39:53 +0000',
    'Tue, 30 Jan 2024 13:39:53 XYZ',
    'Tue, 30 Jan 2024 13:39:53',
    'Sat, 30 Jan 1800 13:39:53 +0000',
    '',
  ])('rejects %j', (text) => {
    expect(parseRfc2822Date(text)).toBeNull();
  });
});

describe('money', () => {
  it.each([
    [0.077, '0.077'],
    [0, '0'],
    [12, '12'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e-7, '0.0000001'],
    [1.5e-7, '0.00000015'],
    [-2.5e-8, '-0.000000025'],
    [1e21, '1000000000000000000000'],
    [1.234e22, '12340000000000000000000'],
    [-0.0185, '-0.0185'],
  ])('%d → %s', (value, text) => {
    expect(decimalString(value)).toBe(text);
  });

  it('takes the cost from the digits sent, never rounded through a double', () => {
    const costOf = (json: string) =>
      toCallRecord(talkStackCallSchema.parse(parseUpstreamJson(JSON.stringify(example).replace('0.077', json))), context).cost;
    expect(costOf('0.077')).toEqual({ amount: '0.077', currency: 'USD' });
    expect(costOf('0.07700000000000000001')).toEqual({ amount: '0.07700000000000000001', currency: 'USD' });
    expect(costOf('12345678901234567.89')).toEqual({ amount: '12345678901234567.89', currency: 'USD' });
    expect(costOf('1.5e-7')).toEqual({ amount: '0.00000015', currency: 'USD' });
    expect(costOf('1e400')).toBeNull(); // no amount: past any double
    expect(costOf('1e-99999')).toBeNull(); // no amount: a hundred thousand zeros
  });

  it('is null without a cost', () => {
    expect(toMoney(null, 'USD')).toBeNull();
    expect(toMoney(undefined, 'USD')).toBeNull();
    expect(toMoney(Number.NaN, 'USD')).toBeNull();
    expect(toMoney(0.077, 'EUR')).toEqual({ amount: '0.077', currency: 'EUR' });
  });
});

describe('numeric ids', () => {
  it('keeps a numeric page token digit for digit', () => {
    const body = talkStackHistorySchema.parse(parseUpstreamJson('{"calls": [], "nextPageToken": 123456789012345678901}'));
    expect(body).toEqual({ calls: [], nextPageToken: '123456789012345678901' });
  });

  it('keeps a numeric callSid and numbers digit for digit', () => {
    const json = JSON.stringify({ ...example, callSid: 'SID', from: 'FROM' }).replace('"SID"', '90071992547409930001').replace('"FROM"', '14152148508');
    const record = toCallRecord(talkStackCallSchema.parse(parseUpstreamJson(json)), context);
    expect(record.key).toBe('90071992547409930001');
    expect(record.from).toMatchObject({ rawPhoneNumber: '14152148508' });
  });
});

describe('schemas', () => {
  it('read a date with a trailing RFC 5322 comment', () => {
    const call = talkStackCallSchema.parse({ ...example, date: 'Thu, 19 Nov 2026 14:06:45 +0000 (UTC)' });
    expect(call.date.toISOString()).toBe('2026-11-19T14:06:45.000Z');
  });

  it('reject a call whose date is not RFC 2822', () => {
    expect(talkStackCallSchema.safeParse({ ...example, date: '2024-01-30T13:39:53Z' }).success).toBe(false);
    expect(talkStackCallSchema.safeParse({ ...example, date: 'Wed, 30 Jan 2024 13:39:53 +0000' }).success).toBe(false);
  });

  it('reject wrong types on mapped fields', () => {
    expect(talkStackCallSchema.safeParse({ ...example, cost: '0.077' }).success).toBe(false);
    expect(talkStackCallSchema.safeParse({ ...example, seconds: '23' }).success).toBe(false);
    expect(talkStackCallSchema.safeParse({ ...example, callSid: undefined }).success).toBe(false);
    expect(talkStackCallSchema.safeParse({ ...example, recordingUrls: 'x' }).success).toBe(false);
  });

  it('accept the history as { calls, nextPageToken } or a bare array', () => {
    expect(talkStackHistorySchema.parse({ calls: [example], nextPageToken: 'abc' })).toMatchObject({
      calls: [{ callSid: example.callSid }],
      nextPageToken: 'abc',
    });
    expect(talkStackHistorySchema.parse({ calls: [], nextPageToken: null })).toEqual({ calls: [], nextPageToken: null });
    expect(talkStackHistorySchema.parse([example])).toHaveLength(1);
    expect(talkStackHistorySchema.safeParse({ items: [] }).success).toBe(false);
  });
});

describe('push-down', () => {
  it.each<[CallStatus[] | null, string | null | undefined]>([
    [null, undefined],
    [['QUEUED'], 'queued'],
    [['INITIATED'], 'initiated'],
    [['RINGING'], 'ringing'],
    [['IN_PROGRESS'], 'in-progress'],
    [['BUSY'], 'busy'],
    [['FAILED'], 'failed'],
    [['COMPLETED'], undefined], // completed + silence
    [['NO_ANSWER'], undefined], // no-answer + voicemail
    [['BUSY', 'FAILED'], undefined],
    [['BUSY', 'CANCELED'], 'busy'], // no TalkStack word is CANCELED
    [['BUSY', 'UNKNOWN'], undefined], // unknown words cannot be selected by the filter
    [['UNKNOWN'], undefined],
    [['CANCELED'], null], // nothing at TalkStack can match
    [[], null],
  ])('statuses %j → status %j', (statuses, word) => {
    expect(statusFilterFor(statuses)).toBe(word);
  });

  it('widens the time window to whole UTC days', () => {
    expect(dateFiltersFor(new Date('2026-11-10T15:30:00Z'), new Date('2026-11-12T08:00:00Z'))).toEqual({
      startTimeAfter: '2026-11-10',
      startTimeBefore: '2026-11-13',
    });
    expect(dateFiltersFor(new Date('2026-11-10T00:00:00Z'), new Date('2026-11-10T23:59:59.999Z'))).toEqual({
      startTimeAfter: '2026-11-10',
      startTimeBefore: '2026-11-11',
    });
    expect(dateFiltersFor(null, null)).toEqual({});
    expect(dateFiltersFor(new Date(Number.NaN), null)).toEqual({});
  });
});
