/**
 * Several connections of one provider from SWITCHBOARD_CONFIG: merged into one list, told apart by
 * `connection`, and scoped per API key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createUnpodSimulator } from '../../src/providers/unpod/simulator.js';
import { startHarness, type Harness } from '../helpers/switchboard.js';

const sales = createUnpodSimulator({ seed: 11, count: 25, credentials: { token: 'sales-token', orgHandle: 'acme-sales' } });
const support = createUnpodSimulator({ seed: 12, count: 25, credentials: { token: 'support-token', orgHandle: 'acme-support' } });
const ALL = 'key-for-everything-0001';
const SALES_ONLY = 'key-for-sales-only-0002';
let h: Harness;

function writeConfig(body: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchboard-')), 'config.json');
  writeFileSync(file, JSON.stringify(body));
  return file;
}

beforeAll(async () => {
  const [salesUrl, supportUrl] = await Promise.all([sales.server.start(), support.server.start()]);
  const file = writeConfig({
    connections: [
      { provider: 'unpod', name: 'sales', token: 'sales-token', orgHandle: 'acme-sales', baseUrl: salesUrl },
      { provider: 'unpod', name: 'support', token: 'support-token', orgHandle: 'acme-support', baseUrl: supportUrl },
    ],
    apiKeys: [
      { name: 'everything', key: ALL },
      { name: 'sales', key: SALES_ONLY, connections: ['unpod/sales'] },
    ],
  });
  const config = loadConfig({ SWITCHBOARD_CONFIG: file });
  expect(config.connections.map((c) => `${c.provider}/${c.connection}`)).toEqual(['UNPOD/sales', 'UNPOD/support']);
  h = await startHarness({
    connections: () => config.connections,
    configure: (c) => ({ ...c, apiKeys: config.apiKeys }),
  });
});
afterAll(async () => {
  await h.stop();
  await Promise.all([sales.server.close(), support.server.close()]);
});

const QUERY = '{ calls(first: 100) { nodes { connection startedAt } totalCount } }';

it('merges both connections into one ordered list and counts them exactly', async () => {
  const res = await h.gql(QUERY, undefined, { authorization: `Bearer ${ALL}` });
  expect(res.body.errors).toBeUndefined();
  const nodes = res.body.data.calls.nodes as { connection: string; startedAt: string }[];
  expect(nodes).toHaveLength(50);
  expect(nodes.filter((n) => n.connection === 'sales')).toHaveLength(25);
  for (let i = 1; i < nodes.length; i++) {
    const [a, b] = [nodes[i - 1]!, nodes[i]!];
    expect(a.startedAt >= b.startedAt).toBe(true);
    if (a.startedAt === b.startedAt) expect(a.connection <= b.connection).toBe(true);
  }
  expect(res.body.data.calls.totalCount).toBe(50);
});

it('shows a scoped key only its connection, and sends the other no request', async () => {
  support.server.resetCounters();
  const res = await h.gql(QUERY, undefined, { authorization: `Bearer ${SALES_ONLY}` });
  const nodes = res.body.data.calls.nodes as { connection: string }[];
  expect(new Set(nodes.map((n) => n.connection))).toEqual(new Set(['sales']));
  expect(support.server.count()).toBe(0);
});

it('refuses a file with a bad key, naming it', () => {
  const file = writeConfig({ connections: [{ provider: 'cinnox', name: 'hk', appId: 'a', appToken: 'b', baseUrl: 'nope' }] });
  expect(() => loadConfig({ SWITCHBOARD_CONFIG: file })).toThrow(ConfigError);
  expect(() => loadConfig({ SWITCHBOARD_CONFIG: file })).toThrow('SWITCHBOARD_CONFIG connections[0].baseUrl');
  const twice = writeConfig({
    connections: [
      { provider: 'unpod', name: 'a', token: 't', orgHandle: 'o' },
      { provider: 'unpod', name: 'a', token: 't', orgHandle: 'o' },
    ],
  });
  expect(() => loadConfig({ SWITCHBOARD_CONFIG: twice })).toThrow(/unpod\/a is configured twice/);
});
