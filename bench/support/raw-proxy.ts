import { createServer } from 'node:http';
import { Pool } from 'undici';

/**
 * The floor of a reverse proxy written in Node on this machine: `node:http` in, an undici keep-alive
 * pool out, the whole answer buffered and sent back with its status and headers. No framework, no
 * auth, no limits, no logging, no validation of anything. `UPSTREAM_URL`, `PORT`.
 */
const pool = new Pool(process.env.UPSTREAM_URL!, {
  connections: 128,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

const server = createServer((request, response) => {
  const headers: Record<string, string | string[]> = {};
  for (const name in request.headers) {
    if (!hopByHop.has(name)) headers[name] = request.headers[name]!;
  }
  pool
    .request({ method: request.method as 'GET', path: request.url!, headers })
    .then(async (upstream) => {
      const body = Buffer.from(await upstream.body.arrayBuffer());
      const out: Record<string, string | string[]> = {};
      for (const name in upstream.headers) {
        if (!hopByHop.has(name) && name !== 'content-length') out[name] = upstream.headers[name]!;
      }
      out['content-length'] = String(body.length);
      response.writeHead(upstream.statusCode, out).end(body);
    })
    .catch(() => {
      response.writeHead(502).end();
    });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void pool.close().then(() => process.exit(0));
});
