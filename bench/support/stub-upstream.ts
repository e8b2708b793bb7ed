import Fastify from 'fastify';

/**
 * A bare Fastify server that answers every request with the same bytes (`STUB_BODY`), serves
 * `STUB_JWKS` at `/.well-known/jwks.json` and is always ready: an upstream that costs next to
 * nothing, so what is measured in front of it is the proxy. `PORT`.
 */
const body = process.env.STUB_BODY ?? '{}';
const jwks = process.env.STUB_JWKS ?? '{"keys":[]}';
const app = Fastify({ logger: false });
app.get('/health/live', async () => ({ status: 'up' }));
app.get('/health/ready', async () => ({ status: 'up' }));
app.get('/.well-known/jwks.json', (_request, reply) => {
  reply.header('content-type', 'application/json').send(jwks);
});
app.all('/*', (_request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8').send(body);
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
