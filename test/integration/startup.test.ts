/**
 * The real entry point as an operator runs it: demo mode with nothing configured, only the
 * configured providers otherwise; the first log line says which; GET /health and GET /graphql work.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createUnpodSimulator } from '../../src/providers/unpod/simulator.js';

interface Running {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  url: string;
}

/** Starts `src/index.ts` and waits for its "GraphQL at" line. */
function start(env: Record<string, string>): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', ...env },
    });
    const lines: string[] = [];
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "GraphQL at" line: ${lines.join('\n')}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const url = /"url":"([^"]+)"/.exec(line)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve({ child, lines, url });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
  });
}

async function stop(running: Running): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  return exited;
}

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
    expect(new Set(body.data.calls.nodes.map((n) => n.provider))).toEqual(new Set(['TWENTY2', 'UNPOD', 'CINNOX', 'TALKSTACK']));
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
