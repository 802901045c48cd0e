import { statusFilterFor, dateFiltersFor, twilioCredentials } from '../../src/providers/twilio/client.js';
import { STATUS_TABLE, toCallDetails, toCallRecord, toDirection, toMoney, toParty } from '../../src/providers/twilio/map.js';
import { twilioCallSchema, twilioRecordingSchema, twilioRowSchema } from '../../src/providers/twilio/schema.js';

const SID = 'CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const DAY = 86_400_000;

/** The reference's example Call (readFullPage1), some nullable fields null. */
const example = {
  sid: SID,
  account_sid: 'ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  parent_call_sid: null,
  status: 'completed',
  direction: 'outbound-api',
  from: '+13051416799',
  from_formatted: '(305) 141-6799',
  to: '+13051913581',
  to_formatted: '(305) 191-3581',
  caller_name: null,
  forwarded_from: null,
  date_created: 'Fri, 18 Oct 2019 17:00:00 +0000',
  date_updated: 'Fri, 18 Oct 2019 17:01:00 +0000',
  start_time: 'Fri, 18 Oct 2019 17:02:00 +0000',
  end_time: 'Fri, 18 Oct 2019 17:03:00 +0000',
  duration: '4',
  price: '-0.200',
  price_unit: 'USD',
  answered_by: 'machine_start',
  queue_time: '1000',
  api_version: '2010-04-01',
  phone_number_sid: 'PNdeadbeefdeadbeefdeadbeefdeadbeef',
  group_sid: null,
  trunk_sid: null,
  uri: `/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Calls/${SID}.json`,
  subresource_uris: { recordings: `/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Calls/${SID}/Recordings.json` },
};

const map = (overrides: Record<string, unknown> = {}) => toCallRecord(twilioRowSchema.parse({ ...example, ...overrides }), 'default');

