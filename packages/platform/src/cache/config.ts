import { readBool, readInt, readString, readUrl } from '../config.ts';

type Env = Record<string, string | undefined>;

export interface CacheConfig {
  /** `CACHE_ENABLED=false` sends every read to the database (diagnosis, baselines). */
  enabled: boolean;
  /**
   * Redis shared by every instance (`CACHE_REDIS_URL`, else `REDIS_URL`); unset → an in-process
   * cache (one instance only).
   */
  redisUrl?: string;
  /** Namespace of the service's keys in Redis; instances of one service share it. */
  keyPrefix: string;
  /** After a Redis outage, how long an entry written meanwhile may outlive a change it missed. */
  staleBoundMs: number;
  /** How long a Redis command may take before the request goes on without the cache. */
  redisTimeoutMs: number;
  /** Entries the in-process cache keeps at most. */
  maxEntries: number;
}

export function readCacheConfig(service: string, env: Env = process.env): CacheConfig {
  return {
    enabled: readBool(env, 'CACHE_ENABLED', true),
    redisUrl:
      readUrl(env, 'CACHE_REDIS_URL', ['redis:', 'rediss:']) ??
      readUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    keyPrefix: readString(env, 'CACHE_KEY_PREFIX', `armature:${service}:cache:`),
    staleBoundMs: readInt(env, 'CACHE_STALE_BOUND_MS', 5000, { min: 100, max: 3_600_000 }),
    redisTimeoutMs: readInt(env, 'CACHE_REDIS_TIMEOUT_MS', 250, { min: 10, max: 10_000 }),
    maxEntries: readInt(env, 'CACHE_MAX_ENTRIES', 10_000, { min: 1, max: 10_000_000 }),
  };
}
