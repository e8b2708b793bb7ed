import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cache, type Loader } from './cache.ts';
import { DisabledCacheStore } from './disabled.ts';
import { MemoryCacheStore } from './memory.ts';
import { RedisCacheStore } from './redis.ts';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const admin = new Redis(redisUrl, { lazyConnect: true });
const prefixes: string[] = [];
const caches: Cache[] = [];

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
});

afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  }
  admin.disconnect();
});

/** Caches that share one store: in-process, the same store; on Redis, one client each, one prefix. */
type Family = () => Promise<() => Promise<Cache>>;

const families: Array<[string, Family]> = [
  [
    'in-process',
    async () => {
      const store = new MemoryCacheStore();
      return async () => track(new Cache({ store, name: 'test' }));
    },
  ],
  [
    'Redis',
    async () => {
      const prefix = `test:cache:${randomUUID()}:`;
      prefixes.push(prefix);
      return async () => {
        const cache = track(
          new Cache({ store: new RedisCacheStore({ url: redisUrl, prefix }), name: 'test' }),
        );
        expect(await cache.connect(5000)).toBe(true);
        return cache;
      };
    },
  ],
];

function track(cache: Cache): Cache {
  caches.push(cache);
  return cache;
}

/** A loader that counts its calls and reads `value()` at once, answering once `release()` is called (or at once). */
function countingLoader(value: () => string | undefined, { gated = false } = {}) {
  let release: () => void = () => {};
  const gate = gated ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const loader = {
    calls: 0,
    release: () => release(),
    load: (async () => {
      loader.calls++;
      const read = value();
      await gate;
      return read;
    }) as Loader,
  };
  return loader;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const hour = 3_600_000;

describe.each(families)('cache (%s)', (_name, family) => {
  it('returns what was set, with an ETag, until it is deleted', async () => {
    const cache = await (await family())();
    await cache.set('user:1', '{"name":"Ada"}', { ttl: hour });
    const entry = await cache.get('user:1');
    expect(entry).toMatchObject({ value: '{"name":"Ada"}', hit: true });
    expect(entry?.etag).toMatch(/^"[\w-]+"$/);
    await cache.delete('user:1');
    expect(await cache.get('user:1')).toBeUndefined();
  });

  it('drops every entry carrying an invalidated tag, and only those', async () => {
    const cache = await (await family())();
    await cache.set('user:1', 'ada', { ttl: hour, tags: ['users', 'user:1'] });
    await cache.set('user:1:orders', 'ada-orders', { ttl: hour, tags: ['user:1:orders', 'user:1'] });
    await cache.set('user:2', 'bob', { ttl: hour, tags: ['users', 'user:2'] });
    await cache.set('product:1', 'lamp', { ttl: hour, tags: ['products'] });

    await cache.invalidate(['user:1']);
    expect(await cache.get('user:1')).toBeUndefined();
    expect(await cache.get('user:1:orders')).toBeUndefined();
    expect((await cache.get('user:2'))?.value).toBe('bob');

    await cache.invalidate(['users']);
    expect(await cache.get('user:2')).toBeUndefined();
    expect((await cache.get('product:1'))?.value).toBe('lamp');
  });

  it('forgets an entry once its TTL has passed', async () => {
    const cache = await (await family())();
    await cache.set('short', 'lived', { ttl: 200 });
    await cache.set('long', 'lived', { ttl: hour });
    expect((await cache.get('short'))?.value).toBe('lived');
    await eventually(async () => (await cache.get('short')) === undefined, 'the entry expires');
    expect((await cache.get('long'))?.value).toBe('lived');
  });

  it('calls the loader once for 100 concurrent lookups of one cold key, then serves hits', async () => {
    const cache = await (await family())();
    const loader = countingLoader(() => '{"id":"prd_1"}', { gated: true });
    const lookups = Array.from({ length: 100 }, () =>
      cache.getOrLoad('product:1', loader.load, { ttl: hour, tags: ['products'] }),
    );
    await eventually(async () => loader.calls > 0, 'the loader is called');
    loader.release();
    const entries = await Promise.all(lookups);
    expect(loader.calls).toBe(1);
    expect(new Set(entries.map((entry) => entry?.value))).toEqual(new Set(['{"id":"prd_1"}']));
    expect(entries[0]?.hit).toBe(false);

    const again = await cache.getOrLoad('product:1', loader.load, { ttl: hour });
    expect(again).toMatchObject({ value: '{"id":"prd_1"}', hit: true });
    expect(loader.calls).toBe(1);
  });

  it('does not cache "not found", nor a loader that failed', async () => {
    const cache = await (await family())();
    const missing = countingLoader(() => undefined);
    expect(await cache.getOrLoad('user:404', missing.load, { ttl: hour })).toBeUndefined();
    expect(await cache.getOrLoad('user:404', missing.load, { ttl: hour })).toBeUndefined();
    expect(missing.calls).toBe(2);

    let calls = 0;
    const failing: Loader = async () => {
      calls++;
      if (calls === 1) throw new Error('database down');
      return 'recovered';
    };
    const first = Promise.all([
      cache.getOrLoad('user:5', failing, { ttl: hour }),
      cache.getOrLoad('user:5', failing, { ttl: hour }),
    ]);
    await expect(first).rejects.toThrow('database down');
    expect((await cache.getOrLoad('user:5', failing, { ttl: hour }))?.value).toBe('recovered');
    expect(calls).toBe(2);
  });

  it('does not store a value loaded while its tag was invalidated (the write won the race)', async () => {
    const cache = await (await family())();
    let database = 'old';
    const slow = countingLoader(() => database, { gated: true });
    const lookup = cache.getOrLoad('user:7', slow.load, { ttl: hour, tags: ['user:7'] });
    await eventually(async () => slow.calls > 0, 'the loader is called');
    // A write commits and invalidates while the read above still holds the old row.
    database = 'new';
    await cache.invalidate(['user:7']);
    // A lookup after the write does not join the read that started before it.
    const after = countingLoader(() => database);
    expect((await cache.getOrLoad('user:7', after.load, { ttl: hour, tags: ['user:7'] }))?.value).toBe('new');
    slow.release();
    expect((await lookup)?.value).toBe('old');
    expect((await cache.getOrLoad('user:7', after.load, { ttl: hour, tags: ['user:7'] }))?.value).toBe('new');
  });

  it('lets every instance sharing the store see a write and an invalidation at once', async () => {
    const open = await family();
    const [a, b] = [await open(), await open()];
    let database = 'v1';
    const load = countingLoader(() => database);
    expect((await a.getOrLoad('user:9', load.load, { ttl: hour, tags: ['users'] }))?.hit).toBe(false);
    expect(await b.getOrLoad('user:9', load.load, { ttl: hour, tags: ['users'] })).toMatchObject({
      value: 'v1',
      hit: true,
    });
    database = 'v2';
    await a.invalidate(['users']);
    expect((await b.getOrLoad('user:9', load.load, { ttl: hour, tags: ['users'] }))?.value).toBe('v2');
    expect(load.calls).toBe(2);
  });

  it('counts hits, misses and coalesced lookups for Prometheus', async () => {
    const cache = await (await family())();
    const load = countingLoader(() => 'x', { gated: true });
    const cold = [
      cache.getOrLoad('k', load.load, { ttl: hour }),
      cache.getOrLoad('k', load.load, { ttl: hour }),
    ];
    await eventually(async () => load.calls > 0, 'the loader is called');
    load.release();
    await Promise.all(cold);
    await cache.getOrLoad('k', load.load, { ttl: hour });
    const text = await cache.metrics.registry.metrics();
    expect(text).toContain('cache_hits_total{cache="test"} 1');
    expect(text).toContain('cache_misses_total{cache="test"} 1');
    expect(text).toContain('cache_coalesced_total{cache="test"} 1');
  });
});

describe('cache across instances on Redis', () => {
  it('drops a value another instance loaded while this one invalidated it', async () => {
    const prefix = `test:cache:${randomUUID()}:`;
    prefixes.push(prefix);
    const [a, b] = [0, 1].map(() =>
      track(new Cache({ store: new RedisCacheStore({ url: redisUrl, prefix }), name: 'test' })),
    );
    await Promise.all([a.connect(5000), b.connect(5000)]);
    let database = 'old';
    const slow = countingLoader(() => database, { gated: true });
    const lookup = b.getOrLoad('order-list', slow.load, { ttl: hour, tags: ['user:3:orders'] });
    await eventually(async () => slow.calls > 0, 'the loader is called');
    database = 'new';
    await a.invalidate(['user:3:orders']);
    slow.release();
    expect((await lookup)?.value).toBe('old');
    const fresh = countingLoader(() => database);
    expect((await a.getOrLoad('order-list', fresh.load, { ttl: hour }))?.value).toBe('new');
    expect(fresh.calls).toBe(1);
  });

  it('keeps a tag set from growing with the keys of entries that expired', async () => {
    const prefix = `test:cache:${randomUUID()}:`;
    prefixes.push(prefix);
    const cache = track(new Cache({ store: new RedisCacheStore({ url: redisUrl, prefix }), name: 'test' }));
    await cache.connect(5000);
    // A long-lived entry keeps the set alive, as steady traffic keeps `users` alive.
    await cache.set('anchor', 'x', { ttl: hour, tags: ['everyone'] });
    for (let i = 0; i < 100; i++) await cache.set(`short:${i}`, 'x', { ttl: 50, tags: ['everyone'] });
    await eventually(async () => (await admin.exists(`${prefix}e:short:99`)) === 0, 'the entries expire');
    for (let i = 0; i < 100; i++) await cache.set(`long:${i}`, 'x', { ttl: hour, tags: ['everyone'] });
    expect(await admin.scard(`${prefix}t:everyone`)).toBeLessThan(150);
    await cache.invalidate(['everyone']);
    expect(await cache.get('long:1')).toBeUndefined();
  });
});

describe('cache switched off (CACHE_ENABLED=false)', () => {
  it('calls the loader for every lookup, concurrent ones included, and keeps nothing', async () => {
    const cache = track(new Cache({ store: new DisabledCacheStore(), name: 'test' }));
    const load = countingLoader(() => 'row', { gated: true });
    const lookups = Array.from({ length: 10 }, () => cache.getOrLoad('k', load.load, { ttl: hour }));
    load.release();
    const entries = await Promise.all(lookups);
    expect(load.calls).toBe(10);
    expect(entries.every((entry) => entry?.value === 'row' && entry.hit === false)).toBe(true);
    await cache.set('k', 'kept?', { ttl: hour });
    expect(await cache.get('k')).toBeUndefined();
  });
});
