import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { createServer } from '../server.ts';
import { listen, type StartedService } from '../service.ts';
import { Cache } from './cache.ts';
import { attachCache, etagMatches, replyCached } from './http.ts';
import { MemoryCacheStore } from './memory.ts';

const products = new Map([['1', { id: 'prd_1', name: 'Lamp', secret: 'not in the schema', version: 3 }]]);
let reads = 0;
let service: StartedService;
const cache = new Cache({ store: new MemoryCacheStore(), name: 'test' });

/** What the server logs at warn or above: a cached answer must log nothing. */
const complaints: string[] = [];
const logStream = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) {
      if (line && JSON.parse(line).level >= 40) complaints.push(line);
    }
    done();
  },
});

beforeAll(async () => {
  const app = createServer({ service: 'test', logLevel: 'info', logStream });
  attachCache(app, cache);
  const Product = {
    type: 'object',
    properties: { id: { type: 'string' }, name: { type: 'string' }, version: { type: 'integer' } },
  };
  app.get(
    '/products/:id',
    { schema: { response: { 200: Product, 304: { type: 'null' } } } },
    (request, reply) => {
      const { id } = request.params as { id: string };
      const load = async () => {
        reads++;
        return products.get(id);
      };
      return replyCached(request, reply, cache, `product:${id}`, load, { ttl: 60_000 }).then((sent) => {
        if (!sent) throw new ApiError('NOT_FOUND');
        return reply;
      });
    },
  );
  app.get('/versioned/:id', async (request, reply) => {
    await replyCached(request, reply, cache, 'versioned', async () => products.get('1'), {
      ttl: 60_000,
      etag: (product) => `W/"${product.version}"`,
      cacheControl: 'public, max-age=0, must-revalidate',
    });
    return reply;
  });
  service = await listen(app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await service.close();
});

afterEach(() => {
  // Nothing may go wrong once an answer is sent (e.g. a handler throwing after it replied).
  expect(complaints).toEqual([]);
});

describe('cached GET routes over HTTP', () => {
  it('answers MISS, then HIT with the same body and ETag, serialised by the route schema', async () => {
    const first = await fetch(`${service.url}/products/1`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = await first.json();
    expect(body).toEqual({ id: 'prd_1', name: 'Lamp', version: 3 });

    const second = await fetch(`${service.url}/products/1`);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await second.json()).toEqual(body);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('cache-control')).toBe('private, no-cache');
    expect(reads).toBe(1);
  });

  it('answers 304 without a body when If-None-Match names the ETag, 200 otherwise', async () => {
    const etag = (await fetch(`${service.url}/products/1`)).headers.get('etag')!;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await fetch(`${service.url}/products/1`, { headers: { 'if-none-match': header } });
      expect(response.status, header).toBe(304);
      expect(await response.text()).toBe('');
      expect(response.headers.get('etag')).toBe(etag);
    }
    const changed = await fetch(`${service.url}/products/1`, { headers: { 'if-none-match': '"other"' } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { name: string }).name).toBe('Lamp');
  });

  it('lets the caller answer 404 when nothing is found, and does not cache it', async () => {
    const before = reads;
    expect((await fetch(`${service.url}/products/2`)).status).toBe(404);
    expect((await fetch(`${service.url}/products/2`)).status).toBe(404);
    expect(reads - before).toBe(2);
  });

  it('uses the ETag and Cache-Control the route gives', async () => {
    const response = await fetch(`${service.url}/versioned/1`);
    expect(response.headers.get('etag')).toBe('W/"3"');
    expect(response.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
    const again = await fetch(`${service.url}/versioned/1`, { headers: { 'if-none-match': '"3"' } });
    expect(again.status).toBe(304);
  });

  it('serves a fresh representation after an invalidation', async () => {
    const before = await fetch(`${service.url}/products/1`);
    products.set('1', { id: 'prd_1', name: 'Desk lamp', secret: 'x', version: 4 });
    await cache.invalidate(['product:1']);
    const after = await fetch(`${service.url}/products/1`, {
      headers: { 'if-none-match': before.headers.get('etag')! },
    });
    expect(after.status).toBe(200);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(((await after.json()) as { name: string }).name).toBe('Desk lamp');
  });

  it('reports the cache in the health check and its counters on /metrics', async () => {
    const health = await (await fetch(`${service.url}/health`)).json();
    expect(health).toMatchObject({ status: 'healthy', checks: { cache: { status: 'up' } } });
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/cache_hits_total\{[^}]*cache="test"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/cache_misses_total\{[^}]*cache="test"[^}]*\} [1-9]/);
  });
});

describe('If-None-Match', () => {
  it('compares entity tags weakly, in lists, with *', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"a"', 'W/"a"')).toBe(true);
    expect(etagMatches(' "x" ,W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"x,y", "a"', '"a"')).toBe(true);
    expect(etagMatches('*', '"a"')).toBe(true);
    expect(etagMatches('"ab"', '"a"')).toBe(false);
    expect(etagMatches('"b", "c"', '"a"')).toBe(false);
    expect(etagMatches('a', '"a"')).toBe(false);
    expect(etagMatches('', '"a"')).toBe(false);
  });
});