describe('Twilio mapping', () => {
  it('maps the reference example field by field', () => {
    expect(map()).toEqual({
      provider: 'TWILIO',
      connection: 'default',
      key: SID,
      providerCallId: SID,
      direction: 'OUTBOUND',
      status: 'COMPLETED',
      providerStatus: 'completed',
      // 305-141 is no real exchange: E.164 still, but no country can be told.
      from: { phoneNumber: '+13051416799', rawPhoneNumber: '+13051416799', displayName: null, countryCode: null, isStaff: null },
      to: { phoneNumber: '+13051913581', rawPhoneNumber: '+13051913581', displayName: null, countryCode: null, isStaff: null },
      startedAt: new Date('2019-10-18T17:02:00.000Z'),
      answeredAt: null,
      endedAt: new Date('2019-10-18T17:03:00.000Z'),
      durationSeconds: 4,
      cost: { amount: '0.200', currency: 'USD' },
      endReason: null, // answered_by is not an end reason
      agentId: null,
      // Twilio has none of these; recordings (left out) come from the sub-resource, lazily.
      details: { billedDurationSeconds: null, transcript: null, transcriptText: null, inputParameters: null, outputParameters: null },
    });
  });

  it.each([
    ['queued', 'QUEUED'],
    ['initiated', 'INITIATED'],
    ['ringing', 'RINGING'],
    ['in-progress', 'IN_PROGRESS'],
    ['completed', 'COMPLETED'],
    ['busy', 'BUSY'],
    ['no-answer', 'NO_ANSWER'],
    ['canceled', 'CANCELED'],
    ['failed', 'FAILED'],
    ['cancelled', 'UNKNOWN'],
    ['Completed', 'UNKNOWN'],
    ['', 'UNKNOWN'],
    ['toString', 'UNKNOWN'],
  ])('status %j is %s, kept verbatim as providerStatus', (word, status) => {
    const call = map({ status: word });
    expect(call.status).toBe(status);
    expect(call.providerStatus).toBe(word);
  });

  it('has exactly the contract row', () => {
    expect(Object.keys(STATUS_TABLE).sort()).toEqual(
      ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'canceled', 'failed'].sort(),
    );
  });

  it.each([
    ['inbound', 'INBOUND'],
    ['trunking-originating', 'INBOUND'],
    ['outbound-api', 'OUTBOUND'],
    ['outbound-dial', 'OUTBOUND'],
    ['trunking-terminating', 'OUTBOUND'],
    ['', null],
    [null, null],
    ['outbound', null],
    ['constructor', null],
  ])('direction %j is %s', (word, direction) => {
    expect(toDirection(word)).toBe(direction);
    expect(map({ direction: word }).direction).toBe(direction);
  });

  it('reads parties: E.164 only from + and digits, raw text kept, caller_name on the caller', () => {
    expect(toParty('client:alice', null)).toEqual({ phoneNumber: null, rawPhoneNumber: 'client:alice', displayName: null, countryCode: null, isStaff: null });
    expect(toParty('sip:4155550123@pbx.example.com', null).phoneNumber).toBeNull();
    expect(toParty('sim:DEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', null).phoneNumber).toBeNull();
    expect(toParty('14155550123', null).phoneNumber).toBeNull(); // not E.164 as sent
    expect(toParty('+442071838750', null)).toMatchObject({ phoneNumber: '+442071838750', countryCode: 'GB' });
    expect(toParty('', null).rawPhoneNumber).toBeNull();
    const call = map({ caller_name: 'JOHN SMITH', direction: 'inbound' });
    expect(call.from.displayName).toBe('JOHN SMITH');
    expect(call.to.displayName).toBeNull();
  });

  it('flips the price sign on its text, keeping every digit; no price or no unit is no cost', () => {
    expect(toMoney('-0.200', 'USD')).toEqual({ amount: '0.200', currency: 'USD' });
    expect(toMoney('-0.1873', 'usd')).toEqual({ amount: '0.1873', currency: 'USD' });
    expect(toMoney('-0.01400', 'EUR')).toEqual({ amount: '0.01400', currency: 'EUR' });
    expect(toMoney('-12345678901234567.123456789', 'JPY')).toEqual({ amount: '12345678901234567.123456789', currency: 'JPY' });
    expect(toMoney('0.00', 'USD')).toEqual({ amount: '0.00', currency: 'USD' });
    expect(toMoney('-0.00', 'USD')).toEqual({ amount: '0.00', currency: 'USD' });
    expect(toMoney('0.50', 'USD')).toEqual({ amount: '-0.50', currency: 'USD' }); // a credit
    expect(toMoney(null, 'USD')).toBeNull();
    expect(toMoney('-0.2', null)).toBeNull();
    expect(toMoney('-0.2', 'dollars')).toBeNull();
    expect(map({ price: null }).cost).toBeNull();
    expect(map({ price: '' }).cost).toBeNull();
  });

  it('reads price as text, never through a double, also from a JSON number', async () => {
    const { parseUpstreamJson } = await import('../../src/providers/json.js');
    const raw = parseUpstreamJson(JSON.stringify({ ...example }).replace('"-0.200"', '-0.2000000000000000111')) as Record<string, unknown>;
    expect(map(raw).cost).toEqual({ amount: '0.2000000000000000111', currency: 'USD' });
    // An exponent form (a JSON number may be written so) is written out, digits moved, never rounded.
    expect(map({ price: '-1e-3' }).cost).toEqual({ amount: '0.001', currency: 'USD' });
    expect(map(parseUpstreamJson(JSON.stringify({ ...example }).replace('"-0.200"', '-7.7E-21')) as Record<string, unknown>).cost).toEqual({
      amount: '0.0000000000000000000077',
      currency: 'USD',
    });
    expect(twilioCallSchema.safeParse({ ...example, price: 'free' }).success).toBe(false);
  });

  it('reads durations as whole seconds from strings; empty is null; anything else refuses the row', () => {
    expect(map({ duration: '0' }).durationSeconds).toBe(0);
    expect(map({ duration: '3600' }).durationSeconds).toBe(3600);
    expect(map({ duration: 17 }).durationSeconds).toBe(17);
    expect(map({ duration: '' }).durationSeconds).toBeNull();
    expect(map({ duration: null }).durationSeconds).toBeNull();
    for (const bad of ['4.5', '-1', 'four']) expect(twilioRowSchema.safeParse({ ...example, duration: bad }).success).toBe(false);
  });

  it('reads RFC 2822 dates exactly, with other zones and obsolete forms, and refuses ISO 8601', () => {
    expect(map({ start_time: 'Fri, 18 Oct 2019 19:02:00 +0200' }).startedAt.toISOString()).toBe('2019-10-18T17:02:00.000Z');
    expect(map({ start_time: 'Fri, 18 Oct 2019 17:02:00 GMT' }).startedAt.toISOString()).toBe('2019-10-18T17:02:00.000Z');
    expect(map({ end_time: '' }).endedAt).toBeNull();
    expect(map({ end_time: null }).endedAt).toBeNull();
    const bad = twilioRowSchema.safeParse({ ...example, start_time: '2019-10-18T17:02:00Z' });
    expect(bad.success).toBe(false);
    // An end that does not read is unknown, as every provider's end is; the call is still listed.
    expect(map({ end_time: 'yesterday' }).endedAt).toBeNull();
    expect(map({ end_time: 'Tue, 31 Nov 2026 14:06:45 +0000' }).endedAt).toBeNull();
  });

  it('places a call not yet dialled (empty start_time) at its date_created; with neither the row does not read', () => {
    const queued = map({ status: 'queued', start_time: '', end_time: '', duration: '', price: null });
    expect(queued.startedAt.toISOString()).toBe('2019-10-18T17:00:00.000Z');
    expect(queued.status).toBe('QUEUED');
    const neither = twilioRowSchema.safeParse({ ...example, start_time: '', date_created: '' });
    expect(neither.success).toBe(false);
    expect(neither.error?.issues[0]?.path).toEqual(['start_time']);
  });

  it('refuses a sid that is not a Call SID', () => {
    for (const sid of ['CA123', 'REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', `${SID}/../x`, '']) {
      expect(twilioRowSchema.safeParse({ ...example, sid }).success).toBe(false);
    }
  });

  it('knows a call that never connected has no recordings; others need the sub-resource', () => {
    for (const status of ['busy', 'no-answer', 'canceled', 'failed']) expect(map({ status }).details?.recordings).toEqual([]);
    for (const status of ['completed', 'in-progress', 'ringing', 'queued', 'initiated', 'weird']) expect(map({ status }).details).toEqual({ billedDurationSeconds: null, transcript: null, transcriptText: null, inputParameters: null, outputParameters: null });
  });

  it('maps a child leg as its own outbound call', () => {
    const child = map({ sid: 'CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', parent_call_sid: SID, direction: 'outbound-dial' });
    expect(child.key).toBe('CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
    expect(child.direction).toBe('OUTBOUND');
  });

  it('maps recordings: completed ones only, .mp3 (.wav when encrypted) under the base URL, no expiry', () => {
    const uri = `/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Calls/${SID}/Recordings/REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json`;
    const recording = (overrides: Record<string, unknown>) =>
      twilioRecordingSchema.parse({ sid: 'REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', status: 'completed', uri, encryption_details: null, ...overrides });
    expect(
      toCallDetails(
        [recording({}), recording({ encryption_details: { type: 'rsa-aes' } }), recording({ status: 'absent' }), recording({ status: 'processing' })],
        'https://api.twilio.com',
      ),
    ).toEqual({
      billedDurationSeconds: null,
      recordings: [
        { url: `https://api.twilio.com${uri.replace(/\.json$/, '.mp3')}`, expiresAt: null },
        { url: `https://api.twilio.com${uri.replace(/\.json$/, '.wav')}`, expiresAt: null },
      ],
      transcript: null,
      transcriptText: null,
      inputParameters: null,
      outputParameters: null,
    });
    expect(twilioRecordingSchema.safeParse({ sid: 'REaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', status: 'completed', uri: 'https://evil.example/x.json' }).success).toBe(false);
  });
});

