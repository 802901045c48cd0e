/**
 * A tiny same-origin host for a built single-page app: files from `root`, and /graphql forwarded
 * to Switchboard (its WebSocket upgrades too), as `vite preview` with the example's proxy does. Same origin means the browser
 * makes no cross-origin request and Switchboard needs no CORS setting.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export interface StaticProxy {
  url: string;
  close(): Promise<void>;
}

export async function serveWithProxy(root: string, graphqlUrl: string): Promise<StaticProxy> {
  const upstream = new URL(graphqlUrl);
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://local').pathname;
    if (pathname === '/graphql') {
      const headers = { ...req.headers, host: upstream.host };
      const forward = http.request(
        { hostname: upstream.hostname, port: upstream.port, path: `${upstream.pathname}${req.url!.slice(pathname.length)}`, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
      return;
    }
    // Every other path is a file of the build, or the app's index.html.
    const file = path.join(root, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
    const target = file.startsWith(root) && path.extname(file) ? file : path.join(root, 'index.html');
    readFile(target).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[path.extname(target)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  // A WebSocket upgrade (graphql-ws) to /graphql: the request head is replayed to Switchboard, then
  // bytes flow both ways untouched.
  const tunnels = new Set<net.Socket>(); // upgraded sockets: closeAllConnections does not see them
  server.on('upgrade', (req, socket: net.Socket, head) => {
    const pathname = new URL(req.url ?? '/', 'http://local').pathname;
    if (pathname !== '/graphql') {
      socket.destroy();
      return;
    }
    const upstreamSocket = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${upstream.pathname}${req.url!.slice(pathname.length)} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i]!.toLowerCase() === 'host' ? upstream.host : req.rawHeaders[i + 1]}`);
      }
      upstreamSocket.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstreamSocket.write(head);
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
    });
    tunnels.add(socket).add(upstreamSocket);
    socket.on('close', () => tunnels.delete(socket));
    upstreamSocket.on('close', () => tunnels.delete(upstreamSocket));
    upstreamSocket.on('error', () => socket.destroy());
    socket.on('error', () => upstreamSocket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of tunnels) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
