import type { z } from 'zod';
import { directionFromWord } from '../../src/calls/adapter.js';
import type { CallStatus } from '../../src/calls/model.js';
import { statusWordFor } from '../../src/providers/unpod/client.js';
import {
  STATUS_TABLE,
  derivedKey,

  parseDuration,
  rowKey,
  toCallRecord,
  toParty,
} from '../../src/providers/unpod/map.js';
import { parseUpstreamJson } from '../../src/providers/json.js';
import { UNPOD_ZONELESS, unpodListSchema, unpodRowSchema, type UnpodRow } from '../../src/providers/unpod/schema.js';
import { parseIsoInstant } from '../../src/time.js';

const context = { connection: 'default', orgHandle: 'demo-org' };

/** The main reference's example row (no id), as Unpod sends it. */
const referenceJson: z.input<typeof unpodRowSchema> = {
  source_number: '+911234567890',
  destination_number: '+919876543210',
  call_type: 'outbound',
  call_status: 'completed',
  creation_time: '2026-02-07T05:57:00Z',
  start_time: '2026-02-07T05:57:45Z',
  end_time: '2026-02-07T06:01:12Z',
  call_duration: 207,
  end_reason: 'caller_hangup',
};
/** The same row as the schema reads it (`creation_time` a Date). */
const referenceRow: UnpodRow = unpodRowSchema.parse(referenceJson);
/** The reference row with some fields as Unpod would send them, read by the schema. */
const read = (overrides: Partial<z.input<typeof unpodRowSchema>>): UnpodRow => unpodRowSchema.parse({ ...referenceJson, ...overrides });

describe('Unpod status table (contract)', () => {
  it.each<[string, CallStatus]>([
    ['completed', 'COMPLETED'],
    ['missed', 'NO_ANSWER'],
    ['no-answer', 'NO_ANSWER'],
    ['failed', 'FAILED'],
  ])('%s → %s', (word, status) => {
    expect(STATUS_TABLE[word]).toBe(status);
    const call = toCallRecord({ ...referenceRow, call_status: word }, context);
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe(word);
  });

  it('holds exactly the contract words', () => {
    expect(Object.keys(STATUS_TABLE).sort()).toEqual(['completed', 'failed', 'missed', 'no-answer']);
  });

  it.each(['transferred', 'Completed', '', 'in-progress'])('unknown word %j → UNKNOWN, kept verbatim', (word) => {
    const call = toCallRecord({ ...referenceRow, call_status: word }, context);
    expect(call.status).toBe('UNKNOWN');
    expect(call.providerStatus).toBe(word);
  });
});

describe('statusWordFor (push-down of statuses)', () => {
  it.each<[CallStatus[], string | null]>([
    [['COMPLETED'], 'completed'],
    [['FAILED'], 'failed'],
    [['NO_ANSWER'], null], // two words: missed and no-answer
    [['COMPLETED', 'FAILED'], null],
    [['COMPLETED', 'BUSY'], 'completed'], // no Unpod word maps to BUSY
    [['COMPLETED', 'UNKNOWN'], null], // UNKNOWN rows cannot be selected by one word
    [['UNKNOWN'], null],
    [['BUSY'], null],
    [[], null],
  ])('%j → %j', (statuses, word) => {
    expect(statusWordFor(statuses)).toBe(word);
  });
});

