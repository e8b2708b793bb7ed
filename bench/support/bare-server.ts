import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

/**
 * The ceiling: a bare Fastify server (no logging, no hooks, no validation) answering each recorded
 * request with the bytes the real service answered it with. `BARE_RESPONSES` names a JSON file of
 * `[{ method, url, status, contentType, body }]`; `PORT`. Any other request gets the first entry's
 * answer for its method and path without the query, then a 404.
 */
interface Recorded {
  method: string;
  url: string;
  status: number;
  contentType: string;
  body: string;
}

const recorded = JSON.parse(readFileSync(process.env.BARE_RESPONSES!, 'utf8')) as Recorded[];
const byRequest = new Map<string, Recorded>();
for (const entry of recorded) {
  byRequest.set(`${entry.method} ${entry.url}`, entry);
  const path = entry.url.split('?')[0];
  if (!byRequest.has(`${entry.method} ${path}`)) byRequest.set(`${entry.method} ${path}`, entry);
}

const app = Fastify({ logger: false });
app.get('/health/live', (_request, reply) => {
  reply.send({ status: 'up' });
});
app.get('/health/ready', (_request, reply) => {
  reply.send({ status: 'up' });
});
// API keys are exchanged for tokens by the users service (once per key per second at a gateway):
// with `BARE_KEY_EXCHANGE_URL`, that one call goes to the real service, so keys work in front of the
// bare server too.
const keyExchange = process.env.BARE_KEY_EXCHANGE_URL;
if (keyExchange) {
  app.post('/v1/auth/api-keys', async (request, reply) => {
    const response = await fetch(`${keyExchange}/v1/auth/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request.body),
    });
    reply
      .code(response.status)
      .header('content-type', 'application/json')
      .send(await response.text());
  });
}
app.all('/*', (request, reply) => {
  const entry =
    byRequest.get(`${request.method} ${request.url}`) ??
    byRequest.get(`${request.method} ${request.url.split('?')[0]}`);
  if (!entry) return reply.code(404).send({ error: { code: 'ROUTE_NOT_FOUND' } });
  reply.code(entry.status).header('content-type', entry.contentType).send(entry.body);
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
