import { hash } from 'node:crypto';
import { CacheMetrics } from './metrics.ts';
import type { CacheEntry, CacheMiss, CacheSetOptions, CacheStore } from './store.ts';

/** What a loader returns: the serialised value (its ETag is then a hash of it), with or without an ETag. */
export type Loaded = string | { value: string; etag?: string };
export type Loader = () => Promise<Loaded | undefined>;

export interface CacheLogger {
  warn(object: object, message: string): void;
}

export interface CacheOptions {
  store: CacheStore;
  /** Names the cache in metrics and logs (the service). */
  name: string;
  log?: CacheLogger;
}

interface Flight {
  readonly key: string;
  readonly tags: readonly string[];
  promise: Promise<CacheEntry | undefined>;
  /** Set when the key or a tag is invalidated while the lookup runs: its result must not be stored. */
  stale: boolean;
}

/** How often a failing store is logged at most (every failure is counted in the metrics). */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Cache-aside over a `CacheStore`, with request coalescing: concurrent lookups of one key share one
 * store read and, on a miss, one loader call. A store failure never reaches the caller: a read that
 * fails is a miss, a write or invalidation that fails is logged and counted (the store itself makes
 * sure nothing stale outlives it, see the Redis adapter).
 *
 * Written by hand: the caching libraries at hand (lru-cache's `fetch`, cache-manager) coalesce only
 * within a process and know neither tags nor the invalidate-while-loading race.
 */
export class Cache {
  readonly name: string;
  readonly metrics: CacheMetrics;
  readonly #store: CacheStore;
  readonly #log: CacheLogger | undefined;
  readonly #inflight = new Map<string, Flight>();
  #lastErrorLog = 0;
  #suppressedErrors = 0;

  constructor(options: CacheOptions) {
    this.name = options.name;
    this.#store = options.store;
    this.#log = options.log;
    this.metrics = new CacheMetrics(options.name);
  }

  /** `memory`, `redis` or `disabled`. */
  get kind(): string {
    return this.#store.kind;
  }

  /**
   * The value under `key`, or `loader()`'s, stored with `options.ttl` and `options.tags`. `undefined`
   * from the loader (not found) is returned and not stored. A loader error reaches every caller that
   * waited for it and is not stored either.
   */
  getOrLoad(key: string, loader: Loader, options: CacheSetOptions): Promise<CacheEntry | undefined> {
    if (this.#store.passThrough) return this.#loadAlone(loader);
    const flight = this.#inflight.get(key);
    if (flight !== undefined) {
      this.metrics.coalesced++;
      return flight.promise;
    }
    const entry = this.#store.peek?.(key);
    if (entry !== undefined) {
      this.metrics.hits++;
      return Promise.resolve(entry);
    }
    return this.#fly(key, loader, options);
  }

  /** The entry under `key`, or undefined (also when the store is unavailable). */
  async get(key: string): Promise<CacheEntry | undefined> {
    const found = await this.#read(key, []);
    if ('token' in found) {
      this.metrics.misses++;
      return undefined;
    }
    this.metrics.hits++;
    return found;
  }

  /** Whether an entry is under `key`; undefined when the store cannot tell now (unavailable, disabled). */
  async has(key: string): Promise<boolean | undefined> {
    const found = await this.#read(key, []);
    if (!('token' in found)) return true;
    return found.token === undefined ? undefined : false;
  }

  /**
   * Stores `value` unconditionally. Prefer `getOrLoad` for reads and `invalidate` after writes: a
   * write path that sets the value it wrote can race another writer and leave the older value.
   */
  async set(key: string, value: string, options: CacheSetOptions & { etag?: string }): Promise<void> {
    this.#markStale([key]);
    await this.#write(key, value, options.etag ?? strongEtag(value), options, undefined);
  }

  /** Deletes the entry under `key` (and whatever is tagged with it); see `invalidate`. */
  delete(key: string): Promise<boolean> {
    return this.invalidate([key]);
  }

  /**
   * Drops every entry stored under, or tagged with, one of `names`, in every process that shares
   * the store. Call it after the database write has committed. Never rejects; resolves to false
   * when the store could not confirm it (the store then discards what it holds before serving again).
   */
  async invalidate(names: readonly string[]): Promise<boolean> {
    if (names.length === 0) return true;
    this.metrics.invalidations++;
    // Lookups in flight may hold the old value: they must neither store it nor be joined by callers
    // that arrive after this write. Swept again once the store has answered, for lookups that
    // started meanwhile and may have read the entry before it was dropped.
    this.#markStale(names);
    let confirmed = true;
    try {
      await this.#store.invalidate(names);
    } catch (error) {
      this.#failed('invalidate', error);
      confirmed = false;
    }
    this.#markStale(names);
    return confirmed;
  }

  /** Resolves when the store serves; rejects with the reason otherwise (the `cache` health check). */
  ping(): Promise<void> {
    return this.#store.ping();
  }

  /**
   * Waits up to `timeoutMs` for a remote store to connect (at start, so the first requests can use
   * it); false when it did not, which is not an error: the cache joins once it answers.
   */
  async connect(timeoutMs = 2000): Promise<boolean> {
    return this.#store.connect ? this.#store.connect(timeoutMs) : true;
  }

  close(): Promise<void> {
    return this.#store.close();
  }

  #fly(key: string, loader: Loader, options: CacheSetOptions): Promise<CacheEntry | undefined> {
    const flight: Flight = { key, tags: options.tags ?? [], promise: undefined as never, stale: false };
    this.#inflight.set(key, flight);
    flight.promise = this.#lookup(flight, loader, options).finally(() => {
      if (this.#inflight.get(key) === flight) this.#inflight.delete(key);
    });
    return flight.promise;
  }

  async #lookup(flight: Flight, loader: Loader, options: CacheSetOptions): Promise<CacheEntry | undefined> {
    const found = await this.#read(flight.key, flight.tags);
    if (!('token' in found)) {
      this.metrics.hits++;
      return found;
    }
    this.metrics.misses++;
    if (found.token === undefined) this.metrics.bypassed++;
    const loaded = await loader();
    if (loaded === undefined) return undefined;
    const entry = entryOf(loaded);
    if (found.token !== undefined && !flight.stale) {
      await this.#write(flight.key, entry.value, entry.etag, options, found.token);
    }
    return entry;
  }

  async #loadAlone(loader: Loader): Promise<CacheEntry | undefined> {
    this.metrics.misses++;
    this.metrics.bypassed++;
    const loaded = await loader();
    return loaded === undefined ? undefined : entryOf(loaded);
  }

  async #read(key: string, tags: readonly string[]): Promise<CacheEntry | CacheMiss> {
    try {
      return await this.#store.read(key, tags);
    } catch (error) {
      this.#failed('read', error);
      return { hit: false, token: undefined };
    }
  }

  async #write(
    key: string,
    value: string,
    etag: string,
    options: CacheSetOptions,
    token: unknown,
  ): Promise<void> {
    try {
      await this.#store.write(key, value, etag, options, token);
    } catch (error) {
      this.#failed('write', error);
    }
  }

  #markStale(names: readonly string[]): void {
    if (this.#inflight.size === 0) return;
    for (const flight of this.#inflight.values()) {
      if (names.includes(flight.key) || flight.tags.some((tag) => names.includes(tag))) {
        flight.stale = true;
        this.#inflight.delete(flight.key);
      }
    }
  }

  #failed(operation: string, error: unknown): void {
    this.metrics.errors++;
    const now = Date.now();
    if (now - this.#lastErrorLog < ERROR_LOG_INTERVAL_MS) {
      this.#suppressedErrors++;
      return;
    }
    this.#log?.warn(
      { err: error, operation, store: this.#store.kind, suppressed: this.#suppressedErrors },
      'cache store failed: going on without it',
    );
    this.#lastErrorLog = now;
    this.#suppressedErrors = 0;
  }
}

function entryOf(loaded: Loaded): CacheEntry {
  return typeof loaded === 'string'
    ? { value: loaded, etag: strongEtag(loaded), hit: false }
    : { value: loaded.value, etag: loaded.etag ?? strongEtag(loaded.value), hit: false };
}

/** A strong ETag from the bytes of a value (computed once, when the value is loaded). */
export function strongEtag(value: string): string {
  return `"${hash('sha1', value, 'base64url')}"`;
}
