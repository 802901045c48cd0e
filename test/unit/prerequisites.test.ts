/**
 * `npm test`'s first step (test/prerequisites.ts) on a machine that lacks Chromium and redis-server,
 * simulated with a PATH that holds neither (nothing is uninstalled): it installs them with apt-get
 * when it can, and otherwise stops with one line naming exactly what to install.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findExecutable } from '../prerequisites.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const asRoot = process.getuid?.() === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'prerequisites-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A folder of stand-ins: shell scripts (absolute paths only, PATH holds nothing else). */
function bin(name: string, files: Record<string, string>): string {
  const folder = path.join(dir, name);
  spawnSync('/bin/mkdir', ['-p', folder]);
  for (const [file, body] of Object.entries(files)) {
    writeFileSync(path.join(folder, file), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(folder, file), 0o755);
  }
  return folder;
}

/** Runs the check with exactly `dirs` on PATH. */
function check(dirs: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, [TSX, 'test/prerequisites.ts'], {
    cwd: ROOT,
    env: { PATH: dirs.join(path.delimiter), HOME: dir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr };
}

it('finds executables on PATH only', () => {
  const folder = bin('found', { 'redis-server': 'exit 0' });
  writeFileSync(path.join(folder, 'chromium'), 'not executable');
  expect(findExecutable(['redis-server'], folder)).toBe(path.join(folder, 'redis-server'));
  expect(findExecutable(['chromium'], folder)).toBeNull();
  expect(findExecutable(['chromium', 'redis-server'], `/nonexistent${path.delimiter}${folder}`)).toBe(path.join(folder, 'redis-server'));
});

it('passes at once, asking apt nothing, when both programs are on PATH', () => {
  const log = path.join(dir, 'apt.log');
  const present = bin('present', { chromium: 'exit 0', 'redis-server': 'exit 0' });
  const apt = bin('apt', { 'apt-get': `echo "$*" >> ${log}` });
  expect(check([present, apt])).toEqual({ status: 0, stderr: '' });
  expect(existsSync(log)).toBe(false);
});

it('without apt-get, stops with one line naming exactly what to install', () => {
  const { status, stderr } = check([]);
  expect(status).toBe(1);
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).toContain('apt-get install -y chromium redis-server');
});

it('names only what is missing', () => {
  const { status, stderr } = check([bin('half', { 'redis-server': 'exit 0' })]);
  expect(status).toBe(1);
  expect(stderr).toMatch(/need chromium on PATH.*apt-get install -y chromium`/);
});

(asRoot ? it : it.skip)('as root with apt-get: apt-get update once, then installs what is missing, then passes', () => {
  const log = path.join(dir, 'apt.log');
  const installed = path.join(dir, 'installed');
  // A stand-in apt-get that records its arguments and "installs" by writing the programs.
  const apt = bin('apt', {
    'apt-get': [
      `echo "$*" >> ${log}`,
      'case "$*" in *install*)',
      `  /bin/mkdir -p ${installed}`,
      `  for p in chromium redis-server; do echo "exit 0" > ${installed}/$p; /bin/chmod 755 ${installed}/$p; done;;`,
      'esac',
    ].join('\n'),
  });
  const { status, stderr } = check([apt, installed]);
  expect(status).toBe(0);
  expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['-qq update', '-qq install -y chromium redis-server']);
  expect(stderr.trim().split('\n')).toEqual(['switchboard tests: installing chromium redis-server with apt-get (browser and Redis tests)']);
});

(asRoot ? it : it.skip)('as root, when apt-get fails: the same one line naming what to install', () => {
  const apt = bin('apt', { 'apt-get': 'echo "E: Unable to locate package" >&2; exit 100' });
  const { status, stderr } = check([apt]);
  expect(status).toBe(1);
  const lines = stderr.trim().split('\n');
  expect(lines.at(-1)).toContain('apt-get install -y chromium redis-server');
  expect(lines.filter((line) => /^\s+at /.test(line))).toEqual([]); // no stack trace
});
