/**
 * A real redis-server for the tests that share state through Redis (test/integration/cache.test.ts,
 * persistedQueries.test.ts, lifecycle.test.ts), started on a free port without persistence.
 * redis-server must be installed (CI: .ci/run); without it these tests fail, saying so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { freePort } from './ports.js';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts redis-server and resolves once it answers PING; rejects (failing the suite) when it cannot. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new Error(`redis-server could not start (${error.message}); install it (apt-get install redis-server)`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  const ping = async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      const pong = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('error', () => resolve(false));
        socket.once('connect', () => socket.write('PING\r\n'));
        socket.once('data', (data) => {
          socket.destroy();
          resolve(data.toString().startsWith('+PONG'));
        });
      });
      if (pong) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('redis-server did not answer PING within 5 s');
  };
  await Promise.race([ping(), failed]);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
