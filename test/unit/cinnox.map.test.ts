import type { CallStatus, ConnectionRef } from '../../src/calls/model.js';
import { STATUS_TABLE, directionOf, toCallRecord } from '../../src/providers/cinnox/map.js';
import { parseUpstreamJson } from '../../src/providers/json.js';
import { type CinnoxCall, cinnoxCallLogSchema, cinnoxCallSchema } from '../../src/providers/cinnox/schema.js';
import { createCinnoxSimulator } from '../../src/providers/cinnox/simulator.js';

const ref: ConnectionRef = { provider: 'CINNOX', connection: 'default' };

/** A record as the page documents it: an inbound call from a Hong Kong number to a staff member. */
const inbound = {
  hid: '6364b7a1e4b0c1a2b3c4d5e6',
  roomID: 'room-1',
  type: 'call',
  status: 'Call Ended',
  inquiryID: 'inq-1',
  displayCaseNumber: 'CS-000001',
  callID: 'c0ffee00-0000-4000-8000-000000000001',
  callDuration: 125,
  callDate: '2022-11-07T00:00:00.000Z',
  callEndTime: '2022-11-07T00:02:05.000Z',
  byeReason: 'Normal Clearing',
  releaseParty: 'Caller',
  virtualNumber: 85230018800,
  mediaType: 'audio',
  callerInfo: {
    countryCode: 'HK',
    displayName: 'Wing Wong',
    eid: 'visitor-1',
    isStaff: false,
    phoneNumber: 85298765432,
    serviceId: '',
  },
  calleeInfo: {
    displayName: 'Mei Ling Chan',
    eid: 'staff-1',
    isStaff: true,
    serviceId: 'svc-support-hk',
    ipLocDetail: { city: '', province: '', regionCode: '', subdivision: '' },
  },
};

const parse = (raw: unknown): CinnoxCall => cinnoxCallSchema.parse(raw);
const map = (raw: unknown) => toCallRecord(parse(raw), ref);
const withCaller = (callerInfo: Record<string, unknown>) => ({
  ...inbound,
  callerInfo: { ...inbound.callerInfo, ...callerInfo },
});
const withCallee = (calleeInfo: Record<string, unknown>) => ({
  ...inbound,
  calleeInfo: { ...inbound.calleeInfo, ...calleeInfo },
});

describe('CINNOX status table', () => {
  const contract: [string, CallStatus][] = [
    ['Call Ended', 'COMPLETED'],
    ['Declined', 'BUSY'],
    ['Busy', 'BUSY'],
    ['Not Answered', 'NO_ANSWER'],
    ['Cancelled', 'CANCELED'],
    ['Abandoned', 'CANCELED'],
    ['Unreachable', 'FAILED'],
    ['Call Failed', 'FAILED'],
  ];

  it('is exactly the contract table', () => {
    expect(STATUS_TABLE).toEqual(Object.fromEntries(contract));
  });

  it.each(contract)('maps %s to %s and keeps the word verbatim', (word, status) => {
    const call = map({ ...inbound, status: word });
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe(word);
  });

  it.each(['Transferred', 'call ended', '', 'Ringing'])('maps unknown word "%s" to UNKNOWN', (word) => {
    const call = map({ ...inbound, status: word });
    expect(call.status).toBe('UNKNOWN');
    expect(call.providerStatus).toBe(word);
  });
});

