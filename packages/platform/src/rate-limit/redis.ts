import type { Redis } from 'ioredis';
import type { TokenBucketResult, TokenBucketRule, TokenBucketStore } from './token-bucket.ts';

/**
 * The token bucket as one Lua script, so read-refill-take-write is atomic in Redis and every gateway
 * instance draws from the same budget. Written by hand because the libraries at hand either count
 * fixed windows (@fastify/rate-limit) or keep state per process; the arithmetic mirrors `takeToken`.
 * The clock is Redis's own (`TIME`), so instances with skewed clocks still agree. A key expires once
 * its bucket would be full again, when it is indistinguishable from a new one.
 *
 * One call takes tokens from each of several buckets (KEYS[i], with capacity ARGV[3i-2], window
 * ARGV[3i-1] and cost ARGV[3i]), in order, and returns four numbers per bucket. A key may appear twice: the second take
 * sees the first.
 */
const tokenBucketScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local results = {}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local need = math.min(tonumber(ARGV[3 * i]), capacity)
  local state = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(state[1])
  local ts = tonumber(state[2])
  if tokens == nil or ts == nil then
    tokens = capacity
    ts = now
  end
  local perMs = capacity / window
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
  local allowed = 0
  if tokens >= need then
    tokens = tokens - need
    allowed = 1
  end
  local resetAfter = math.ceil((capacity - tokens) / perMs)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
  redis.call('PEXPIRE', key, math.max(1, resetAfter))
  local retryAfter = 0
  if allowed == 0 then
    retryAfter = math.ceil((need - tokens) / perMs)
  end
  local at = 4 * (i - 1)
  results[at + 1] = allowed
  results[at + 2] = math.floor(tokens)
  results[at + 3] = resetAfter
  results[at + 4] = retryAfter
end
return results
`;

/** `numberOfKeys`, the keys, then a capacity, a window and a cost per key. */
type BucketCommand = (...args: Array<string | number>) => Promise<number[]>;

interface PendingTake {
  key: string;
  rule: TokenBucketRule;
  cost: number;
  resolve: (result: TokenBucketResult) => void;
  reject: (error: unknown) => void;
}

/** A bound on one script call, so a burst is split instead of blocking Redis for long. */
const maxBatch = 256;

/**
 * Token buckets shared by every process that uses the same Redis and key prefix.
 *
 * The takes requested during one turn of the event loop go to Redis as one script call (sent when
 * the turn's I/O callbacks are done, `setImmediate`). Every request takes a token, so under load
 * this is one command, one timer and one reply to parse per turn instead of per request; each take
 * stays atomic and exact, in the order requested. Alone, a take waits for nothing but the end of
 * the callback that asked for it. The keys of a call must live on one node: a single Redis or
 * primary, not a sharded Redis Cluster.
 */
export class RedisTokenBuckets implements TokenBucketStore {
  readonly #take: BucketCommand;
  #pending: PendingTake[] = [];
  #scheduled = false;

  /** `redis` is owned by the caller (and closed by it); set its `keyPrefix` to namespace the buckets. */
  constructor(redis: Redis) {
    // defineCommand sends the script once and then calls it by SHA (EVALSHA), reloading it if Redis
    // forgot it. Without numberOfKeys, each call says how many keys it passes.
    redis.defineCommand('armatureTokenBuckets', { lua: tokenBucketScript });
    const command = (redis as unknown as { armatureTokenBuckets: BucketCommand }).armatureTokenBuckets;
    this.#take = command.bind(redis);
  }

  take(key: string, rule: TokenBucketRule, cost = 1): Promise<TokenBucketResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ key, rule, cost, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = [];
    for (let start = 0; start < pending.length; start += maxBatch) {
      this.#send(pending.slice(start, start + maxBatch));
    }
  };

  #send(batch: PendingTake[]): void {
    const args: Array<string | number> = [batch.length];
    for (const take of batch) args.push(take.key);
    for (const take of batch) args.push(take.rule.capacity, take.rule.windowMs, take.cost);
    this.#take(...args).then(
      (results) => {
        for (let i = 0; i < batch.length; i++) {
          const { rule, resolve } = batch[i]!;
          const at = 4 * i;
          resolve({
            allowed: results[at] === 1,
            limit: rule.capacity,
            remaining: results[at + 1]!,
            resetAfterMs: results[at + 2]!,
            retryAfterMs: results[at + 3]!,
          });
        }
      },
      (error: unknown) => {
        for (const take of batch) take.reject(error);
      },
    );
  }

  /** The connection belongs to the caller, who closes it. */
  async close(): Promise<void> {}
}
