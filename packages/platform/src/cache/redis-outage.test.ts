import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { Cache } from './cache.ts';
import { readCacheConfig } from './config.ts';
import { createCache } from './create.ts';
import { attachCache } from './http.ts';
import { RedisCacheStore, type RedisCacheStoreOptions } from './redis.ts';
import { freePort, type OwnRedis, startOwnRedis, startTcpProxy } from './testing.ts';

const hour = 3_600_000;
const closing: Array<{ close(): Promise<void> }> = [];

afterEach(async () => {
  await Promise.all(closing.splice(0).map((item) => item.close()));
});

function cacheOn(url: string, prefix: string, options: Partial<RedisCacheStoreOptions> = {}): Cache {
  const store = new RedisCacheStore({
    url,
    prefix,
    commandTimeoutMs: 100,
    maxReconnectDelayMs: 100,
    ...options,
  });
  const cache = new Cache({ store, name: 'test' });
  closing.push(cache);
  return cache;
}

/** A one-row "database" whose reads are counted. */
function table(initial: string) {
  const row = {
    value: initial,
    reads: 0,
    load: async () => {
      row.reads++;
      return row.value;
    },
  };
  return row;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('cache with Redis unreachable', () => {
  it('answers every call through the loader, and the service reports itself degraded', async () => {
    const deadPort = await freePort();
    const cache = cacheOn(`redis://127.0.0.1:${deadPort}`, 'test:dead:');
    const app = createServer({ service: 'test', logLevel: 'silent' });
    attachCache(app, cache);
    closing.push(app);

    const row = table('ada');
    for (let i = 0; i < 5; i++) {
      expect(await cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['users'] })).toMatchObject({
        value: 'ada',
        hit: false,
      });
    }
    expect(row.reads).toBe(5);
    await cache.set('user:2', 'bob', { ttl: hour });
    expect(await cache.invalidate(['users'])).toBe(false);
    await cache.delete('user:2');
    expect(await cache.get('user:2')).toBeUndefined();

    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({ status: 'degraded', checks: { cache: { status: 'down' } } });
    expect(cache.metrics.bypassed).toBeGreaterThanOrEqual(5);
  });
});