describe('CINNOX toCallRecord', () => {
  it('maps every field of an inbound call', () => {
    expect(map(inbound)).toEqual({
      provider: 'CINNOX',
      connection: 'default',
      key: 'c0ffee00-0000-4000-8000-000000000001',
      providerCallId: 'c0ffee00-0000-4000-8000-000000000001',
      direction: 'INBOUND',
      status: 'COMPLETED',
      providerStatus: 'Call Ended',
      from: {
        phoneNumber: '+85298765432',
        rawPhoneNumber: '85298765432',
        displayName: 'Wing Wong',
        countryCode: 'HK',
        isStaff: false,
      },
      to: {
        phoneNumber: null,
        rawPhoneNumber: null,
        displayName: 'Mei Ling Chan',
        countryCode: null,
        isStaff: true,
      },
      startedAt: new Date('2022-11-07T00:00:00.000Z'),
      answeredAt: null,
      endedAt: new Date('2022-11-07T00:02:05.000Z'),
      durationSeconds: 125,
      cost: null,
      endReason: 'Normal Clearing',
      agentId: 'staff-1',
      details: {
        billedDurationSeconds: null,
        recordings: [],
        transcript: null,
        inputParameters: null,
        outputParameters: null,
      },
    });
  });

  it('maps an outbound call: staff caller, external callee located by IP', () => {
    const call = map({
      ...inbound,
      callerInfo: {
        countryCode: 'SG',
        displayName: 'Tan Wei Jie',
        eid: 'staff-2',
        isStaff: true,
        phoneNumber: 6531586600,
        serviceId: 'svc-support-sg',
      },
      calleeInfo: {
        displayName: 'Arjun Patel',
        eid: 'contact-9',
        isStaff: false,
        serviceId: '',
        ipLocDetail: { city: 'Mumbai', province: 'Maharashtra', regionCode: 'IN', subdivision: '' },
      },
    });
    expect(call.direction).toBe('OUTBOUND');
    expect(call.agentId).toBe('staff-2');
    expect(call.from).toEqual({
      phoneNumber: '+6531586600',
      rawPhoneNumber: '6531586600',
      displayName: 'Tan Wei Jie',
      countryCode: 'SG',
      isStaff: true,
    });
    expect(call.to).toEqual({
      phoneNumber: null,
      rawPhoneNumber: null,
      displayName: 'Arjun Patel',
      countryCode: 'IN',
      isStaff: false,
    });
  });

  it.each([
    { caller: true, callee: false, direction: 'OUTBOUND', agent: 'visitor-1' },
    { caller: false, callee: true, direction: 'INBOUND', agent: 'staff-1' },
    { caller: false, callee: false, direction: null, agent: null },
    // Staff to staff: the contract's rule reads the caller first.
    { caller: true, callee: true, direction: 'OUTBOUND', agent: 'visitor-1' },
  ])('direction from isStaff: caller $caller, callee $callee → $direction', (c) => {
    const raw = {
      ...inbound,
      callerInfo: { ...inbound.callerInfo, isStaff: c.caller },
      calleeInfo: { ...inbound.calleeInfo, isStaff: c.callee },
    };
    expect(directionOf(parse(raw))).toBe(c.direction);
    const call = map(raw);
    expect(call.direction).toBe(c.direction);
    expect(call.agentId).toBe(c.agent);
    expect(call.from.isStaff).toBe(c.caller);
    expect(call.to.isStaff).toBe(c.callee);
  });

  it('has no direction or agent when isStaff is missing', () => {
    const { isStaff: _caller, ...callerInfo } = inbound.callerInfo;
    const { isStaff: _callee, ...calleeInfo } = inbound.calleeInfo;
    const call = map({ ...inbound, callerInfo, calleeInfo });
    expect(call.direction).toBeNull();
    expect(call.agentId).toBeNull();
    expect(call.from.isStaff).toBeNull();
    expect(call.to.isStaff).toBeNull();
  });

  it.each([
    // [JSON number, E.164, raw, country from the number]
    [85298765432, '+85298765432', '85298765432', 'HK'],
    [6591234567, '+6591234567', '6591234567', 'SG'],
    [919876543210, '+919876543210', '919876543210', 'IN'],
    [14152148508, '+14152148508', '14152148508', 'US'],
    [912261234500, '+912261234500', '912261234500', 'IN'],
  ])('reads phone number %p as %s (raw %s)', (number, e164, raw, country) => {
    const call = map(withCaller({ phoneNumber: number, countryCode: '' }));
    expect(call.from.phoneNumber).toBe(e164);
    expect(call.from.rawPhoneNumber).toBe(raw);
    // An empty countryCode falls back to the number's country.
    expect(call.from.countryCode).toBe(country);
  });

  it('keeps the provider country code over the number', () => {
    const call = map(withCaller({ phoneNumber: 85298765432, countryCode: 'sg' }));
    expect(call.from.countryCode).toBe('SG');
  });

  it('keeps an unusable number raw with a null E.164', () => {
    const call = map(withCaller({ phoneNumber: 12, countryCode: '' }));
    expect(call.from.phoneNumber).toBeNull();
    expect(call.from.rawPhoneNumber).toBe('12');
    expect(call.from.countryCode).toBeNull();
  });

  it('tolerates a missing or string phone number', () => {
    const { phoneNumber: _, ...noPhone } = inbound.callerInfo;
    const missing = map({ ...inbound, callerInfo: noPhone });
    expect(missing.from.phoneNumber).toBeNull();
    expect(missing.from.rawPhoneNumber).toBeNull();
    expect(missing.from.countryCode).toBe('HK');
    const text = map(withCaller({ phoneNumber: '85298765432' }));
    expect(text.from.phoneNumber).toBe('+85298765432');
    expect(text.from.rawPhoneNumber).toBe('85298765432');
  });

  it('keeps a JSON phone number digit for digit, however long, never in exponent notation', () => {
    const rawOf = (json: string) =>
      map(parseUpstreamJson(JSON.stringify(inbound).replace('85298765432', json))).from.rawPhoneNumber;
    expect(rawOf('919876543210')).toBe('919876543210');
    expect(rawOf('9007199254740991')).toBe('9007199254740991');
    expect(rawOf('9007199254740993')).toBe('9007199254740993'); // a double would give …992
    expect(rawOf('1000000000000000000000')).toBe('1000000000000000000000'); // String(1e21) is "1e+21"
    expect(map(withCaller({ phoneNumber: '' })).from.rawPhoneNumber).toBeNull();
  });

  it('keeps numeric ids digit for digit', () => {
    const record = map(
      parseUpstreamJson(
        JSON.stringify({ ...inbound, callID: 'CALLID', calleeInfo: { ...inbound.calleeInfo, eid: 'EID' } })
          .replace('"CALLID"', '12345678901234567891')
          .replace('"EID"', '9007199254740993'),
      ),
    );
    expect(record.key).toBe('12345678901234567891');
    expect(record.providerCallId).toBe('12345678901234567891');
    expect(record.agentId).toBe('9007199254740993');
  });

  it('turns empty optional text into null', () => {
    const call = map({
      ...inbound,
      byeReason: '',
      callEndTime: '',
      callerInfo: { ...inbound.callerInfo, displayName: '', countryCode: '' },
      calleeInfo: { ...inbound.calleeInfo, displayName: '', eid: '' },
    });
    expect(call.endReason).toBeNull();
    expect(call.endedAt).toBeNull();
    expect(call.from.displayName).toBeNull();
    expect(call.from.countryCode).toBe('HK'); // from the number
    expect(call.to.displayName).toBeNull();
    expect(call.agentId).toBeNull(); // staff callee without an eid
  });

  it('takes the callee country from ipLocDetail.regionCode only when it is a country code', () => {
    const located = (regionCode: string) =>
      map(withCallee({ ipLocDetail: { city: '', province: '', regionCode, subdivision: '' } })).to.countryCode;
    expect(located('HK')).toBe('HK');
    expect(located('in')).toBe('IN');
    expect(located('')).toBeNull();
    expect(located('Maharashtra')).toBeNull();
    const { ipLocDetail: _, ...noLocation } = inbound.calleeInfo;
    expect(map({ ...inbound, calleeInfo: noLocation }).to.countryCode).toBeNull();
  });

  it('maps missing parties to empty parties', () => {
    const { callerInfo: _a, calleeInfo: _b, ...bare } = inbound;
    const call = map(bare);
    expect(call.from).toEqual({
      phoneNumber: null,
      rawPhoneNumber: null,
      displayName: null,
      countryCode: null,
      isStaff: null,
    });
    expect(call.to.displayName).toBeNull();
    expect(call.direction).toBeNull();
  });

  it('reads dates with or without milliseconds and offsets', () => {
    const call = map({ ...inbound, callDate: '2022-11-07T08:00:00+08:00', callEndTime: '2022-11-07T00:00:30Z' });
    expect(call.startedAt.toISOString()).toBe('2022-11-07T00:00:00.000Z');
    expect(call.endedAt?.toISOString()).toBe('2022-11-07T00:00:30.000Z');
    expect(map({ ...inbound, callEndTime: 'not a date' }).endedAt).toBeNull();
  });

  it.each([
    [0, 0],
    [61, 61],
    [61.6, 62],
    [-1, null],
    [null, null],
  ])('reads callDuration %p as %p seconds', (duration, seconds) => {
    expect(map({ ...inbound, callDuration: duration }).durationSeconds).toBe(seconds);
  });

  it('refuses records without a usable callID or callDate', () => {
    expect(cinnoxCallSchema.safeParse({ ...inbound, callID: '' }).success).toBe(false);
    expect(cinnoxCallSchema.safeParse({ ...inbound, callDate: 'yesterday' }).success).toBe(false);
    expect(cinnoxCallSchema.safeParse({ ...inbound, callDuration: '125' }).success).toBe(false);
    expect(cinnoxCallSchema.safeParse({ ...inbound, callerInfo: { isStaff: 'yes' } }).success).toBe(false);
  });

  it('accepts an error body without result', () => {
    expect(cinnoxCallLogSchema.parse({ code: 40001, message: 'limit must not exceed 500' })).toEqual({
      code: 40001,
    });
  });

  it('maps every simulated row without error', () => {
    const sim = createCinnoxSimulator();
    const calls = sim.rows.map((row) => map(row));
    expect(calls).toHaveLength(300);
    // Every inbound caller's and staff caller's number becomes E.164.
    expect(calls.every((call) => call.from.phoneNumber?.startsWith('+'))).toBe(true);
    expect(new Set(calls.map((call) => call.direction))).toEqual(new Set(['INBOUND', 'OUTBOUND', null]));
    expect(new Set(calls.map((call) => call.providerStatus))).toEqual(
      new Set([...Object.keys(STATUS_TABLE), 'Transferred']),
    );
    expect(calls.every((call) => call.to.phoneNumber === null)).toBe(true);
    expect(calls.filter((call) => call.from.phoneNumber === '+919876543210').length).toBeGreaterThan(0);
    expect(calls.filter((call) => call.from.phoneNumber === '+14152148508').length).toBeGreaterThan(0);
    expect(calls.every((call) => call.from.countryCode !== null)).toBe(true);
  });
});
