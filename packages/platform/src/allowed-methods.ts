import type { FastifyInstance, HTTPMethods } from 'fastify';
import FindMyWay from 'find-my-way';

/**
 * Fastify answers a known path with the wrong method as a plain 404. To give 405 with `Allow`, keep a
 * shadow router of every registered route and ask it which methods match the concrete path.
 */
export function trackAllowedMethods(app: FastifyInstance): (path: string) => string[] {
  const router = FindMyWay({ ignoreTrailingSlash: true });
  const seen = new Set<string>();
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethods[];
    // The shadow router ignores trailing slashes, so `/docs` and `/docs/` are one route to it.
    const url = route.url.length > 1 ? route.url.replace(/\/+$/, '') : route.url;
    for (const method of methods) {
      const key = `${method} ${url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      router.on(method as never, url, () => {});
    }
  });
  const candidates = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
  return (path: string) => candidates.filter((method) => router.find(method, path) !== null);
}