describe('cache on a Redis that goes away', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await startOwnRedis({ persistent: true });
  });
  afterAll(async () => {
    await redis.dispose();
  });

  it('keeps answering while Redis is stopped, and resumes hits with fresh data once it is back', async () => {
    const cache = cacheOn(redis.url, `test:outage:${randomUUID()}:`);
    expect(await cache.connect(5000)).toBe(true);
    const row = table('v1');
    const lookup = () => cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['users', 'user:1'] });
    await lookup();
    expect((await lookup())?.hit).toBe(true);

    await redis.stop();
    for (let i = 0; i < 20; i++) expect((await lookup())?.value).toBe('v1');
    // A write commits while Redis is down: its invalidation cannot reach Redis, and must not fail.
    row.value = 'v2';
    await cache.invalidate(['user:1']);
    const readsBefore = row.reads;
    for (let i = 0; i < 20; i++) expect((await lookup())?.value).toBe('v2');
    expect(row.reads - readsBefore).toBe(20);
    await eventually(async () => {
      try {
        await cache.ping();
        return false;
      } catch {
        return true;
      }
    }, 'the health check reports the cache down');

    await redis.start();
    await eventually(async () => {
      const entry = await lookup();
      expect(entry?.value).toBe('v2');
      return entry?.hit === true;
    }, 'hits resume');
    await cache.ping();
  });

  it('serves nothing made stale during an outage when Redis comes back with its old entries', async () => {
    // Redis keeps running; only the network between this instance and Redis is cut.
    const proxy = await startTcpProxy(redis.port);
    closing.push(proxy);
    const cache = cacheOn(proxy.url, `test:partition:${randomUUID()}:`);
    expect(await cache.connect(5000)).toBe(true);
    const row = table('v1');
    const lookup = () => cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['user:1'] });
    await lookup();
    expect((await lookup())?.hit).toBe(true);

    await proxy.cut();
    row.value = 'v2';
    await cache.invalidate(['user:1']);
    expect((await lookup())?.value).toBe('v2');

    await proxy.restore();
    await eventually(async () => {
      const entry = await lookup();
      expect(entry?.value).toBe('v2');
      return entry?.hit === true;
    }, 'hits resume');
  });

  it('keeps what it writes just after an outage no longer than the stale bound', async () => {
    const proxy = await startTcpProxy(redis.port);
    closing.push(proxy);
    const cache = cacheOn(proxy.url, `test:bound:${randomUUID()}:`, { staleBoundMs: 300 });
    expect(await cache.connect(5000)).toBe(true);
    const row = table('v1');
    const lookup = () => cache.getOrLoad('user:1', row.load, { ttl: hour });
    await proxy.cut();
    await proxy.restore();
    // Another instance may still be cut off and change the row unseen: an hour-long entry written
    // now could outlive that change; this one is dropped within the bound.
    await eventually(async () => (await lookup())?.hit === true, 'hits resume');
    const reads = row.reads;
    await eventually(async () => (await lookup())?.hit === false, 'the entry expires');
    expect(row.reads).toBe(reads + 1);
  });

  it('makes other instances drop what a cut-off writer could not invalidate, once it reconnects', async () => {
    const prefix = `test:writer:${randomUUID()}:`;
    const proxy = await startTcpProxy(redis.port);
    closing.push(proxy);
    const writer = cacheOn(proxy.url, prefix);
    const reader = cacheOn(redis.url, prefix);
    expect(await writer.connect(5000)).toBe(true);
    expect(await reader.connect(5000)).toBe(true);
    const row = table('v1');
    const read = () => reader.getOrLoad('product:1', row.load, { ttl: hour, tags: ['products'] });
    await read();
    expect((await read())?.hit).toBe(true);

    await proxy.cut();
    row.value = 'v2';
    await writer.invalidate(['products']);
    await proxy.restore();
    await eventually(async () => (await read())?.value === 'v2', 'the reader sees the change');
    await eventually(async () => (await read())?.hit === true, 'the reader hits again');
    expect((await read())?.value).toBe('v2');
  });

  it('does not resurrect invalidated entries when Redis restarts from an older snapshot', async () => {
    const prefix = `test:snapshot:${randomUUID()}:`;
    const cache = cacheOn(redis.url, prefix);
    expect(await cache.connect(5000)).toBe(true);
    const row = table('v1');
    const options = { ttl: hour, tags: ['user:1'] };
    await cache.getOrLoad('user:1', row.load, options);
    await redis.snapshot();
    row.value = 'v2';
    await cache.invalidate(['user:1']);
    expect((await cache.getOrLoad('user:1', row.load, options))?.value).toBe('v2');
    await cache.close();

    await redis.stop();
    await redis.start();
    const snapshot = new Redis(redis.url);
    closing.push({ close: async () => snapshot.disconnect() });
    expect(await snapshot.get(`${prefix}e:user:1`)).toContain('v1');

    // An instance that starts now never saw the outage; it must not trust the resurrected entry.
    const late = cacheOn(redis.url, prefix);
    expect(await late.connect(5000)).toBe(true);
    const entry = await late.getOrLoad('user:1', row.load, options);
    expect(entry).toMatchObject({ value: 'v2', hit: false });
    expect(await late.getOrLoad('user:1', row.load, options)).toMatchObject({ value: 'v2', hit: true });
  });

  it('goes on without Redis while it stops answering, then resumes hits with fresh data', async () => {
    const cache = cacheOn(redis.url, `test:paused:${randomUUID()}:`);
    expect(await cache.connect(5000)).toBe(true);
    const row = table('v1');
    const lookup = () => cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['user:1'] });
    await lookup();
    expect((await lookup())?.hit).toBe(true);

    const admin = new Redis(redis.url);
    closing.push({ close: async () => admin.disconnect() });
    await admin.client('PAUSE', 1500, 'ALL');
    row.value = 'v2';
    // Every command now waits past the timeout: the invalidation, then the reads, go on without Redis.
    await cache.invalidate(['user:1']);
    expect((await lookup())?.value).toBe('v2');
    await eventually(async () => {
      const entry = await lookup();
      expect(entry?.value).toBe('v2');
      return entry?.hit === true;
    }, 'hits resume after the pause');
  });
});

describe('CACHE_REDIS_URL', () => {
  it("keeps the services' caches in their own Redis, apart from REDIS_URL (here one that does not answer)", async () => {
    const own = await startOwnRedis();
    const client = new Redis(own.url);
    try {
      const prefix = `test:role:${randomUUID()}:`;
      const config = readCacheConfig('users', {
        CACHE_REDIS_URL: own.url,
        REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
        CACHE_KEY_PREFIX: prefix,
      });
      const cache = createCache(config, { name: 'users' });
      closing.push(cache);
      expect(await cache.connect(15_000)).toBe(true);
      const row = table('kept apart');
      await cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['users'] });
      expect((await cache.getOrLoad('user:1', row.load, { ttl: hour, tags: ['users'] }))?.hit).toBe(true);
      expect(row.reads).toBe(1);
      expect((await client.keys(`${prefix}*`)).length).toBeGreaterThan(0);
    } finally {
      client.disconnect();
      await own.dispose();
    }
  });
});
