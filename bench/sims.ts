/**
 * Benchmark child: every provider's simulator in their own process, so their CPU does not count
 * against Switchboard's. Driven over IPC by bench/run.ts: set latency, reset and read counters.
 */
import { type ProviderKey, startSimulators } from '../src/demo.js';

export type SimsRequest =
  | { id: number; type: 'latency'; ms: number }
  | { id: number; type: 'reset' }
  | { id: number; type: 'counts' }
  /** Starts a call in progress at `provider` (a ProviderKey); answers the wall-clock ms it was added. */
  | { id: number; type: 'startCall'; provider: ProviderKey }
  /** Starts a call in progress at Retell; answers its call_id. */
  | { id: number; type: 'retellStart' }
  /**
   * Ends that call and, with `pushTo`, sends Retell's signed `call_ended` webhook there at once, as
   * Retell does; answers the wall-clock ms the call ended (before the push is sent).
   */
  | { id: number; type: 'retellEnd'; callId: string; pushTo: string | null };

export interface SimsHello {
  type: 'ready';
  connections: Awaited<ReturnType<typeof startSimulators>>['connections'];
  twenty2: { url: string; authorization: string; workspaceId: string; callIds: string[] };
}

const sims = await startSimulators();
const send = (message: unknown) => process.send!(message);
/** Calls `retellStart` started, by call_id, until `retellEnd` ends them. */
const retellCalls = new Map<string, ReturnType<typeof sims.retell.startCall>>();

process.on('message', (message: SimsRequest) => {
  switch (message.type) {
    case 'latency':
      for (const server of sims.servers) server.latencyMs = message.ms;
      return send({ id: message.id });
    case 'reset':
      for (const server of sims.servers) server.resetCounters();
      return send({ id: message.id });
    case 'startCall':
      sims[message.provider].startCall();
      return send({ id: message.id, at: Date.now() });
    case 'retellStart': {
      const row = sims.retell.startCall();
      retellCalls.set(row.call_id, row);
      return send({ id: message.id, callId: row.call_id });
    }
    case 'retellEnd': {
      const row = retellCalls.get(message.callId)!;
      retellCalls.delete(message.callId);
      sims.retell.endCall(row);
      const at = Date.now();
      if (message.pushTo) void sims.retell.push(message.pushTo, row, 'call_ended').catch(() => {});
      return send({ id: message.id, at });
    }
    case 'counts':
      return send({ id: message.id, counts: Object.fromEntries(sims.servers.map((s) => [s.name, s.count()])) });
  }
});
process.on('disconnect', () => void sims.close().then(() => process.exit(0)));

const { username, password, workspaceId } = sims.twenty2.credentials;
const hello: SimsHello = {
  type: 'ready',
  connections: sims.connections,
  twenty2: {
    url: sims.twenty2.server.url,
    authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
    workspaceId,
    callIds: sims.twenty2.rows.map((row) => row.call_id),
  },
};
send(hello);
