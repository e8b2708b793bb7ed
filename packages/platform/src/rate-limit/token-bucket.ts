/**
 * Token buckets: each key holds up to `capacity` tokens and gains `capacity` tokens per `windowMs`,
 * continuously. A request takes one token, or its cost (an expensive operation counts more; a cost
 * above the capacity counts as the capacity, so such a call still passes on a full bucket); a bucket
 * holding less refuses. A client can burst `capacity`
 * requests and then sustain `capacity` per window, which is what `RATE_LIMIT_MAX_REQUESTS` per
 * `RATE_LIMIT_WINDOW_MS` promises.
 */
export interface TokenBucketRule {
  capacity: number;
  windowMs: number;
}

export interface TokenBucketResult {
  allowed: boolean;
  /** The bucket's capacity (`X-RateLimit-Limit`). */
  limit: number;
  /** Whole tokens left after this request (`X-RateLimit-Remaining`). */
  remaining: number;
  /** Until the bucket is full again (`X-RateLimit-Reset`). */
  resetAfterMs: number;
  /** Until the next token, when refused (`Retry-After`); 0 when allowed. */
  retryAfterMs: number;
}

export interface TokenBucketStore {
  /** Takes `cost` tokens (1 by default) from the bucket named `key`. Rejects only when the store fails. */
  take(key: string, rule: TokenBucketRule, cost?: number): TokenBucketResult | Promise<TokenBucketResult>;
  close(): Promise<void>;
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * One step of the bucket: refill for the time elapsed since `state.updatedAt`, then take `cost`
 * tokens if there are as many. Mutates `state`. The Redis store runs the same arithmetic in Lua (see redis.ts).
 */
export function takeToken(
  state: BucketState,
  rule: TokenBucketRule,
  now: number,
  cost = 1,
): TokenBucketResult {
  const perMs = rule.capacity / rule.windowMs;
  const elapsed = Math.max(0, now - state.updatedAt);
  let tokens = Math.min(rule.capacity, state.tokens + elapsed * perMs);
  const need = Math.min(cost, rule.capacity);
  const allowed = tokens >= need;
  if (allowed) tokens -= need;
  state.tokens = tokens;
  state.updatedAt = now;
  return {
    allowed,
    limit: rule.capacity,
    remaining: Math.floor(tokens),
    resetAfterMs: Math.ceil((rule.capacity - tokens) / perMs),
    retryAfterMs: allowed ? 0 : Math.ceil((need - tokens) / perMs),
  };
}
