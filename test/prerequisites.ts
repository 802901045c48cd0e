/**
 * What the test suite needs beyond `npm ci`, checked by `npm test` before anything runs (the
 * `pretest` script): Chromium for test/e2e/browser.test.ts and redis-server for
 * test/integration/cache.test.ts, both found on PATH; and the example app's Vite, which `npm ci`
 * installs at the root (examples/call-log is an npm workspace).
 *
 * A missing system program is installed with apt-get when that can work (root, apt-get on PATH):
 * `apt-get update` once, then `apt-get install -y` of what is missing. Otherwise — or when that
 * fails — it stops with one line on stderr naming exactly what to install, and exit code 1, so no
 * test starts on a machine that cannot pass them.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A system program the tests start, the names it goes by on PATH and its Debian package. */
interface Program {
  names: string[];
  apt: string;
}

export const PROGRAMS: Program[] = [
  { names: ['chromium', 'chromium-browser'], apt: 'chromium' },
  { names: ['redis-server'], apt: 'redis-server' },
];

/** The absolute path of the first of `names` that is an executable file on PATH, or null. */
export function findExecutable(names: readonly string[], searchPath = process.env.PATH ?? ''): string | null {
  for (const name of names) {
    for (const dir of searchPath.split(path.delimiter)) {
      if (!dir) continue;
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

const missingPrograms = () => PROGRAMS.filter((program) => findExecutable(program.names) === null);

/** True when the example app's build tool resolves from the example, as the browser test needs. */
function exampleInstalled(): boolean {
  try {
    createRequire(path.join(ROOT, 'examples/call-log/package.json')).resolve('vite/package.json');
    return true;
  } catch {
    return false;
  }
}

/** apt-get with its chatter dropped; its errors still reach stderr. */
function aptGet(args: string[]): boolean {
  const result = spawnSync('apt-get', ['-qq', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

function main(): number {
  if (!exampleInstalled()) {
    process.stderr.write('switchboard tests: examples/call-log dependencies are missing: run `npm ci` at the repository root first\n');
    return 1;
  }
  let missing = missingPrograms();
  if (missing.length === 0) return 0;

  const packages = missing.map((program) => program.apt);
  const canInstall = process.getuid?.() === 0 && findExecutable(['apt-get']) !== null;
  if (canInstall) {
    process.stderr.write(`switchboard tests: installing ${packages.join(' ')} with apt-get (browser and Redis tests)\n`);
    if (aptGet(['update']) && aptGet(['install', '-y', ...packages])) missing = missingPrograms();
  }
  if (missing.length === 0) return 0;
  const still = missing.map((program) => program.apt).join(' ');
  process.stderr.write(
    `switchboard tests need ${still} on PATH (the browser and Redis tests): install them first, e.g. \`apt-get install -y ${still}\` as root on Debian/Ubuntu\n`,
  );
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) process.exitCode = main();
