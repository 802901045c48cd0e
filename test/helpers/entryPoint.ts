/**
 * The real entry point (`src/index.ts`) as an operator runs it, in a child process with only the
 * given environment (plus PATH and HOME, and PORT=0 unless given).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/** Generous: tsx compiles the whole server first, and CI machines are shared. */
export const STARTUP_MS = 60_000;

/** A started entry point: its output lines so far, its GraphQL URL and the base URL without `/graphql`. */
export interface RunningEntryPoint {
  child: ChildProcessWithoutNullStreams;
  /** stdout lines (the JSON log lines), in order. */
  lines: string[];
  /** Everything written to stderr so far. */
  stderr: () => string;
  /** `http://127.0.0.1:<port>/graphql`, from the "GraphQL at" log line. */
  url: string;
  /** `url` without `/graphql`: where /health and /metrics are. */
  base: string;
  /** Resolves with the exit code once the process exits. */
  exited: Promise<number | null>;
}

function spawnEntryPoint(env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', 'src/index.ts'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', ...env },
  });
}

/**
 * Starts the entry point and resolves once it logged "GraphQL at <url>". Rejects, with its output,
 * when it exits first or logs no URL within `timeoutMs` (then it is killed, so no child outlives a test).
 */
export function startEntryPoint(env: Record<string, string>, timeoutMs = STARTUP_MS): Promise<RunningEntryPoint> {
  return new Promise((resolve, reject) => {
    const child = spawnEntryPoint(env);
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const lines: string[] = [];
    let stderr = '';
    let buffer = '';
    const output = () => [...lines, stderr].join('\n');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no "GraphQL at" line: ${output()}`));
    }, timeoutMs);
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        const url = /"url":"([^"]+)"/.exec(line)?.[1];
        if (url) {
          clearTimeout(timer);
          resolve({ child, lines, stderr: () => stderr, url, base: url.replace(/\/graphql$/, ''), exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${output()}`));
    });
  });
}

/** Sends SIGTERM (a graceful stop) and resolves with the exit code. */
export async function stopEntryPoint(running: RunningEntryPoint): Promise<number | null> {
  running.child.kill('SIGTERM');
  return running.exited;
}

/** Runs the entry point to its exit (killed after `timeoutMs`); resolves with the exit code and what it wrote. */
export function runEntryPoint(env: Record<string, string>, timeoutMs = STARTUP_MS): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnEntryPoint(env);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}