describe('Unpod field mapping', () => {
  it('maps the reference row', () => {
    const call = toCallRecord(referenceRow, context);
    expect(call).toEqual({
      provider: 'UNPOD',
      connection: 'default',
      key: derivedKey(referenceRow, 'demo-org'),
      providerCallId: null,
      direction: 'OUTBOUND',
      status: 'COMPLETED',
      providerStatus: 'completed',
      from: {
        phoneNumber: '+911234567890',
        rawPhoneNumber: '+911234567890',
        displayName: null,
        countryCode: 'IN',
        isStaff: null,
      },
      to: {
        phoneNumber: '+919876543210',
        rawPhoneNumber: '+919876543210',
        displayName: null,
        countryCode: 'IN',
        isStaff: null,
      },
      startedAt: new Date('2026-02-07T05:57:00.000Z'),
      answeredAt: new Date('2026-02-07T05:57:45.000Z'),
      endedAt: new Date('2026-02-07T06:01:12.000Z'),
      durationSeconds: 207,
      cost: null,
      endReason: 'caller_hangup',
      agentId: null,
      details: {
        billedDurationSeconds: null,
        recordings: [],
        transcript: null,
        inputParameters: null,
        outputParameters: null,
      },
    });
  });

  it('uses the id as key and providerCallId when present', () => {
    const call = toCallRecord({ ...referenceRow, id: 'call_abc123def456' }, context);
    expect(call.key).toBe('call_abc123def456');
    expect(call.providerCallId).toBe('call_abc123def456');
  });

  it('maps agent_id when present', () => {
    expect(toCallRecord({ ...referenceRow, agent_id: 'agent_1' }, context).agentId).toBe('agent_1');
  });

  it('maps a missed call: answeredAt and endedAt null', () => {
    const call = toCallRecord(
      { ...referenceRow, call_type: 'inbound', call_status: 'missed', start_time: null, end_time: null, call_duration: 0, end_reason: 'no_answer' },
      context,
    );
    expect(call.direction).toBe('INBOUND');
    expect(call.answeredAt).toBeNull();
    expect(call.endedAt).toBeNull();
    expect(call.durationSeconds).toBe(0);
    expect(call.endReason).toBe('no_answer');
  });

  it('maps unreadable optional values to null instead of throwing', () => {
    const call = toCallRecord(
      { ...referenceRow, start_time: 'soon', end_time: '', call_duration: 'a while', call_type: 'sideways', end_reason: '' },
      context,
    );
    expect(call.answeredAt).toBeNull();
    expect(call.endedAt).toBeNull();
    expect(call.durationSeconds).toBeNull();
    expect(call.direction).toBeNull();
    expect(call.endReason).toBeNull();
  });

  it.each<[string | null, string | null]>([
    ['inbound', 'INBOUND'],
    ['outbound', 'OUTBOUND'],
    ['Outbound', 'OUTBOUND'],
    ['web', null],
    [null, null],
  ])('direction %j → %j', (word, direction) => {
    expect(directionFromWord(word)).toBe(direction);
  });
});

describe('Unpod phone numbers', () => {
  it('keeps the raw number and takes the country from it', () => {
    expect(toParty('+14152148508')).toEqual({
      phoneNumber: '+14152148508',
      rawPhoneNumber: '+14152148508',
      displayName: null,
      countryCode: 'US',
      isStaff: null,
    });
  });
  it('keeps a JSON number as its digits (the schema reads it as text)', () => {
    const row = unpodRowSchema.parse(parseUpstreamJson(`{"source_number": 919876543210, "call_status": "completed", "creation_time": "2026-02-07T05:57:00Z"}`));
    expect(toParty(row.source_number).rawPhoneNumber).toBe('919876543210');
  });
  it.each([null, undefined, '', 'anonymous'])('%j → no E.164', (raw) => {
    const party = toParty(raw);
    expect(party.phoneNumber).toBeNull();
    expect(party.countryCode).toBeNull();
  });
});

describe('Unpod call_duration quirk', () => {
  it.each<[number | string | null | undefined, number | null]>([
    [207, 207],
    [0, 0],
    ['0:05:25', 325],
    ['1:00:00', 3600],
    ['12:34:56', 45296],
    ['05:25', 325],
    ['325', 325],
    ['207.6', 208],
    [' 0:00:07 ', 7],
    [12.4, 12],
    [-3, null],
    ['0:75:00', null],
    ['soon', null],
    ['', null],
    [null, null],
    [undefined, null],
  ])('%j → %j', (value, seconds) => {
    expect(parseDuration(value)).toBe(seconds);
  });
});

