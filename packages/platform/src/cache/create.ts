import { Cache } from './cache.ts';
import type { CacheConfig } from './config.ts';
import { DisabledCacheStore } from './disabled.ts';
import { MemoryCacheStore } from './memory.ts';
import { RedisCacheStore } from './redis.ts';

export interface CreateCacheOptions {
  /** The service: names the cache in metrics and logs. */
  name: string;
  log?: { warn(object: object, message: string): void; info(object: object, message: string): void };
}

/** The cache the configuration asks for: Redis when `REDIS_URL` is set, else in-process. */
export function createCache(config: CacheConfig, options: CreateCacheOptions): Cache {
  const store = !config.enabled
    ? new DisabledCacheStore()
    : config.redisUrl
      ? new RedisCacheStore({
          url: config.redisUrl,
          prefix: config.keyPrefix,
          commandTimeoutMs: config.redisTimeoutMs,
          staleBoundMs: config.staleBoundMs,
          log: options.log,
        })
      : new MemoryCacheStore({ maxEntries: config.maxEntries });
  return new Cache({ store, name: options.name, log: options.log });
}
