/**
 * ConnectionWatcher#observePushed (src/live/watcher.ts): what a push costs upstream. A push is a
 * hint to read the call; copies of one push that come while its read waits (a replay flood: Twilio
 * signs no timestamp, Vapi and Retell allow five minutes) share that read.
 */
import type { CallLocator } from '../../src/calls/adapter.js';
import type { CallRecord } from '../../src/calls/model.js';
import { createLogger } from '../../src/logger.js';
import type { LiveConnection } from '../../src/providers/index.js';
import { ConnectionWatcher, emptyWatchState } from '../../src/live/watcher.js';
import { Writable } from 'node:stream';

const REF = { provider: 'RETELL' as const, connection: 'default' };
const STARTED = new Date('2026-11-30T10:00:00Z');

/** A watcher whose connection's by-id reads are counted and held until `release()`. */
function watcherWithHeldReads() {
  const reads: string[][] = [];
  let release = () => {};
  let held = new Promise<void>((resolve) => (release = resolve));
  const adapter = {
    async getCalls(locators: readonly CallLocator[]): Promise<(CallRecord | null)[]> {
      reads.push(locators.map((l) => l.key));
      await held;
      return locators.map(() => null);
    },
  };
  const connection = { label: 'retell/default', ref: REF, forRequest: () => ({ adapter }) } as unknown as LiveConnection;
  const watcher = new ConnectionWatcher({
    connection,
    // Baselined already: pushes are read (before the baseline they are not).
    store: { load: async () => ({ ...emptyWatchState(), baselined: true }), commit: async () => true },
    emit: () => {},
    intervalMs: 3600_000,
    logger: createLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() })),
  });
  return {
    watcher,
    reads,
    release: () => {
      release();
      held = Promise.resolve();
    },
  };
}

const pushed = (key: string): CallLocator[] => [{ key, startedAt: STARTED }];

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

describe('observePushed', () => {
  it('reads a call once for all the copies of its push that came while a read was under way', async () => {
    const { watcher, reads, release } = watcherWithHeldReads();
    const first = watcher.observePushed(pushed('call_a'));
    await until(() => reads.length === 1);
    // 500 copies while the first read is held: one more read is due (the call may have changed
    // since the first read began), not 500.
    const copies = Array.from({ length: 500 }, () => watcher.observePushed(pushed('call_a')));
    release();
    await Promise.all([first, ...copies]);
    expect(reads).toEqual([['call_a'], ['call_a']]);
  });

  it('still reads every other call pushed meanwhile, and a call pushed again after its read', async () => {
    const { watcher, reads, release } = watcherWithHeldReads();
    const first = watcher.observePushed(pushed('call_a'));
    await until(() => reads.length === 1);
    const others = [watcher.observePushed(pushed('call_b')), watcher.observePushed([...pushed('call_a'), ...pushed('call_c')]), watcher.observePushed(pushed('call_b'))];
    release();
    await Promise.all([first, ...others]);
    await watcher.observePushed(pushed('call_a'));
    expect(reads).toEqual([['call_a'], ['call_b'], ['call_a', 'call_c'], ['call_a']]);
  });
});
