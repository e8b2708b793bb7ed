import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

/**
 * The anchor the gateway is measured against: Fastify + @fastify/reply-from forwarding everything to
 * one upstream, with no auth, no rate limit and no logging. `UPSTREAM_URL`, `PORT`.
 */
const app = Fastify({ logger: false });
await app.register(replyFrom, {
  base: process.env.UPSTREAM_URL,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 },
});
app.all('/*', (request, reply) => reply.from(request.url));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
