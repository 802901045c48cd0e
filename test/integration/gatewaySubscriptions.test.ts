/**
 * Subscriptions through a real gateway: Hive Gateway (@graphql-hive/gateway-runtime, the runtime of
 * the `hive-gateway` CLI) over a supergraph composed from Switchboard's subgraph SDL and a CRM
 * subgraph. A client subscribes to the gateway over SSE; the gateway subscribes to Switchboard over
 * GraphQL over WebSocket or over GraphQL over SSE (its two subgraph transports for subscriptions),
 * with its own API key, and completes each event with the CRM's `Call.contact`. The last case has
 * no injected source: the real watchers poll the simulators and a call started in one reaches the
 * gateway's client (issue #16).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeCallId } from '../../src/calls/ids.js';
import { startCrmSubgraph, type CrmContact, type CrmSubgraph } from '../helpers/crm-subgraph.js';
import { startSimulators } from '../../src/demo.js';
import { ManualEventSource, eventOf } from '../helpers/events.js';
import { GATEWAY_KEY, composeWith, sseEvents } from '../helpers/gateway.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { allCalls } from '../helpers/truth.js';


// Imported by a name TypeScript does not follow: the runtime's types pull in @whatwg-node/fetch,
// whose `/// <reference lib="dom" />` would retype `fetch` for every file of the typecheck.
const GATEWAY_RUNTIME = '@graphql-hive/gateway-runtime';
const { createGatewayRuntime } = (await import(GATEWAY_RUNTIME)) as {
  createGatewayRuntime(config: Record<string, unknown>): http.RequestListener & { dispose(): Promise<void> };
};

let h: Harness;
let crm: CrmSubgraph;
let source: ManualEventSource;
let supergraphSdl: string;

beforeAll(async () => {
  source = new ManualEventSource();
  h = await startHarness({ env: { SWITCHBOARD_API_KEYS: `${GATEWAY_KEY}:unpod+twenty2` }, events: source });
  const call = allCalls(h.sims).find((c) => c.provider === 'UNPOD')!;
  crm = await startCrmSubgraph([{ id: 'contact-1', name: 'Asha Rao', callIds: [encodeCallId(call)] }]);
  supergraphSdl = await composeWith(h, crm);
});

afterAll(async () => {
  await crm?.stop();
  await h?.stop();
});

/** A Hive Gateway on a free port, subscribing to subgraphs by `kind` (ws) or by its default (SSE). */
async function startGateway(kind: 'ws' | 'sse', supergraph = supergraphSdl) {
  const authorization = `Bearer ${GATEWAY_KEY}`;
  const gateway = createGatewayRuntime({
    supergraph,
    logging: false,
    transportEntries: {
      '*.http': {
        headers: [['authorization', authorization]],
        options: kind === 'ws' ? { subscriptions: { kind: 'ws', location: '/graphql', options: { connectionParams: { Authorization: authorization } } } } : {},
      },
    },
  });
  const server = http.createServer(gateway);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return {
    url,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await gateway.dispose();
    },
  };
}

describe.each(['ws', 'sse'] as const)('Hive Gateway subscribing to Switchboard over %s', (kind) => {
  it('carries events to the client, completed with another subgraph\'s fields, and leaves with the client', async () => {
    const gateway = await startGateway(kind);
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, 'subscription { callEvents { id type call { id provider status contact { name } } } }', controller.signal);
      const first = events.next();
      // The gateway's key is scoped to Unpod and Twenty2: only those connections are watched for it.
      await source.untilListening(1);
      expect(source.requested.at(-1)).toEqual(['twenty2/default', 'unpod/default']);
      const calls = allCalls(h.sims);
      const unpod = calls.find((c) => c.provider === 'UNPOD')!;
      const cinnox = calls.find((c) => c.provider === 'CINNOX')!;
      expect(source.emit(eventOf('CALL_ADDED', cinnox))).toBe(0);
      const added = eventOf('CALL_ADDED', unpod);
      source.emit(added);
      expect((await first).value).toEqual({
        data: { callEvents: { id: added.id, type: 'CALL_ADDED', call: { id: encodeCallId(unpod), provider: 'UNPOD', status: unpod.status, contact: { name: 'Asha Rao' } } } },
      });
      const twenty2 = calls.find((c) => c.provider === 'TWENTY2')!;
      source.emit(eventOf('CALL_ENDED', twenty2));
      expect((await events.next()).value.data.callEvents).toEqual(expect.objectContaining({ type: 'CALL_ENDED', call: expect.objectContaining({ provider: 'TWENTY2', contact: null }) }));
      controller.abort();
      await events.return(undefined).catch(() => {});
      // The client left the gateway; the gateway left Switchboard.
      await source.untilListening(0);
    } finally {
      controller.abort();
      await gateway.stop();
    }
  });
});

