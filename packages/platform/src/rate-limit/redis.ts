import type { Redis } from 'ioredis';
import type { TokenBucketResult, TokenBucketRule, TokenBucketStore } from './token-bucket.ts';

/**
 * The token bucket as one Lua script, so read-refill-take-write is atomic in Redis and every gateway
 * instance draws from the same budget. Written by hand because the libraries at hand either count
 * fixed windows (@fastify/rate-limit) or keep state per process; the arithmetic mirrors `takeToken`.
 * The clock is Redis's own (`TIME`), so instances with skewed clocks still agree. A key expires once
 * its bucket would be full again, when it is indistinguishable from a new one.
 */
const tokenBucketScript = `
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local perMs = capacity / window
tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
local resetAfter = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, resetAfter))
local retryAfter = 0
if allowed == 0 then
  retryAfter = math.ceil((1 - tokens) / perMs)
end
return { allowed, math.floor(tokens), resetAfter, retryAfter }
`;

type BucketCommand = (
  key: string,
  capacity: number,
  windowMs: number,
) => Promise<[number, number, number, number]>;

/** Token buckets shared by every process that uses the same Redis and key prefix. */
export class RedisTokenBuckets implements TokenBucketStore {
  readonly #take: BucketCommand;

  /** `redis` is owned by the caller (and closed by it); set its `keyPrefix` to namespace the buckets. */
  constructor(redis: Redis) {
    // defineCommand sends the script once and then calls it by SHA (EVALSHA), reloading it if Redis forgot it.
    redis.defineCommand('armatureTokenBucket', { numberOfKeys: 1, lua: tokenBucketScript });
    const command = (redis as unknown as { armatureTokenBucket: BucketCommand }).armatureTokenBucket;
    this.#take = command.bind(redis);
  }

  async take(key: string, rule: TokenBucketRule): Promise<TokenBucketResult> {
    const [allowed, remaining, resetAfterMs, retryAfterMs] = await this.#take(
      key,
      rule.capacity,
      rule.windowMs,
    );
    return { allowed: allowed === 1, limit: rule.capacity, remaining, resetAfterMs, retryAfterMs };
  }

  /** The connection belongs to the caller, who closes it. */
  async close(): Promise<void> {}
}
