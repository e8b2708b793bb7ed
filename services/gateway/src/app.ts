import { ApiError, createServer, listen, type StartedService } from '@armature/platform';
import replyFrom from '@fastify/reply-from';
import { request } from 'undici';
import type { GatewayConfig } from './config.ts';
import { ownerOf } from './routes.ts';

/** The public entry point: routes each path to the service that owns it. */
export async function startGateway(config: GatewayConfig): Promise<StartedService> {
  const app = createServer({ service: 'gateway', logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 } });

  for (const [name, urls] of Object.entries(config.upstreams)) {
    urls.forEach((url, index) => {
      const check = urls.length > 1 ? `${name}-${index + 1}` : name;
      app.health.add(check, async () => {
        const response = await request(`${url}/health/ready`, { headersTimeout: 1500, bodyTimeout: 1500 });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`answered ${response.statusCode}`);
      });
    });
  }

  const proxy = async (req: { url: string }, reply: { from: (url: string) => unknown }) => {
    const path = req.url;
    const match = /^\/v(\d+)(\/[^?]*)/.exec(path);
    const owner = ownerOf(match?.[2] ?? path);
    const isWellKnown = path.startsWith('/.well-known/');
    const upstream = isWellKnown ? 'users' : owner;
    if (!upstream) throw new ApiError('ROUTE_NOT_FOUND', { message: `No route for ${path.split('?')[0]}` });
    return reply.from(`${config.upstreams[upstream][0]}${path}`);
  };
  app.all('/v1/*', proxy);
  app.all('/v2/*', proxy);
  app.all('/.well-known/*', proxy);

  return listen(app, { host: config.host, port: config.port });
}