describe('Unpod derived keys (rows without id)', () => {
  it('is d + 20 hex digits, stable for the same row', () => {
    const key = derivedKey(referenceRow, 'demo-org');
    expect(key).toMatch(/^d[0-9a-f]{20}$/);
    expect(derivedKey({ ...referenceRow }, 'demo-org')).toBe(key);
    expect(rowKey(referenceRow, 'demo-org')).toBe(key);
  });

  it('ignores fields that may change (status, times, duration) and formatting of the instant', () => {
    const key = derivedKey(referenceRow, 'demo-org');
    expect(
      derivedKey(
        read({ call_status: 'failed', call_duration: '0:03:27', end_time: null, creation_time: '2026-02-07T05:57:00.000Z' }),
        'demo-org',
      ),
    ).toBe(key);
  });

  it.each([
    ['organisation', { ...referenceRow }, 'other-org'],
    ['creation_time', read({ creation_time: '2026-02-07T05:57:01Z' }), 'demo-org'],
    ['source', { ...referenceRow, source_number: '+911234567891' }, 'demo-org'],
    ['destination', { ...referenceRow, destination_number: '+919876543211' }, 'demo-org'],
  ])('changes with the %s', (_field, row, org) => {
    expect(derivedKey(row, org)).not.toBe(derivedKey(referenceRow, 'demo-org'));
  });

  it('is the sha256 of org|creation_time|source|destination', async () => {
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256')
      .update('demo-org|2026-02-07T05:57:00.000Z|+911234567890|+919876543210')
      .digest('hex')
      .slice(0, 20);
    expect(derivedKey(referenceRow, 'demo-org')).toBe(`d${expected}`);
  });
});

describe('Unpod schema', () => {
  it('tolerates extra fields and strips them', () => {
    const row = unpodRowSchema.parse({ ...referenceJson, bridge: 1, something: { nested: true } });
    expect(row).not.toHaveProperty('bridge');
    expect(toCallRecord(row, context).key).toBe(derivedKey(referenceRow, 'demo-org'));
  });

  it('accepts both duration formats and a missing id', () => {
    expect(unpodRowSchema.safeParse({ ...referenceJson, call_duration: '0:05:25' }).success).toBe(true);
    expect(unpodRowSchema.safeParse({ ...referenceJson, id: undefined }).success).toBe(true);
  });

  it('rejects a row whose creation_time is not an instant', () => {
    expect(unpodRowSchema.safeParse({ ...referenceJson, creation_time: 'yesterday' }).success).toBe(false);
    expect(unpodRowSchema.safeParse({ ...referenceJson, creation_time: undefined }).success).toBe(false);
  });

  it('requires count and data in a list body', () => {
    expect(unpodListSchema.safeParse({ count: 1, status_code: 200, message: 'ok', data: [referenceJson] }).success).toBe(true);
    expect(unpodListSchema.safeParse({ status_code: 200, data: [] }).success).toBe(false);
    expect(unpodListSchema.safeParse({ count: 0 }).success).toBe(false);
  });
});

describe('Unpod numeric ids', () => {
  it('keeps ids past 2^53 digit for digit: two calls, two keys', () => {
    const body = unpodListSchema.parse(
      parseUpstreamJson(
        `{"count": 2, "data": [{"id": 9007199254740993, "agent_id": 9007199254740995, "call_status": "completed", "creation_time": "2026-02-07T05:57:00Z"},` +
          ` {"id": 9007199254740992, "call_status": "completed", "creation_time": "2026-02-07T05:57:00Z"}]}`,
      ),
    );
    const [a, b] = body.data.map((row) => toCallRecord(unpodRowSchema.parse(row), context));
    expect([a!.providerCallId, b!.providerCallId]).toEqual(['9007199254740993', '9007199254740992']);
    expect(a!.key).not.toBe(b!.key);
    expect(a!.agentId).toBe('9007199254740995');
  });
});

describe('Unpod instants', () => {
  const parseInstant = (text: string) => parseIsoInstant(text, UNPOD_ZONELESS);
  it.each<[string, string | null]>([
    ['2026-02-07T05:57:00Z', '2026-02-07T05:57:00.000Z'],
    ['2026-02-07T05:57:00.250Z', '2026-02-07T05:57:00.250Z'],
    ['2026-02-07T11:27:00+05:30', '2026-02-07T05:57:00.000Z'],
    ['2026-02-07T11:27:00+0530', '2026-02-07T05:57:00.000Z'],
    ['2026-02-07T05:57:00', '2026-02-07T05:57:00.000Z'], // no zone: UTC, not the local zone
    ['2026-02-07 05:57:00', '2026-02-07T05:57:00.000Z'],
    ['2026-02-07', null], // a day is not an instant
    ['2026-02-30T05:57:00Z', null],
    ['2025-02-29T05:57:00Z', null],
    ['not a date', null],
    ['', null],
  ])('%j → %j', (text, iso) => {
    expect(parseInstant(text)?.toISOString() ?? null).toBe(iso);
  });
});
