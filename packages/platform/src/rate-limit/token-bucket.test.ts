import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryTokenBuckets } from './memory.ts';
import { RedisTokenBuckets } from './redis.ts';
import type { TokenBucketStore } from './token-bucket.ts';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(redisUrl, { keyPrefix: `test:bucket:${randomUUID()}:`, lazyConnect: true });

afterAll(async () => {
  const keys = await redis.keys(`${redis.options.keyPrefix}*`);
  if (keys.length) await redis.del(...keys.map((key) => key.slice(String(redis.options.keyPrefix).length)));
  redis.disconnect();
});

const stores: Array<[string, () => TokenBucketStore]> = [
  ['in-process', () => new MemoryTokenBuckets()],
  ['Redis', () => new RedisTokenBuckets(redis)],
];

describe.each(stores)('token buckets (%s)', (_name, makeStore) => {
  const store = makeStore();

  it('takes an operation’s cost in tokens, and a refused costly call waits for what it lacks', async () => {
    const key = randomUUID();
    const rule = { capacity: 12, windowMs: 60_000 };
    const first = await store.take(key, rule, 5);
    const second = await store.take(key, rule, 5);
    const third = await store.take(key, rule, 5);
    expect([first.allowed, second.allowed, third.allowed]).toEqual([true, true, false]);
    expect([first.remaining, second.remaining]).toEqual([7, 2]);
    // One token every 5 s and three missing: about 15 s, not the 5 s of a single token.
    expect(third.retryAfterMs).toBeGreaterThan(10_000);
    expect(third.retryAfterMs).toBeLessThanOrEqual(15_000);
    // What is left still serves cheaper calls.
    expect((await store.take(key, rule)).allowed).toBe(true);
    // A cost above the capacity counts as the capacity: such a call passes on a full bucket.
    const full = randomUUID();
    expect((await store.take(full, { capacity: 3, windowMs: 60_000 }, 10)).allowed).toBe(true);
    expect((await store.take(full, { capacity: 3, windowMs: 60_000 })).allowed).toBe(false);
  });

  it('allows a burst of `capacity` requests, counting down, then refuses with a retry delay', async () => {
    const key = randomUUID();
    const rule = { capacity: 5, windowMs: 60_000 };
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await store.take(key, rule));
    expect(results.map((result) => result.allowed)).toEqual([true, true, true, true, true, false]);
    expect(results.map((result) => result.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(results[5].limit).toBe(5);
    // One token every 12 s; the refused request learns when the next one arrives.
    expect(results[5].retryAfterMs).toBeGreaterThan(10_000);
    expect(results[5].retryAfterMs).toBeLessThanOrEqual(12_000);
    // The bucket is full again one window after it was emptied.
    expect(results[5].resetAfterMs).toBeGreaterThan(55_000);
    expect(results[5].resetAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('keeps one bucket per key', async () => {
    const rule = { capacity: 1, windowMs: 60_000 };
    const [a, b] = [randomUUID(), randomUUID()];
    expect((await store.take(a, rule)).allowed).toBe(true);
    expect((await store.take(a, rule)).allowed).toBe(false);
    expect((await store.take(b, rule)).allowed).toBe(true);
  });

  it('refills continuously over the window', async () => {
    const key = randomUUID();
    const rule = { capacity: 4, windowMs: 2000 }; // one token per 500 ms
    for (let i = 0; i < 4; i++) await store.take(key, rule);
    const refused = await store.take(key, rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
    await vi.waitFor(async () => expect((await store.take(key, rule)).allowed).toBe(true), {
      timeout: 5000,
      interval: 50,
    });
  });

  it('never lets concurrent requests overdraw a bucket', async () => {
    const key = randomUUID();
    const rule = { capacity: 10, windowMs: 600_000 };
    const results = await Promise.all(Array.from({ length: 40 }, () => store.take(key, rule)));
    expect(results.filter((result) => result.allowed)).toHaveLength(10);
  });

  it('takes from several buckets at once, each exactly and in the order asked', async () => {
    const [small, large] = [randomUUID(), randomUUID()];
    const smallRule = { capacity: 2, windowMs: 600_000 };
    const largeRule = { capacity: 100, windowMs: 600_000 };
    // Interleaved takes of two buckets with different rules, all asked for in the same turn.
    const asked = [small, large, small, large, small].map((key) =>
      store.take(key, key === small ? smallRule : largeRule),
    );
    const results = await Promise.all(asked);
    expect(results.map((result) => [result.allowed, result.remaining, result.limit])).toEqual([
      [true, 1, 2],
      [true, 99, 100],
      [true, 0, 2],
      [true, 98, 100],
      [false, 0, 2],
    ]);
    expect(results[4].retryAfterMs).toBeGreaterThan(0);
  });
});

describe('in-process buckets', () => {
  it('refill at capacity per window, computed from the clock', () => {
    let now = 1_000_000;
    const store = new MemoryTokenBuckets({ now: () => now });
    const rule = { capacity: 10, windowMs: 1000 };
    for (let i = 0; i < 10; i++) store.take('k', rule);
    expect(store.take('k', rule).allowed).toBe(false);
    now += 500;
    const half = store.take('k', rule);
    expect(half.allowed).toBe(true);
    expect(half.remaining).toBe(4);
    now += 10_000;
    expect(store.take('k', rule).remaining).toBe(9);
  });

  it('forget the least recently used bucket beyond maxKeys', () => {
    const store = new MemoryTokenBuckets({ maxKeys: 2 });
    const rule = { capacity: 1, windowMs: 60_000 };
    store.take('a', rule);
    store.take('b', rule);
    store.take('c', rule);
    expect(store.take('a', rule).allowed).toBe(true);
    expect(store.take('c', rule).allowed).toBe(false);
  });
});
