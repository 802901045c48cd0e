/**
 * Providers are HTTPS in production while the simulators speak HTTP: this drives src/providers/http.ts
 * against a real TLS server (test/fixtures/tls), in a child process so that Node trusts the test
 * certificate (NODE_EXTRA_CA_CERTS is read at start-up), and once more without trusting it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const probe = fileURLToPath(new URL('../helpers/https-probe.ts', import.meta.url));
const cert = fileURLToPath(new URL('../fixtures/tls/localhost-cert.pem', import.meta.url));

function run(env: Record<string, string>): unknown[] {
  const child = spawnSync(process.execPath, ['--import', 'tsx', probe], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  if (child.status !== 0) throw new Error(`https probe exited ${child.status}: ${child.stderr.slice(-500)}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

test('GET with a query and POST with JSON reach an HTTPS provider, gzip answers inflated', () => {
  expect(run({ NODE_EXTRA_CA_CERTS: cert })).toEqual([
    { status: 200, body: { method: 'GET', url: '/calls?page=2', authorization: 'Bearer test', body: '', gzip: true } },
    { status: 200, body: { method: 'POST', url: '/calls', authorization: null, body: '{"projectId":"p1"}', gzip: true } },
  ]);
});

test('a certificate Node does not trust is refused (NETWORK), not ignored', () => {
  expect(run({ NODE_EXTRA_CA_CERTS: '' })).toEqual([{ error: 'NETWORK' }, { error: 'NETWORK' }]);
});
