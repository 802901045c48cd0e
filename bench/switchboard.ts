/**
 * Benchmark child: one Switchboard process, configured like the test harness (test/helpers/
 * switchboard.ts) with the connections bench/run.ts passes in BENCH_CONNECTIONS — or, with
 * BENCH_DEMO=true, in demo mode (the simulators in this process, as `npm start` runs with nothing
 * configured). With BENCH_WATCH=true it listens to every connection's live events, which keeps them
 * watched (bench/window.ts). It reports its URL over IPC and, when asked, its CPU time used so far.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Writable } from 'node:stream';
import { type ConnectionConfig, loadConfig } from '../src/config.js';
import { startSimulators } from '../src/demo.js';
import { createLogger } from '../src/logger.js';
import { startSwitchboard } from '../src/server.js';

const demo = process.env.BENCH_DEMO === 'true';
const simulators = demo ? await startSimulators() : null;
const connections = simulators?.connections ?? (JSON.parse(process.env.BENCH_CONNECTIONS ?? '[]') as ConnectionConfig[]);
// Its connections come from BENCH_CONNECTIONS, not the environment: SWITCHBOARD_DEMO=true lets
// production mode start without provider variables (they are replaced below).
// Pages are read upstream (as with providers configured) unless the bench sets SWITCHBOARD_MAX_DATA_AGE.
const base = loadConfig({ ...(demo ? {} : { SWITCHBOARD_MAX_DATA_AGE: '0' }), ...process.env, NODE_ENV: 'production', SWITCHBOARD_ALLOW_ANONYMOUS: 'true', SWITCHBOARD_DEMO: 'true', PORT: '0' });
const config = { ...base, demo, port: 0, connections, http: { ...base.http, retries: 0 } };
// Logs would measure the terminal, not Switchboard: warnings and errors only, to a sink.
const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
const server = await startSwitchboard({ config, logger: createLogger('warn', sink) });
if (process.env.BENCH_WATCH === 'true') server.events.subscribe(connections, () => {});

type Message =
  | { id: number; type: 'profile-start' }
  | { id: number; type: 'profile-stop'; path: string }
  | { id: number; type: 'cpu' };

// V8's CPU profiler (what --cpu-prof runs), started and stopped around the load only, so start-up
// (module compilation) does not crowd the profile.
const inspector = new Session();
process.on('message', async (message: Message) => {
  if (message.type === 'cpu') {
    // User + system CPU time of the whole process (every thread), µs.
    const { user, system } = process.cpuUsage();
    return process.send!({ id: message.id, cpuMicros: user + system });
  }
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
process.on('disconnect', () => void server.stop().then(() => simulators?.close()).then(() => process.exit(0)));
process.send!({ type: 'ready', url: server.url });
