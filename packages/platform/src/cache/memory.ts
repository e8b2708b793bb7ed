import type { LRUCache } from 'lru-cache';
import { growingLru } from '../lru.ts';
import type { CacheEntry, CacheMiss, CacheSetOptions, CacheStore } from './store.ts';

interface Stored extends CacheEntry {
  readonly tags: readonly string[];
}

export interface MemoryCacheStoreOptions {
  /** Entries kept at most; the least recently used go first. */
  maxEntries?: number;
  /** Invalidated names remembered for refusing late writes (see `write`). */
  maxRemembered?: number;
}

/**
 * The in-process adapter: lru-cache (bounded, TTL per entry) plus a tag index. It serves one
 * process; instances that must see each other's invalidations share Redis instead.
 */
export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  readonly #entries: LRUCache<string, Stored>;
  /** tag → keys of the entries carrying it; kept in step with the entries by `dispose`. */
  readonly #members = new Map<string, Set<string>>();
  /** name → sequence number of its last invalidation, for refusing writes of older loads. */
  readonly #invalidated: LRUCache<string, number>;
  #sequence = 0;
  /** Tokens at or below this may predate an invalidation that was forgotten; their writes are dropped. */
  #floor = 0;

  constructor(options: MemoryCacheStoreOptions = {}) {
    this.#entries = growingLru<string, Stored>(options.maxEntries ?? 10_000, {
      dispose: (entry, key) => this.#untag(key, entry.tags),
    });
    this.#invalidated = growingLru<string, number>(options.maxRemembered ?? 10_000, {
      dispose: (sequence, _name, reason) => {
        if (reason === 'evict') this.#floor = Math.max(this.#floor, sequence);
      },
    });
  }

  peek(key: string): CacheEntry | undefined {
    return this.#entries.get(key);
  }

  async read(key: string): Promise<CacheEntry | CacheMiss> {
    return this.#entries.get(key) ?? { hit: false, token: this.#sequence };
  }

  async write(
    key: string,
    value: string,
    etag: string,
    options: CacheSetOptions,
    token?: unknown,
  ): Promise<void> {
    const tags = options.tags ?? [];
    if (typeof token === 'number' && this.#invalidatedSince(token, key, tags)) return;
    this.#entries.set(key, { value, etag, hit: true, tags }, { ttl: options.ttl });
    for (const tag of tags) {
      if (tag === key) continue;
      const keys = this.#members.get(tag);
      if (keys === undefined) this.#members.set(tag, new Set([key]));
      else keys.add(key);
    }
  }

  async invalidate(names: readonly string[]): Promise<void> {
    const sequence = ++this.#sequence;
    for (const name of names) {
      this.#invalidated.set(name, sequence);
      this.#entries.delete(name);
      const keys = this.#members.get(name);
      if (keys === undefined) continue;
      for (const key of [...keys]) this.#entries.delete(key);
      this.#members.delete(name);
    }
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.#entries.clear();
  }

  #invalidatedSince(token: number, key: string, tags: readonly string[]): boolean {
    if (token < this.#floor) return true;
    if ((this.#invalidated.get(key) ?? 0) > token) return true;
    for (const tag of tags) if ((this.#invalidated.get(tag) ?? 0) > token) return true;
    return false;
  }

  #untag(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.#members.get(tag);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) this.#members.delete(tag);
    }
  }
}
