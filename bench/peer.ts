/**
 * The benchmark's peer: GraphQL Mesh (compose) + Hive Gateway over an OpenAPI description of the
 * Twenty2 simulator (bench/peer/twenty2.openapi.json). Installed on demand into bench/peer/ (about
 * 500 MB, exact versions in bench/peer/package.json), never a dependency of the product.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ports.js';

const PEER_DIR = join(dirname(fileURLToPath(import.meta.url)), 'peer');
const bin = (name: string) => join(PEER_DIR, 'node_modules', '.bin', name);

export interface Twenty2Upstream {
  url: string;
  authorization: string;
  workspaceId: string;
}

export interface Peer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Installs the peer when its node_modules are missing; throws with npm's last lines on failure. */
export function ensurePeerInstalled(log: (line: string) => void): void {
  if (existsSync(bin('hive-gateway')) && existsSync(bin('mesh-compose'))) return;
  log('installing the peer (GraphQL Mesh + Hive Gateway, ~500 MB) into bench/peer/ ...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['install', '--prefix', PEER_DIR, '--no-audit', '--no-fund', '--no-package-lock'], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    const tail = `${result.stderr ?? ''}${result.error?.message ?? ''}`.trim().split('\n').slice(-5).join(' | ');
    throw new Error(`npm install --prefix bench/peer failed (exit ${result.status}): ${tail}`);
  }
}

/** Composes the supergraph for `upstream` and serves it with hive-gateway on a random port. */
export async function startPeer(upstream: Twenty2Upstream, log: (line: string) => void): Promise<Peer> {
  ensurePeerInstalled(log);
  const work = mkdtempSync(join(tmpdir(), 'switchboard-peer-'));
  const supergraph = join(work, 'supergraph.graphql');
  const env = {
    ...process.env,
    TWENTY2_URL: upstream.url,
    TWENTY2_AUTHORIZATION: upstream.authorization,
    TWENTY2_WORKSPACE_ID: upstream.workspaceId,
  };
  const composed = spawnSync(process.execPath, [realpathSync(bin('mesh-compose')), '-c', 'mesh.config.mjs', '-o', supergraph], {
    cwd: PEER_DIR,
    env,
    encoding: 'utf8',
  });
  if (composed.status !== 0 || !existsSync(supergraph)) {
    throw new Error(`mesh-compose failed (exit ${composed.status}): ${(composed.stderr || composed.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  }

  const port = await freePort();
  // One process like Switchboard (--fork 1); run from the work dir so no stray config file is found.
  const child: ChildProcess = spawn(
    process.execPath,
    [realpathSync(bin('hive-gateway')), 'supergraph', supergraph, '--host', '127.0.0.1', '--port', String(port), '--fork', '1', '--disable-websockets'],
    { cwd: work, env: { ...env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}/graphql`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`hive-gateway exited (${child.exitCode}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error('hive-gateway did not answer within 30 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, pid: child.pid!, stop };
}
