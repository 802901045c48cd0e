/**
 * Entry point: read the configuration, start the simulators when nothing is configured, start the
 * server, and say in the first log line which mode it runs in.
 */
import { ConfigError, loadConfig } from './config.js';
import { simulateActivity, startSimulators } from './demo.js';
import { createLogger } from './logger.js';
import { tracingFromEnv } from './observability/tracing.js';
import { PROVIDER_MODULES } from './providers/index.js';
import { startSwitchboard } from './server.js';

async function main(): Promise<void> {
  let config;
  let tracing;
  try {
    config = loadConfig();
    // OpenTelemetry reads its own OTEL_* variables (docs/operations.md, "Tracing").
    tracing = await tracingFromEnv();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const simulators = config.demo ? await startSimulators() : null;
  if (simulators) config = { ...config, connections: simulators.connections };
  // Demo mode is live: calls keep arriving and ending, for subscriptions to show (docs/live.md).
  const stopActivity = simulators ? simulateActivity(simulators) : null;
  const access =
    config.apiKeys.length > 0
      ? `${config.apiKeys.length} API key(s) required`
      : 'open: no API keys configured (SWITCHBOARD_API_KEYS)';
  const mode = simulators
    ? `demo mode: no provider configured, serving the built-in simulated providers (${PROVIDER_MODULES.map((m) => m.displayName).join(', ')})`
    : `serving ${config.connections.map((c) => `${c.provider.toLowerCase()}/${c.connection}`).join(', ')}`;
  logger.info({ mode: simulators ? 'demo' : 'configured', access }, `Switchboard ${mode}; ${access}`);

  // A safety net, not a handler: a rejection nobody awaited is a bug; log it (no secrets are in
  // errors) and keep serving instead of letting Node 20 end the process.
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection');
  });

  if (tracing) logger.info({ tracing: true }, 'tracing: spans exported as the OTEL_* variables say');
  const server = await startSwitchboard({ config, logger, tracing });
  logger.info({ url: server.url }, `GraphQL at ${server.url}`);

  // SIGTERM (an orchestrator) or SIGINT (Ctrl-C): drain, close Redis, exit 0; exit 1 when requests
  // were still in flight at the end of the grace period. Each signal is handled once: the same one
  // again ends the process at once (Node's default).
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const graceMs = config.shutdownGraceMs;
    logger.info({ signal, graceMs }, `${signal}: shutting down; no new requests, those in flight have ${graceMs} ms to finish`);
    // Should closing itself hang, the process still ends.
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown did not complete in time; exiting');
      process.exit(1);
    }, graceMs + 5_000).unref();
    const { graceful, abandoned } = await server.stop({ graceMs });
    stopActivity?.();
    await simulators?.close();
    // The spans of the last requests are still buffered: export them before exiting.
    await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'tracing: the last spans could not be exported'));
    if (!graceful) {
      logger.error({ graceMs, abandoned }, `shutdown grace period of ${graceMs} ms ran out with ${abandoned} request(s) in flight; their connections were closed`);
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
