/**
 * What the Hive Gateway tests share: composing Switchboard with the CRM subgraph into a supergraph,
 * and reading a subscription from the gateway over SSE.
 */
import { composeServices } from '@apollo/composition';
import { expect } from '@jest/globals';
import { parse } from 'graphql';
import type { CrmSubgraph } from './crm-subgraph.js';
import type { Harness } from './switchboard.js';

/** The API key the gateway uses for Switchboard in these tests. */
export const GATEWAY_KEY = 'gateway-key-0123456789abcdef';

/** The supergraph SDL of Switchboard `h` (its SDL as the gateway key sees it) and `crm`; composition errors fail the test. */
export async function composeWith(h: Harness, crm: CrmSubgraph): Promise<string> {
  const sdl = await fetch(h.server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${GATEWAY_KEY}` },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  }).then(async (r) => ((await r.json()) as { data: { _service: { sdl: string } } }).data._service.sdl);
  const composed = composeServices([
    { name: 'switchboard', url: h.server.url, typeDefs: parse(sdl) },
    { name: 'crm', url: crm.url, typeDefs: parse(crm.sdl) },
  ]);
  expect(composed.errors ?? []).toEqual([]);
  return composed.supergraphSdl!;
}

/** Subscribes to `url` over SSE (the gateway's own protocol) and yields each `data:` payload, parsed. */
export async function* sseEvents(url: string, query: string, signal: AbortSignal): AsyncGenerator<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query }),
    signal,
  });
  expect(response.status).toBe(200);
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const message = text.slice(0, end);
      text = text.slice(end + 2);
      const data = message.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5)).join('\n');
      if (data.trim()) yield JSON.parse(data);
    }
  }
}