describe('Twilio push-down', () => {
  it('pushes a status only when exactly one filterable word means it', () => {
    expect(statusFilterFor(null)).toBeUndefined();
    expect(statusFilterFor(['COMPLETED'])).toBe('completed');
    expect(statusFilterFor(['NO_ANSWER'])).toBe('no-answer');
    expect(statusFilterFor(['CANCELED'])).toBe('canceled');
    expect(statusFilterFor(['INITIATED'])).toBeUndefined(); // the Status filter refuses `initiated`
    expect(statusFilterFor(['BUSY', 'FAILED'])).toBeUndefined();
    expect(statusFilterFor(['UNKNOWN'])).toBeUndefined();
    expect(statusFilterFor(['COMPLETED', 'UNKNOWN'])).toBeUndefined();
    expect(statusFilterFor([])).toBeNull();
  });

  it('widens time bounds to whole UTC days: StartTime> the day of from, StartTime< the day after until', () => {
    expect(dateFiltersFor(new Date('2026-11-01T23:59:59.999Z'), new Date('2026-11-03T00:00:00.000Z'))).toEqual({
      'StartTime>': '2026-11-01',
      'StartTime<': '2026-11-04',
    });
    expect(dateFiltersFor(null, null)).toEqual({});
    expect(dateFiltersFor(new Date(NaN), null)).toEqual({});
    // The ends of time (the core's end-of-list position) cannot be written as a date: left out, never sent garbled.
    expect(dateFiltersFor(new Date(-8.64e15), new Date(8.64e15 - DAY))).toEqual({});
    expect(dateFiltersFor(new Date('0000-01-01T00:00:00Z'), new Date('9999-12-30T12:00:00Z'))).toEqual({ 'StartTime>': '0000-01-01', 'StartTime<': '9999-12-31' });
  });

  it('authenticates with the API key when both halves are set, else the Auth Token; says what is missing', () => {
    const base = { baseUrl: 'https://api.twilio.com', accountSid: 'ACx' };
    expect(twilioCredentials({ ...base, authToken: 't' })).toEqual({ username: 'ACx', password: 't' });
    expect(twilioCredentials({ ...base, authToken: 't', apiKeySid: 'SKx', apiKeySecret: 's' })).toEqual({ username: 'SKx', password: 's' });
    expect(() => twilioCredentials({ ...base, apiKeySid: 'SKx' })).toThrow('TWILIO_API_KEY_SECRET');
    expect(() => twilioCredentials(base)).toThrow('TWILIO_AUTH_TOKEN');
  });
});
