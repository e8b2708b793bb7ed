import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasedTokenBuckets } from './leased.ts';
import type { TokenBucketResult } from './token-bucket.ts';

// Leases exist only over a shared store: this suite needs Redis in every run.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let connections: Redis[] = [];
let gateways: LeasedTokenBuckets[] = [];

beforeAll(async () => {
  const prefix = `test:lease:${randomUUID()}:`;
  connections = [new Redis(redisUrl, { keyPrefix: prefix }), new Redis(redisUrl, { keyPrefix: prefix })];
  gateways = connections.map((redis) => new LeasedTokenBuckets(redis));
});

afterAll(async () => {
  for (const redis of connections) redis.disconnect();
});

/** A rule that refills nothing while a test runs: 100 tokens per day. */
const perDay = (capacity: number) => ({ capacity, windowMs: 86_400_000 });

async function takeMany(key: string, capacity: number, count: number, pick: (i: number) => number) {
  const results: Array<TokenBucketResult & { gateway: number }> = [];
  for (let i = 0; i < count; i++) {
    const gateway = pick(i);
    results.push({ ...(await gateways[gateway]!.take(key, perDay(capacity))), gateway });
  }
  return results;
}

describe('leased shared buckets (two gateways on one Redis)', () => {
  it('admit no more than the shared budget in total, and at least the budget less one lease per gateway', async () => {
    const key = `user:${randomUUID()}`;
    const results = await takeMany(key, 100, 300, (i) => i % 2);
    const admitted = results.filter((result) => result.allowed).length;
    const lease = gateways[0]!.leaseSize(perDay(100));
    expect(admitted).toBeLessThanOrEqual(100);
    expect(admitted).toBeGreaterThanOrEqual(100 - 2 * lease);
  });

  it('refuse a caller on the other gateway within one lease once the shared bucket is empty', async () => {
    const key = `user:${randomUUID()}`;
    const lease = gateways[0]!.leaseSize(perDay(100));
    // The second gateway takes its first lease, then the first gateway drains the rest.
    expect((await gateways[1]!.take(key, perDay(100))).allowed).toBe(true);
    let first: TokenBucketResult;
    do first = await gateways[0]!.take(key, perDay(100));
    while (first.allowed);
    const later = await takeMany(key, 100, lease + 2, () => 1);
    const admittedLater = later.filter((result) => result.allowed).length;
    expect(admittedLater).toBeLessThanOrEqual(lease);
    expect(later.at(-1)!.allowed).toBe(false);
    expect(later.at(-1)!.retryAfterMs).toBeGreaterThan(0);
  });

  it('keep exact takes for small buckets: the limit holds to the request across gateways', async () => {
    const key = `login:${randomUUID()}`;
    const results = await takeMany(key, 5, 8, (i) => i % 2);
    expect(results.map((result) => result.allowed)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    expect(results.slice(0, 5).map((result) => result.remaining)).toEqual([4, 3, 2, 1, 0]);
  });

  it('answer most takes without waiting on Redis', async () => {
    const key = `user:${randomUUID()}`;
    let synchronous = 0;
    for (let i = 0; i < 50; i++) {
      const taken = gateways[0]!.take(key, perDay(1000));
      if (!(taken instanceof Promise)) synchronous++;
      await taken;
    }
    // Only the first take waits for a lease; renewals happen in the background.
    expect(synchronous).toBeGreaterThanOrEqual(45);
  });

  it('spends an operation’s cost from the leases, never admitting more than the bucket across gateways', async () => {
    const key = randomUUID();
    const rule = perDay(100);
    const admitted: number[] = [];
    for (let i = 0; i < 40; i++) {
      const cost = i % 3 === 0 ? 5 : 1;
      if ((await gateways[i % 2]!.take(key, rule, cost)).allowed) admitted.push(cost);
    }
    const spent = admitted.reduce((sum, cost) => sum + cost, 0);
    expect(spent).toBeLessThanOrEqual(100);
    // At most two leases (one per gateway, 10 tokens each) left unspent.
    expect(spent).toBeGreaterThanOrEqual(100 - 2 * 10);
    // Costlier than a lease: taken whole from the shared bucket when it has enough.
    const big = randomUUID();
    expect((await gateways[0]!.take(big, rule, 30)).allowed).toBe(true);
    expect((await gateways[1]!.take(big, rule, 30)).allowed).toBe(true);
    expect((await gateways[0]!.take(big, rule, 30)).allowed).toBe(true);
    const fourth = await gateways[1]!.take(big, rule, 30);
    expect(fourth.allowed).toBe(false);
    expect(fourth.retryAfterMs).toBeGreaterThan(0);
  });
});
