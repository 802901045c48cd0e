/**
 * Integration-test harness: every provider module's simulator over real HTTP and a real Switchboard server in
 * front of them, with hooks that record every DataLoader batch and let tests count upstream requests.
 */
import { Writable } from 'node:stream';
import type { Config, ConnectionConfig } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startSimulators, type Simulators } from '../../src/demo.js';
import type { CallEventSource } from '../../src/live/events.js';
import type { Tracing } from '../../src/observability/tracing.js';
import { startSwitchboard, type Switchboard } from '../../src/server.js';

export interface GraphQLResponse<T = any> {
  status: number;
  body: { data?: T; errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }> };
  text: string;
}

export interface Harness {
  sims: Simulators;
  server: Switchboard;
  batches: Array<{ connection: string; kind: string; size: number }>;
  logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** Total requests served by all simulators since the last reset. */
  upstreamCount(): number;
  resetCounters(): void;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Environment for loadConfig (provider variables are replaced by the simulators). */
  env?: Record<string, string>;
  /** Which simulator connections to enable (all by default). */
  connections?: (sims: Simulators) => ConnectionConfig[];
  configure?: (config: Config) => Config;
  /** Before the server starts, e.g. to shrink simulator data. */
  sims?: () => Promise<Simulators>;
  /** OpenTelemetry tracing for the server (e.g. over an InMemorySpanExporter); none by default. */
  tracing?: Tracing;
  /** Where call events come from (e.g. a ManualEventSource, test/helpers/events.ts). */
  events?: CallEventSource;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sims = await (options.sims ?? startSimulators)();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  let config: Config = {
    // The cross-request cache is off unless a test turns it on: tests count upstream requests per query.
    // The harness serves the simulators: demo mode on purpose, under NODE_ENV=production too.
    // No shedding on event-loop delay unless a test asks: the server shares its event loop with the
    // test's own work (and a loaded CI machine), which would be measured as the server's delay.
    ...loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      SWITCHBOARD_CACHE_MAX_ENTRIES: '0',
      SWITCHBOARD_DEMO: 'true',
      SWITCHBOARD_MAX_EVENT_LOOP_DELAY_MS: '0',
      // Pages are read upstream unless a test serves them from watched windows: tests count upstream requests.
      SWITCHBOARD_MAX_DATA_AGE: '0',
      ...options.env,
    }),
    connections: options.connections ? options.connections(sims) : sims.connections,
  };
  config = { ...config, demo: false, port: 0, http: { ...config.http, retries: 0 } };
  if (options.configure) config = options.configure(config);
  const batches: Harness['batches'] = [];
  const server = await startSwitchboard({
    config,
    logger: createLogger('info', sink),
    observeBatch: (batch) => batches.push(batch),
    tracing: options.tracing,
    events: options.events,
  });
  return {
    sims,
    server,
    batches,
    logs,
    async gql(query, variables, headers) {
      const response = await fetch(server.url, {
        method: 'POST',
        // Apollo Client's Accept: request errors (parse, validation) answer 400, as the spec asks
        // for this type; a legacy `application/json` client gets 200 (src/graphqlOverHttp.ts).
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json,application/json;q=0.9', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await response.text();
      let body: GraphQLResponse['body'];
      try {
        body = JSON.parse(text);
      } catch {
        body = {};
      }
      return { status: response.status, body, text };
    },
    upstreamCount: () => sims.servers.reduce((n, s) => n + s.count(), 0),
    resetCounters: () => sims.servers.forEach((s) => s.resetCounters()),
    async stop() {
      await server.stop();
      await sims.close();
    },
  };
}
