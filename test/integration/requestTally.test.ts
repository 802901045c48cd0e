/**
 * Each GraphQL request's log line counts only its own upstream requests, also when requests run at
 * the same time and one waits in a connection's queue behind another (concurrency 1).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { startHarness, type Harness } from '../helpers/switchboard.js';
import { PROVIDER_MODULES } from '../../src/providers/index.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { SWITCHBOARD_UPSTREAM_CONCURRENCY: '1' } });
});
afterAll(() => h.stop());

it('concurrent requests each log their own upstream counts', async () => {
  for (const server of h.sims.servers) server.latencyMs = 30;
  h.logs.length = 0;
  h.resetCounters();
  const one = `query One { calls(first: 5, filter: { providers: [TWENTY2] }) { nodes { id } } }`;
  const all = `query All { calls(first: 5) { nodes { id } } }`;
  const answers = await Promise.all([h.gql(one), h.gql(all), h.gql(one)]);
  for (const answer of answers) expect(answer.body.errors).toBeUndefined();
  for (const server of h.sims.servers) server.latencyMs = 0;
  const lines = h.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.event === 'graphql_request');
  const byName = (name: string) => lines.filter((l) => l.operationName === name);
  expect(byName('One')).toHaveLength(2);
  expect(byName('All')).toHaveLength(1);
  for (const line of byName('One')) expect(line.upstream).toEqual({ 'twenty2/default': 1 });
  expect(Object.keys(byName('All')[0]!.upstream).sort()).toEqual(PROVIDER_MODULES.map((m) => `${m.provider.toLowerCase()}/default`).sort());
  // Together the lines account for every request the simulators received.
  expect(lines.reduce((sum, l) => sum + l.upstreamRequests, 0)).toBe(h.upstreamCount());
});
