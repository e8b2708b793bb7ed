import { envPrefix, serviceCatalog } from '@armature/contracts/services';
import { type CacheConfig, readCacheConfig } from '../cache/config.ts';
import { type CommonConfig, readCommonConfig, readInt, readString, readUrl, readUrlList } from '../config.ts';
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
  return {
    ...readCommonConfig(env),
    host: readString(env, variables.host, '127.0.0.1'),
    port: readInt(env, variables.port, defaultPort, { min: 0, max: 65535 }),
    databaseUrl: readUrl(env, variables.databaseUrl, ['postgres:', 'postgresql:']),
    databasePoolSize: readInt(env, variables.databasePoolSize, 10, { min: 1, max: 500 }),
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
