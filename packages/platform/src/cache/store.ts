/** What a lookup gives back: the value, its validator, and whether it came from the cache. */
export interface CacheEntry {
  /** The cached value, serialised (for an HTTP representation, its JSON body). */
  readonly value: string;
  /** An HTTP entity tag for the value: `"…"` (strong) or `W/"…"` (weak). */
  readonly etag: string;
  /** True when the value came from the cache, false when it was loaded for this call. */
  readonly hit: boolean;
}

export interface CacheSetOptions {
  /** Time to live, in milliseconds. */
  ttl: number;
  /**
   * Groups the entry belongs to (`users`, `user:{id}`): invalidating one drops the entry. An entry
   * always belongs to the group named after its own key, so invalidating a key deletes it.
   */
  tags?: readonly string[];
}

/**
 * A lookup that found nothing. `token` captures what the store needs to refuse a later write of a
 * value loaded before an invalidation (see `CacheStore.write`); `undefined` means the store cannot
 * take writes now (unavailable), so the caller loads without storing.
 */
export interface CacheMiss {
  readonly hit: false;
  readonly token: unknown;
}

/** A miss that must not be followed by a write: the store is unavailable or disabled. */
export const bypass: CacheMiss = Object.freeze({ hit: false, token: undefined });

/**
 * The port every cache adapter implements. Methods may throw when the backing service fails; the
 * `Cache` in front of it turns every failure into a miss or a skipped write, never an error.
 */
export interface CacheStore {
  /** `memory`, `redis` or `disabled`: for health messages and logs. */
  readonly kind: string;
  /** Caching switched off: every lookup calls its loader, not even coalesced with others. */
  readonly passThrough?: boolean;
  /** A synchronous lookup, offered by in-process stores so a hit costs no promise. */
  peek?(key: string): CacheEntry | undefined;
  /** The entry under `key` (with `hit: true`), or a miss carrying a write token. */
  read(key: string, tags: readonly string[]): Promise<CacheEntry | CacheMiss>;
  /**
   * Stores a value. With the token of an earlier miss, the write is dropped when the key or one of
   * `tags` was invalidated since that miss (the loaded value may predate the change that caused the
   * invalidation); without a token it is unconditional.
   */
  write(key: string, value: string, etag: string, options: CacheSetOptions, token?: unknown): Promise<void>;
  /** Drops every entry stored under one of `names` or tagged with one of them. */
  invalidate(names: readonly string[]): Promise<void>;
  /** Resolves when the store can serve; rejects with the reason otherwise (health check). */
  ping(): Promise<void>;
  /** Waits up to `timeoutMs` for a remote store to connect; true when it serves. */
  connect?(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}
