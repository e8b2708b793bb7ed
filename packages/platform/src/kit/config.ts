import { envPrefix, serviceCatalog } from '@armature/contracts/services';
import { type CacheConfig, readCacheConfig } from '../cache/config.ts';
import { type CommonConfig, readCommonConfig, readInt, readString, readUrl, readUrlList } from '../config.ts';
import type { ReadReplicaSettings } from '../db/read-replica.ts';
import { type EventsConfig, readEventsConfig } from '../events/config.ts';

type Env = Record<string, string | undefined>;

/** What every service built with `startService` is configured with; a service extends it with its own. */
export interface ServiceConfig extends CommonConfig {
  /** `<SERVICE>_HOST`, `<SERVICE>_PORT`. */
  host: string;
  port: number;
  /** `<SERVICE>_DATABASE_URL`: PostgreSQL; unset → PGlite under `DATA_DIR/<service>`. */
  databaseUrl?: string;
  /** `<SERVICE>_DATABASE_POOL_SIZE`: PostgreSQL connections per instance. */
  databasePoolSize: number;
  /**
   * `<SERVICE>_READ_DATABASE_URL` and its settings: a streaming replica for the read-only queries
   * the service routes there (ignored with an embedded database).
   */
  readReplica: ReadReplicaSettings;
  /** Where the service caches: Redis with `REDIS_URL`, else in-process (`CACHE_*`). */
  cache: CacheConfig;
  /** Domain events: transport, retries, outbox relay. */
  events: EventsConfig;
  /** `IDEMPOTENCY_KEY_TTL_HOURS`: how long a stored reply to an `Idempotency-Key` is kept. */
  idempotencyKeyTtlSeconds: number;
  /** The instances of each other service (`<SERVICE>_SERVICE_URLS`), default its port on loopback. */
  serviceUrls: Record<string, string[]>;
}

/** A service's own variables: `ORDERS_HOST`, `ORDERS_PORT`, `ORDERS_DATABASE_URL`, …, `ORDERS_SERVICE_URLS`. */
export function serviceVariables(service: string) {
  const prefix = envPrefix(service);
  return {
    host: `${prefix}_HOST`,
    port: `${prefix}_PORT`,
    databaseUrl: `${prefix}_DATABASE_URL`,
    databasePoolSize: `${prefix}_DATABASE_POOL_SIZE`,
    readDatabaseUrl: `${prefix}_READ_DATABASE_URL`,
    /** Where the others reach its instances (read by the gateway and by every other service). */
    serviceUrls: `${prefix}_SERVICE_URLS`,
  };
}

/**
 * Reads the settings every service shares, under the service's own prefix (`ORDERS_PORT`,
 * `ORDERS_DATABASE_URL`, …). A present but invalid value throws a ConfigError naming the variable.
 */
export function readServiceConfig(service: string, env: Env = process.env): ServiceConfig {
  const variables = serviceVariables(service);
  const defaultPort = serviceCatalog.find((entry) => entry.name === service)?.port ?? 8080;
  const databasePoolSize = readInt(env, variables.databasePoolSize, 10, { min: 1, max: 500 });
  return {
    ...readCommonConfig(env),
    host: readString(env, variables.host, '127.0.0.1'),
    port: readInt(env, variables.port, defaultPort, { min: 0, max: 65535 }),
    databaseUrl: readUrl(env, variables.databaseUrl, ['postgres:', 'postgresql:']),
    databasePoolSize,
    readReplica: {
      url: readUrl(env, variables.readDatabaseUrl, ['postgres:', 'postgresql:']),
      poolSize: databasePoolSize,
      timeoutMs: readInt(env, 'READ_REPLICA_TIMEOUT_MS', 2000, { min: 10, max: 60_000 }),
      retryMs: readInt(env, 'READ_REPLICA_RETRY_MS', 5000, { min: 10, max: 600_000 }),
      readYourWritesSeconds: readInt(env, 'READ_YOUR_WRITES_SECONDS', 5, { min: 0, max: 3600 }),
    },
    cache: readCacheConfig(service, env),
    events: readEventsConfig(env),
    idempotencyKeyTtlSeconds: readInt(env, 'IDEMPOTENCY_KEY_TTL_HOURS', 24, { min: 1, max: 24 * 30 }) * 3600,
    serviceUrls: Object.fromEntries(
      serviceCatalog.map((entry) => [
        entry.name,
        readUrlList(env, serviceVariables(entry.name).serviceUrls) ?? [`http://127.0.0.1:${entry.port}`],
      ]),
    ),
  };
}
