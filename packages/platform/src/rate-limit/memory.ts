import type { LRUCache } from 'lru-cache';
import { growingLru } from '../lru.ts';
import {
  type BucketState,
  type TokenBucketResult,
  type TokenBucketRule,
  type TokenBucketStore,
  takeToken,
} from './token-bucket.ts';

export interface MemoryBucketOptions {
  /** Buckets kept at most; the least recently used is dropped first (its client starts full again). */
  maxKeys?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Token buckets in this process (embedded mode, or the fallback when Redis is unreachable). */
export class MemoryTokenBuckets implements TokenBucketStore {
  readonly #buckets: LRUCache<string, BucketState>;
  readonly #now: () => number;

  constructor(options: MemoryBucketOptions = {}) {
    this.#buckets = growingLru(options.maxKeys ?? 100_000);
    this.#now = options.now ?? Date.now;
  }

  take(key: string, rule: TokenBucketRule, cost = 1): TokenBucketResult {
    const now = this.#now();
    let state = this.#buckets.get(key);
    if (!state) {
      state = { tokens: rule.capacity, updatedAt: now };
      this.#buckets.set(key, state);
    }
    return takeToken(state, rule, now, cost);
  }

  async close(): Promise<void> {
    this.#buckets.clear();
  }
}
