import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cache } from './cache.ts';
import type { CacheEntry, CacheSetOptions } from './store.ts';

/**
 * Wires a cache into a server: a non-critical `cache` health check (Redis down → the service is
 * `degraded`, still 200, and serves from its database), its counters on the server's `/metrics`,
 * and closing it with the server.
 */
export function attachCache(app: FastifyInstance, cache: Cache): void {
  app.health.add('cache', () => cache.ping(), { critical: false });
  if (app.hasDecorator('metrics')) cache.metrics.register(app.metrics);
  app.addHook('onClose', () => cache.close());
}

export interface CachedReplyOptions<T> extends CacheSetOptions {
  /** The ETag of a loaded value (e.g. from its version); default: a hash of its serialised form. */
  etag?: (value: T) => string;
  /** `Cache-Control` sent with the representation (default `private, no-cache`: revalidate with the ETag). */
  cacheControl?: string;
}

const jsonType = 'application/json; charset=utf-8';

/**
 * Cache-aside for a GET route: the representation under `key`, or `load()`'s value serialised by the
 * route's response schema and stored. Sends it with `ETag` and `X-Cache: HIT|MISS`, or a bodiless
 * 304 when `If-None-Match` names its ETag, and resolves to true; resolves to false, sending nothing,
 * when `load` finds nothing. The caller checks access before calling (the cache holds data, not
 * decisions) and returns `reply` from its handler, as Fastify asks after `reply.send`.
 *
 * (It resolves to a boolean, not to the reply: a reply is thenable, so an async function returning
 * it would wait for the response to finish and resolve to undefined.)
 */
export async function replyCached<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  cache: Cache,
  key: string,
  load: () => Promise<T | undefined>,
  options: CachedReplyOptions<T>,
): Promise<boolean> {
  const entry = await cache.getOrLoad(
    key,
    async () => {
      const value = await load();
      if (value === undefined) return undefined;
      // The route's compiled response serialiser, as an uncached reply would use.
      return { value: reply.serialize(value) as string, etag: options.etag?.(value) };
    },
    options,
  );
  if (entry === undefined) return false;
  sendCacheEntry(request, reply, entry, options.cacheControl);
  return true;
}

/**
 * Sends a cached representation as it is stored (no parse, no serialisation): `ETag`, `X-Cache`,
 * `Cache-Control`, and 304 without a body when the client already holds it.
 */
export function sendCacheEntry(
  request: FastifyRequest,
  reply: FastifyReply,
  entry: CacheEntry,
  cacheControl = 'private, no-cache',
): FastifyReply {
  reply.header('etag', entry.etag);
  reply.header('x-cache', entry.hit ? 'HIT' : 'MISS');
  reply.header('cache-control', cacheControl);
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, entry.etag)) return reply.code(304).send();
  return reply.header('content-type', jsonType).send(entry.value);
}

/**
 * Whether an `If-None-Match` header names `etag`, by the weak comparison RFC 9110 §13.1.2 asks for
 * (`W/"1"` matches `"1"`); `*` matches any. Hand-written because it runs on every cached GET and
 * the libraries for it (`fresh`, @fastify/etag) also hash or re-check headers it does not need.
 */
export function etagMatches(header: string, etag: string): boolean {
  if (header === etag) return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  let i = 0;
  while (i < header.length) {
    const char = header[i];
    if (char === ' ' || char === '\t' || char === ',') {
      i++;
    } else if (char === '*') {
      return true;
    } else {
      if (header.startsWith('W/', i)) i += 2;
      if (header[i] !== '"') return false;
      const end = header.indexOf('"', i + 1);
      if (end === -1) return false;
      if (end - i + 1 === opaque.length && header.startsWith(opaque, i)) return true;
      i = end + 1;
    }
  }
  return false;
}
