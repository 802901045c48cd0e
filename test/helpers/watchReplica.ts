/**
 * A Switchboard replica in its own process, for the fail-over test that kills one
 * (test/integration/watchFailover.test.ts). Run with tsx; reads from the environment:
 * - WATCH_REPLICA_CONNECTIONS: the connections (JSON, `Simulators.connections` of the test);
 * - WATCH_REPLICA_REDIS: the redis-server's URL;
 * - WATCH_REPLICA_TIMING: `{ intervalMs, leaseMs, heartbeatMs }` (JSON);
 * - WATCH_REPLICA_WEBHOOKS (optional): SWITCHBOARD_WEBHOOKS, and WATCH_REPLICA_WEBHOOK_SETTINGS
 *   (JSON) overriding fields of the webhook settings (back-off, claim, poll), for
 *   test/integration/webhookFailover.test.ts.
 * It listens to every connection's live events and writes one JSON line per event to stdout
 * (`{ "event": { id, type, key, provider } }`), and `{ "watching": [labels] }` whenever the set of
 * connections it watches changes.
 */
import type { ConnectionConfig } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startSwitchboard } from '../../src/server.js';

const connections = JSON.parse(process.env.WATCH_REPLICA_CONNECTIONS ?? '[]') as ConnectionConfig[];
const timing = JSON.parse(process.env.WATCH_REPLICA_TIMING ?? '{}') as { intervalMs: number; leaseMs: number; heartbeatMs: number };
const webhooks = process.env.WATCH_REPLICA_WEBHOOKS ? { SWITCHBOARD_WEBHOOKS: process.env.WATCH_REPLICA_WEBHOOKS } : {};
const webhookSettings = JSON.parse(process.env.WATCH_REPLICA_WEBHOOK_SETTINGS ?? '{}') as object;
const base = loadConfig({ NODE_ENV: 'test', PORT: '0', SWITCHBOARD_DEMO: 'true', SWITCHBOARD_CACHE_MAX_ENTRIES: '0', REDIS_URL: process.env.WATCH_REPLICA_REDIS!, ...webhooks });
const server = await startSwitchboard({
  config: { ...base, demo: false, connections, http: { ...base.http, retries: 0 }, watch: timing, webhooks: { ...base.webhooks, ...webhookSettings } },
  logger: createLogger('warn', process.stderr),
});
const write = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
server.events.subscribe(
  connections.map((c) => ({ provider: c.provider, connection: c.connection })),
  (e) => write({ event: { id: e.id, type: e.type, key: e.call.key, provider: e.call.provider } }),
);
let watching = '';
setInterval(() => {
  const now = server.events.watchers().map((w) => w.connection).sort().join(',');
  if (now !== watching) write({ watching: now === '' ? [] : now.split(',') });
  watching = now;
}, 20);
