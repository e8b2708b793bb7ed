import type { Redis } from 'ioredis';
import { growingLru } from '../lru.ts';
import { RedisTokenBuckets } from './redis.ts';
import type { TokenBucketResult, TokenBucketRule, TokenBucketStore } from './token-bucket.ts';

/**
 * Takes up to ARGV[3] tokens at once from the shared bucket KEYS[1] (capacity ARGV[1], window
 * ARGV[2]), with the arithmetic of the one-token script: answers the tokens granted, the whole tokens
 * left, and the times until full and until the next token.
 */
const leaseScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local capacity = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
local perMs = capacity / window
tokens = math.min(capacity, tokens + math.max(0, now - ts) * perMs)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
local resetAfter = math.ceil((capacity - tokens) / perMs)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, resetAfter))
local retryAfter = 0
if granted == 0 then retryAfter = math.ceil((1 - tokens) / perMs) end
return {granted, math.floor(tokens), resetAfter, retryAfter}
`;

type LeaseCommand = (key: string, capacity: number, windowMs: number, want: number) => Promise<number[]>;

export interface LeaseOptions {
  /** Buckets smaller than this keep an exact take per request (default 20). */
  minCapacity?: number;
  /** A lease is this share of the bucket's capacity (default 0.1, at least one token). */
  fraction?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface Lease {
  /** Tokens taken from the shared bucket and not yet spent here. */
  tokens: number;
  /** Unspent tokens are given up (not returned) after this time, so none is held for long. */
  expiresAt: number;
  /** What the shared bucket said at the last lease: whole tokens left, and when it is full again. */
  sharedRemaining: number;
  resetAt: number;
  /** An empty shared bucket: refuse here, without asking Redis, until this time. */
  emptyUntil: number;
  renewing: Promise<void> | undefined;
}

/**
 * Shared token buckets without a Redis round trip per request. For a bucket of at least
 * `minCapacity` tokens, this process takes a **lease** of `fraction × capacity` tokens from the
 * shared bucket (one atomic script) and spends it locally, renewing it in the background once half
 * is spent. Tokens are taken from the shared bucket before they are spent, so N gateways together
 * never admit more than the shared bucket grants: the whole error is on the side of refusing, by at
 * most the N leases held and not yet spent, and a lease unspent after the time the bucket takes to
 * refill it is dropped. A caller refused on one gateway (the shared bucket empty) is refused on the
 * others as soon as their current lease is spent: within one lease. Small buckets take exactly, one
 * token per request, through the batching `RedisTokenBuckets`.
 */
export class LeasedTokenBuckets implements TokenBucketStore {
  readonly #exact: RedisTokenBuckets;
  readonly #lease: LeaseCommand;
  readonly #leases = growingLru<string, Lease>(100_000);
  readonly #minCapacity: number;
  readonly #fraction: number;
  readonly #now: () => number;

  constructor(redis: Redis, options: LeaseOptions = {}) {
    this.#exact = new RedisTokenBuckets(redis);
    redis.defineCommand('armatureTokenLease', { lua: leaseScript, numberOfKeys: 1 });
    this.#lease = (redis as unknown as { armatureTokenLease: LeaseCommand }).armatureTokenLease.bind(redis);
    this.#minCapacity = options.minCapacity ?? 20;
    this.#fraction = options.fraction ?? 0.1;
    this.#now = options.now ?? Date.now;
  }

  /** The lease size for a rule: at least one token. */
  leaseSize(rule: TokenBucketRule): number {
    return Math.max(1, Math.floor(rule.capacity * this.#fraction));
  }

  take(key: string, rule: TokenBucketRule, cost = 1): TokenBucketResult | Promise<TokenBucketResult> {
    if (rule.capacity < this.#minCapacity) return this.#exact.take(key, rule, cost);
    const need = Math.min(cost, rule.capacity);
    const now = this.#now();
    const lease = this.#leases.get(key);
    if (lease) {
      if (lease.expiresAt <= now) lease.tokens = 0;
      if (lease.tokens >= need) return this.#spend(key, lease, rule, now, need);
      if (lease.emptyUntil > now) return refused(rule, lease, now);
      return this.#topUp(key, rule, lease, need);
    }
    const fresh: Lease = {
      tokens: 0,
      expiresAt: 0,
      sharedRemaining: 0,
      resetAt: now,
      emptyUntil: 0,
      renewing: undefined,
    };
    this.#leases.set(key, fresh);
    return this.#renew(key, rule, fresh, need).then(() => this.#after(key, rule, need));
  }

  /**
   * Waits for the renewal under way, if any (it may have asked for less than this request costs),
   * then takes what is still missing.
   */
  async #topUp(key: string, rule: TokenBucketRule, lease: Lease, need: number): Promise<TokenBucketResult> {
    if (lease.renewing) await lease.renewing;
    if (lease.tokens < need && lease.emptyUntil <= this.#now())
      await (lease.renewing ?? this.#renew(key, rule, lease, need));
    return this.#after(key, rule, need);
  }

  /** After waiting on a lease: spend from it, or refuse when the shared bucket had too little. */
  #after(key: string, rule: TokenBucketRule, need: number): TokenBucketResult {
    const now = this.#now();
    const lease = this.#leases.get(key);
    if (lease && lease.tokens >= need && lease.expiresAt > now)
      return this.#spend(key, lease, rule, now, need);
    if (lease && lease.emptyUntil <= now) {
      // The shared bucket is drained (it granted less than asked): ask again once the tokens still
      // missing have had time to come back, not on every request until then.
      lease.emptyUntil = now + Math.ceil(((need - lease.tokens) * rule.windowMs) / rule.capacity);
    }
    return refused(rule, lease, now);
  }

  #spend(key: string, lease: Lease, rule: TokenBucketRule, now: number, need: number): TokenBucketResult {
    lease.tokens -= need;
    const size = this.leaseSize(rule);
    if (lease.tokens < size / 2 && lease.renewing === undefined && lease.emptyUntil <= now) {
      // Renewed in the background: the requests of the meantime spend what is left.
      this.#renew(key, rule, lease).catch(() => {});
    }
    return {
      allowed: true,
      limit: rule.capacity,
      remaining: Math.max(0, lease.sharedRemaining + Math.floor(lease.tokens)),
      resetAfterMs: Math.max(0, lease.resetAt - now),
      retryAfterMs: 0,
    };
  }

  /** Takes a new lease: its usual size, or more when one request costs more than that. */
  #renew(key: string, rule: TokenBucketRule, lease: Lease, need = 1): Promise<void> {
    const size = this.leaseSize(rule);
    const want = Math.max(size, need - Math.max(0, Math.floor(lease.tokens)));
    const renewing = this.#lease(key, rule.capacity, rule.windowMs, want).then(
      ([granted = 0, remaining = 0, resetAfter = 0, retryAfter = 0]) => {
        const now = this.#now();
        if (lease.expiresAt <= now) lease.tokens = 0;
        lease.tokens += granted;
        // Held no longer than the bucket takes to refill one lease.
        lease.expiresAt = now + Math.max(1000, Math.ceil((size * rule.windowMs) / rule.capacity));
        lease.sharedRemaining = remaining;
        lease.resetAt = now + resetAfter;
        lease.emptyUntil = granted === 0 ? now + retryAfter : 0;
        lease.renewing = undefined;
      },
      (error: unknown) => {
        lease.renewing = undefined;
        throw error;
      },
    );
    lease.renewing = renewing;
    return renewing;
  }

  async close(): Promise<void> {
    this.#leases.clear();
  }
}

function refused(rule: TokenBucketRule, lease: Lease | undefined, now: number): TokenBucketResult {
  const retry = lease && lease.emptyUntil > now ? lease.emptyUntil - now : 1000;
  return {
    allowed: false,
    limit: rule.capacity,
    remaining: 0,
    resetAfterMs: lease ? Math.max(0, lease.resetAt - now) : rule.windowMs,
    retryAfterMs: retry,
  };
}
