import { bypass, type CacheEntry, type CacheMiss, type CacheStore } from './store.ts';

/**
 * Caching switched off (`CACHE_ENABLED=false`): every lookup goes to the loader, each on its own
 * (no coalescing either: the baseline of one database read per request), nothing is kept.
 */
export class DisabledCacheStore implements CacheStore {
  readonly kind = 'disabled';
  readonly passThrough = true;

  async read(): Promise<CacheEntry | CacheMiss> {
    return bypass;
  }

  async write(): Promise<void> {}

  async invalidate(): Promise<void> {}

  async ping(): Promise<void> {}

  async close(): Promise<void> {}
}
