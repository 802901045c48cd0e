/**
 * The benchmark's child processes (bench/run.ts, bench/live.ts): the simulators (bench/sims.ts) and
 * Switchboard (bench/switchboard.ts), compiled to JavaScript and driven over IPC.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');


export class Child {
  private next = 1;
  private readonly waiting = new Map<number, (value: any) => void>();
  readonly ready: Promise<any>;

  constructor(readonly process: ChildProcess) {
    this.ready = new Promise((resolve, reject) => {
      process.on('message', (message: any) => {
        if (message?.type === 'ready') return resolve(message);
        const done = this.waiting.get(message?.id);
        if (done) {
          this.waiting.delete(message.id);
          done(message);
        }
      });
      process.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
    });
  }

  rpc<T>(message: Record<string, unknown>): Promise<T> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.process.send({ ...message, id });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.disconnect();
    await exited;
  }
}

/**
 * The children run compiled JavaScript (bench/tsconfig.json → dist/), as `npm start` deploys
 * Switchboard: under tsx, its helpers (esbuild's keepNames `__name` on every closure) and source
 * maps cost about 15% of requests/s on scenario a (measured, 2026-11-23).
 */
export function buildChildren(): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-p', join(HERE, 'tsconfig.json')], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`tsc -p bench/tsconfig.json failed: ${(built.stdout + built.stderr).trim().split('\n').slice(0, 5).join(' | ')}`);
}

export const jsChild = (file: string, env: Record<string, string> = {}) =>
  new Child(
    fork(join(ROOT, 'dist', 'bench', file.replace(/\.ts$/, '.js')), {
      execArgv: [],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );

