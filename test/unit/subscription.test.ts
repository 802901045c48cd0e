/**
 * The subscriber's event stream (src/resolvers/Subscription.ts): the connections it listens to,
 * its bounded buffer, and that leaving unsubscribes. Over the transports: test/integration/subscriptions.test.ts.
 */
import type { CallRecord } from '../../src/calls/model.js';
import { toCallQuery } from '../../src/calls/filter.js';
import type { RequestContext } from '../../src/context.js';
import { callEventStream } from '../../src/resolvers/Subscription.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';

const ctx = { visible: [{ ref: { provider: 'UNPOD', connection: 'default' } }, { ref: { provider: 'TWENTY2', connection: 'eu' } }] } as unknown as RequestContext;

const call = (key: string, provider = 'UNPOD', connection = 'default'): CallRecord =>
  ({ provider, connection, key, providerCallId: key, direction: 'OUTBOUND', status: 'COMPLETED', providerStatus: 'completed',
     from: { phoneNumber: '+919999999999' }, to: { phoneNumber: '+918888888888' }, startedAt: new Date(0) }) as unknown as CallRecord;

it('listens to the visible connections the filter can match, and only delivers theirs', async () => {
  const source = new ManualEventSource();
  const stream = callEventStream(source, ctx, toCallQuery({ providers: ['TWENTY2', 'CINNOX'] }));
  expect(source.requested).toEqual([['twenty2/eu']]);
  source.emit(eventOf('CALL_ADDED', call('a')));
  source.emit(eventOf('CALL_ADDED', call('b', 'TWENTY2', 'eu')));
  expect((await stream.next()).value?.callEvents.call.key).toBe('b');
  await stream.return!();
  expect(source.listening).toBe(0);
});

it('does not listen at all when the key sees no connection the filter names', async () => {
  const source = new ManualEventSource();
  const stream = callEventStream(source, ctx, toCallQuery({ providers: ['RETELL'] }));
  expect(source.requested).toEqual([]);
  await stream.return!();
});

it('keeps events that arrive before they are read, in order', async () => {
  const source = new ManualEventSource();
  const stream = callEventStream(source, ctx, toCallQuery(null));
  for (const key of ['a', 'b', 'c']) source.emit(eventOf('CALL_ADDED', call(key)));
  const keys = [];
  for (let i = 0; i < 3; i++) keys.push((await stream.next()).value?.callEvents.call.key);
  expect(keys).toEqual(['a', 'b', 'c']);
});

it('a reader that falls more than the bound behind is completed and unsubscribed, not buffered without end', async () => {
  const source = new ManualEventSource();
  const stream = callEventStream(source, ctx, toCallQuery(null), 3);
  for (const key of ['a', 'b', 'c', 'd', 'e']) source.emit(eventOf('CALL_ADDED', call(key)));
  expect(source.listening).toBe(0);
  expect(await stream.next()).toEqual({ value: undefined, done: true });
});

it('returning while a read waits ends that read', async () => {
  const source = new ManualEventSource();
  const stream = callEventStream(source, ctx, toCallQuery(null));
  const pending = stream.next();
  await stream.return!();
  expect(await pending).toEqual({ value: undefined, done: true });
  expect(source.listening).toBe(0);
});
