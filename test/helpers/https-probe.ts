/**
 * Run as a child process by test/integration/https.test.ts, with NODE_EXTRA_CA_CERTS naming the
 * test certificate (Node reads it only at start-up): an HTTPS server on 127.0.0.1 and the requests
 * an adapter makes through `ConnectionHttp`. Prints one JSON line with what came back.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { ConnectionHttp, defaultHttpPolicy, type UpstreamRequest } from '../../src/providers/http.js';

const tls = new URL('../fixtures/tls/', import.meta.url);
const server = https.createServer(
  { key: readFileSync(new URL('localhost-key.pem', tls)), cert: readFileSync(new URL('localhost-cert.pem', tls)) },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const gzip = /gzip/.test(String(req.headers['accept-encoding']));
      const echo = JSON.stringify({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null, body: Buffer.concat(chunks).toString('utf8'), gzip });
      res.writeHead(200, { 'content-type': 'application/json', ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync(echo) : echo);
    });
  },
);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/calls`;

const echo = z.object({ method: z.string(), url: z.string(), authorization: z.string().nullable(), body: z.string(), gzip: z.boolean() });
// No retries: each request is one attempt, so a refusal shows as the failure itself.
const http = new ConnectionHttp({ provider: 'TALKSTACK', connection: 'tls' }, { ...defaultHttpPolicy, retries: 0 });
const results: unknown[] = [];
const requests: UpstreamRequest[] = [
  { method: 'GET', url, operation: 'GET /calls', headers: { authorization: 'Bearer test' }, searchParams: { page: 2, empty: '' } },
  { method: 'POST', url, operation: 'POST /calls', headers: { 'content-type': 'application/json' }, json: { projectId: 'p1' } },
];
for (const request of requests) {
  try {
    results.push(await http.json(request, echo));
  } catch (error) {
    results.push({ error: (error as { failure?: string }).failure ?? String(error) });
  }
}
process.stdout.write(`${JSON.stringify(results)}\n`);
server.close();
process.exit(0);
