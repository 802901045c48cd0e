import { toCallQuery } from '../../src/calls/filter.js';
import { BadInputError } from '../../src/errors.js';

describe('toCallQuery', () => {
  it('normalises the phone number to E.164', () => {
    expect(toCallQuery({ phoneNumber: '+91 98765 43210' }).phoneNumber).toBe('+919876543210');
  });
  it('rejects a malformed phone number naming the argument', () => {
    expect(() => toCallQuery({ phoneNumber: 'not a number' })).toThrow(BadInputError);
    expect(() => toCallQuery({ phoneNumber: 'abc' })).toThrow(/filter\.phoneNumber/);
  });
  it('rejects startedAfter later than startedBefore', () => {
    expect(() =>
      toCallQuery({ startedAfter: new Date('2024-02-01'), startedBefore: new Date('2024-01-01') }),
    ).toThrow(/filter\.startedAfter/);
  });
});
