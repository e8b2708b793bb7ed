import { ApiError } from '@armature/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { GatewayMetrics } from './metrics.ts';
import { forward } from './proxy.ts';
import { ownerOf, resourceRoots } from './routes.ts';
import type { Upstreams } from './upstreams.ts';
import { supportedVersions } from './versioning.ts';

export interface ApiRoutesOptions {
  upstreams: Upstreams;
  metrics: GatewayMetrics;
}

/** What the gateway forwards. TRACE, CONNECT and WebDAV verbs stop here; OPTIONS is CORS's. */
const methods: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * The public API: `/v1/*` and `/v2/*`, the same paths without a version (resolved from `Accept` or
 * `?version=`), any other `/vN/*` (answered 400 UNSUPPORTED_VERSION by the versioning hook), and the
 * users service's JWKS. Bodies pass through as bytes: the services parse and validate them.
 */
export async function apiRoutes(app: FastifyInstance, options: ApiRoutesOptions): Promise<void> {
  const { services } = options.upstreams;
  const { metrics } = options;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const api = request.api!;
    const owner = ownerOf(api.path, request.query as Record<string, unknown>);
    if (!owner) {
      // The path as sent may be very long: name only its start.
      const shown = api.path.length > 200 ? `${api.path.slice(0, 200)}…` : api.path;
      throw new ApiError('ROUTE_NOT_FOUND', { message: `No route for ${request.method} ${shown}` });
    }
    return forward(request, reply, { service: services[owner], url: api.upstreamUrl, metrics });
  };

  const api = { config: { api: true } };
  for (const version of supportedVersions)
    app.route({ method: methods, url: `/v${version}/*`, ...api, handler });
  app.route({ method: methods, url: '/:version(^v\\d+$)/*', ...api, handler });
  for (const root of resourceRoots) {
    app.route({ method: methods, url: `/${root}`, ...api, handler });
    app.route({ method: methods, url: `/${root}/*`, ...api, handler });
  }

  app.get('/.well-known/jwks.json', { config: { public: true } }, (request, reply) =>
    forward(request, reply, { service: services.users, url: '/.well-known/jwks.json', metrics }),
  );
}
