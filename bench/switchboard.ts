/**
 * Benchmark child: one Switchboard process, configured like the test harness (test/helpers/
 * switchboard.ts) with the connections bench/run.ts passes in BENCH_CONNECTIONS. It reports its
 * URL over IPC and, when asked, its peak resident set size.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Writable } from 'node:stream';
import { type ConnectionConfig, loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startSwitchboard } from '../src/server.js';

const connections = JSON.parse(process.env.BENCH_CONNECTIONS ?? '[]') as ConnectionConfig[];
// Its connections come from BENCH_CONNECTIONS, not the environment: SWITCHBOARD_DEMO=true lets
// production mode start without provider variables (they are replaced below).
const base = loadConfig({ ...process.env, NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true', SWITCHBOARD_DEMO: 'true', PORT: '0' });
const config = { ...base, demo: false, port: 0, connections, http: { ...base.http, retries: 0 } };
// Logs would measure the terminal, not Switchboard: warnings and errors only, to a sink.
const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const server = await startSwitchboard({ config, logger: createLogger('warn', sink) });

// V8's CPU profiler (what --cpu-prof runs), started and stopped around the load only, so start-up
// (module compilation) does not crowd the profile.
const inspector = new Session();
process.on('message', async (message: { id: number; type: 'profile-start' } | { id: number; type: 'profile-stop'; path: string }) => {
  if (message.type === 'profile-start') {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  } else {
    const { profile } = await inspector.post('Profiler.stop');
    writeFileSync(message.path, JSON.stringify(profile));
    inspector.disconnect();
  }
  process.send!({ id: message.id });
});
// On disconnect, exit normally so --cpu-prof writes its profile.
process.on('disconnect', () => void server.stop().then(() => process.exit(0)));
process.send!({ type: 'ready', url: server.url });
