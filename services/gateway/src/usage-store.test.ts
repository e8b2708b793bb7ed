import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryUsage, RedisUsage } from './usage-store.ts';

// Like the leased buckets' suite, this one needs a Redis in every run: the machine's by default.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('usage in process', () => {
  it('adds up requests per user, day, key and status class', async () => {
    const store = new MemoryUsage();
    store.record('usr_a', '', '2026-12-05', 0);
    store.record('usr_a', 'key_1', '2026-12-05', 0);
    store.record('usr_a', 'key_1', '2026-12-05', 2);
    store.record('usr_a', '', '2026-12-06', 3);
    store.record('usr_b', '', '2026-12-05', 0);
    const usage = await store.read('usr_a', ['2026-12-04', '2026-12-05', '2026-12-06']);
    expect(usage.has('2026-12-04')).toBe(false);
    expect(Object.fromEntries(usage.get('2026-12-05')!)).toEqual({ '': [1, 0, 0, 0], key_1: [1, 0, 1, 0] });
    expect(Object.fromEntries(usage.get('2026-12-06')!)).toEqual({ '': [0, 0, 0, 1] });
  });
});

describe('usage in Redis', () => {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    keyPrefix: `test:${randomUUID()}:`,
  });
  afterAll(() => redis.disconnect());

  it('keeps the counts of a failed flush and sends them with the next one, nothing lost or doubled', async () => {
    await redis.connect();
    const store = new RedisUsage(redis, { flushMs: 60_000, retentionDays: 92 });
    const other = new RedisUsage(redis, { flushMs: 60_000, retentionDays: 92 });
    store.record('usr_a', 'key_1', '2026-12-05', 0);
    store.record('usr_a', '', '2026-12-05', 2);
    await store.flush();

    // Redis goes away: the next counts stay in this process, and this gateway still reads them.
    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    store.record('usr_a', 'key_1', '2026-12-05', 0);
    await store.flush();
    await redis.connect();
    expect(Object.fromEntries((await other.read('usr_a', ['2026-12-05'])).get('2026-12-05')!)).toEqual({
      key_1: [1, 0, 0, 0],
      '': [0, 0, 1, 0],
    });
    expect(Object.fromEntries((await store.read('usr_a', ['2026-12-05'])).get('2026-12-05')!)).toEqual({
      key_1: [2, 0, 0, 0],
      '': [0, 0, 1, 0],
    });

    // Back: the kept counts arrive once.
    await store.flush();
    await store.flush();
    expect(Object.fromEntries((await other.read('usr_a', ['2026-12-05'])).get('2026-12-05')!)).toEqual({
      key_1: [2, 0, 0, 0],
      '': [0, 0, 1, 0],
    });
    const ttl = await redis.ttl('usage:usr_a:2026-12-05');
    expect(ttl).toBeGreaterThan(92 * 86_400);
    await store.close();
    await other.close();
  });
});