describe.each(['ws', 'sse'] as const)('Hive Gateway (over %s) and the real watchers', (kind) => {
  it('a call started in a simulator reaches the gateway\'s client as CALL_ADDED, completed with the CRM\'s fields', async () => {
    // Its own Switchboard: no injected source, the watchers poll the simulators every 250 ms.
    const live = await startHarness({
      sims: () => startSimulators({ count: 10 }),
      env: { SWITCHBOARD_API_KEYS: `${GATEWAY_KEY}:unpod+twenty2` },
      configure: (config) => ({ ...config, watch: { ...config.watch, intervalMs: 250 } }),
    });
    const contacts: CrmContact[] = [];
    const liveCrm = await startCrmSubgraph(contacts);
    const gateway = await startGateway(kind, await composeWith(live, liveCrm));
    const controller = new AbortController();
    try {
      const events = sseEvents(gateway.url, 'subscription { callEvents { id type call { id provider status contact { name } } } }', controller.signal);
      const first = events.next();
      // The gateway's subscription makes the key's connections watched; wait for their baselines.
      const watching = () => live.server.events.watchers().filter((w) => w.state === 'watching').map((w) => w.connection).sort();
      const until = Date.now() + 20_000;
      while (JSON.stringify(watching()) !== JSON.stringify(['twenty2/default', 'unpod/default'])) {
        if (Date.now() > until) throw new Error(`timed out waiting for the watchers (${JSON.stringify(live.server.events.watchers())})`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const lists = live.sims.twenty2.server.count('/call/logs');
      while (live.sims.twenty2.server.count('/call/logs') < lists + 2) {
        if (Date.now() > until) throw new Error('timed out waiting for two polls past the baseline');
        await new Promise((r) => setTimeout(r, 20));
      }
      const row = live.sims.twenty2.startCall();
      // The CRM knows the new call (before the next poll: no await in between).
      const started = allCalls(live.sims).find((c) => c.provider === 'TWENTY2' && c.key === row.call_id)!;
      contacts.push({ id: 'contact-2', name: 'Ravi Iyer', callIds: [encodeCallId(started)] });
      const { value } = await first;
      expect(value.errors).toBeUndefined();
      expect(value.data.callEvents).toEqual({
        id: expect.stringMatching(/^evt_/),
        type: 'CALL_ADDED',
        call: { id: encodeCallId(started), provider: 'TWENTY2', status: expect.any(String), contact: { name: 'Ravi Iyer' } },
      });
      expect(['INITIATED', 'RINGING', 'IN_PROGRESS', 'QUEUED']).toContain(value.data.callEvents.call.status);
      controller.abort();
      await events.return(undefined).catch(() => {});
      // The client left the gateway, the gateway left Switchboard: nothing is watched any more.
      const left = Date.now() + 20_000;
      while (live.server.events.watchers().length > 0) {
        if (Date.now() > left) throw new Error('timed out waiting for the watchers to stop');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      controller.abort();
      await gateway.stop();
      await liveCrm.stop();
      await live.stop();
    }
  });
});
