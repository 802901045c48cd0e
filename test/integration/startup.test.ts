/**
 * The real entry point as an operator runs it: demo mode with nothing configured, only the
 * configured providers otherwise; the first log line says which; GET /health and GET /graphql work.
 * A bad configuration (a misspelt key or variable, production with no provider) stops it with one
 * line naming what was wrong.
 */
import { PROVIDER_MODULES } from '../../src/providers/index.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { createUnpodSimulator } from '../../src/providers/unpod/simulator.js';
import { STARTUP_MS, runEntryPoint as run, startEntryPoint as start, stopEntryPoint as stop } from '../helpers/entryPoint.js';

jest.setTimeout(2 * STARTUP_MS);

const QUERY = '{ calls(first: 100) { nodes { provider connection } } }';

it('serves the demo providers when nothing is configured, and says so first', async () => {
  const running = await start({});
  try {
    expect(JSON.parse(running.lines[0]!).msg).toMatch(/demo mode/);
    expect(JSON.parse(running.lines[0]!).msg).toMatch(/open: no API keys/);
    const base = running.url.replace(/\/graphql$/, '');
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ mode: 'demo' });
    // GET, as the GraphQL-over-HTTP conventions allow.
    const res = await fetch(`${running.url}?query=${encodeURIComponent(QUERY)}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { calls: { nodes: { provider: string }[] } } };
    expect(new Set(body.data.calls.nodes.map((n) => n.provider))).toEqual(new Set(PROVIDER_MODULES.map((m) => m.provider)));
  } finally {
    expect(await stop(running)).toBe(0);
  }
});

it('serves only the configured providers, named "default"', async () => {
  const unpod = createUnpodSimulator({ count: 30 });
  const baseUrl = await unpod.server.start();
  const running = await start({ UNPOD_TOKEN: unpod.credentials.token, UNPOD_ORG_HANDLE: unpod.credentials.orgHandle, UNPOD_BASE_URL: baseUrl });
  try {
    expect(JSON.parse(running.lines[0]!).msg).toMatch(/serving unpod\/default/);
    const res = await fetch(running.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) });
    const body = (await res.json()) as { data: { calls: { nodes: { provider: string; connection: string }[] } } };
    expect(body.data.calls.nodes).toHaveLength(30);
    expect(new Set(body.data.calls.nodes.map((n) => `${n.provider}/${n.connection}`))).toEqual(new Set(['UNPOD/default']));
  } finally {
    expect(await stop(running)).toBe(0);
    await unpod.server.close();
  }
});

const KEY = 'k_live_9f2c1e0b7a6d5c4b';

describe('a bad configuration stops start-up with one line naming it', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'switchboard-startup-')), 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      connections: [
        { provider: 'unpod', name: 'sales', token: 'unpod-secret-token', orgHandle: 'acme' },
        { provider: 'unpod', name: 'support', token: 'unpod-secret-token-2', orgHandle: 'acme', baseURL: 'https://unpod.internal/api' },
      ],
    }),
  );

  it.each([
    ['a misspelt key in SWITCHBOARD_CONFIG', { SWITCHBOARD_CONFIG: file }, 'SWITCHBOARD_CONFIG connections[1].baseURL: unknown key (did you mean "baseUrl"?)'],
    ['a misspelt variable', { SWITCHBOARD_API_KEY: KEY }, /^SWITCHBOARD_API_KEY: unknown variable \(did you mean SWITCHBOARD_API_KEYS\?\)/],
    ['a boolean that is neither true nor false', { SWITCHBOARD_ALLOW_ANONYMOUS: 'banana' }, 'SWITCHBOARD_ALLOW_ANONYMOUS must be "true" or "false"; got "banana"'],
    ['production with no provider', { NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY }, /^NODE_ENV=production and no provider is configured: refusing to serve simulated calls/],
  ])('%s', async (_name, env, expected) => {
    const result = await run(env as Record<string, string>);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const message = lines[0]!.replace(/^switchboard: configuration error: /, '');
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/unpod-secret-token|k_live_|\s{4}at /);
  });
});

it('serves the simulators in production when SWITCHBOARD_DEMO=true asks for it', async () => {
  const running = await start({ NODE_ENV: 'production', SWITCHBOARD_API_KEYS: KEY, SWITCHBOARD_DEMO: 'true' });
  try {
    expect(JSON.parse(running.lines[0]!).msg).toMatch(/demo mode/);
    const res = await fetch(running.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ query: QUERY }),
    });
    const body = (await res.json()) as { data: { calls: { nodes: { provider: string }[] } } };
    expect(new Set(body.data.calls.nodes.map((n) => n.provider))).toEqual(new Set(PROVIDER_MODULES.map((m) => m.provider)));
  } finally {
    expect(await stop(running)).toBe(0);
  }
});
