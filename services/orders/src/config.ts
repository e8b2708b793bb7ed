import {
  type CommonConfig,
  ConfigError,
  type EventsConfig,
  readBool,
  readCommonConfig,
  readEventsConfig,
  readInt,
  readString,
  readUrl,
  readUrlList,
} from '@armature/platform';
import { type CacheConfig, readCacheConfig } from '@armature/platform/cache/index';

export interface OrdersConfig extends CommonConfig {
  host: string;
  port: number;
  databaseUrl?: string;
  /** PostgreSQL connections per instance (scale-out mode). */
  databasePoolSize: number;
  /** The users service instances; the first one's JWKS verifies access tokens. */
  usersServiceUrls: string[];
  /** ISO 4217 currency every price is kept in. */
  currency: string;
  /** How long an `Idempotency-Key` is remembered. */
  idempotencyKeyTtlHours: number;
  /** Where product reads and per-user order lists are cached: Redis with `REDIS_URL`, else in-process. */
  cache: CacheConfig;
  /** Domain events: transport, retries, outbox relay. */
  events: EventsConfig;
  /** The call to the users service confirming a customer before checkout. */
  customerCheck: {
    timeoutMs: number;
    failureThreshold: number;
    halfOpenAfterMs: number;
    /** `CHECKOUT_REQUIRES_VERIFIED_EMAIL`: refuse (403 `EMAIL_NOT_VERIFIED`) a customer with an unverified email. */
    requireVerifiedEmail: boolean;
  };
}

type Env = Record<string, string | undefined>;

export function readOrdersConfig(env: Env = process.env): OrdersConfig {
  return {
    ...readCommonConfig(env),
    host: readString(env, 'ORDERS_HOST', '127.0.0.1'),
    port: readInt(env, 'ORDERS_PORT', 8082, { min: 0, max: 65535 }),
    databaseUrl: readUrl(env, 'ORDERS_DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: readInt(env, 'ORDERS_DATABASE_POOL_SIZE', 10, { min: 1, max: 500 }),
    usersServiceUrls: readUrlList(env, 'USERS_SERVICE_URLS') ?? ['http://127.0.0.1:8081'],
    currency: readCurrency(env, 'ORDERS_CURRENCY', 'USD'),
    idempotencyKeyTtlHours: readInt(env, 'IDEMPOTENCY_KEY_TTL_HOURS', 24, { min: 1, max: 24 * 30 }),
    cache: readCacheConfig('orders', env),
    events: readEventsConfig(env),
    customerCheck: {
      timeoutMs: readInt(env, 'CUSTOMER_CHECK_TIMEOUT_MS', 1000, { min: 10, max: 60_000 }),
      failureThreshold: readInt(env, 'CUSTOMER_CHECK_BREAKER_FAILURES', 5, { min: 1, max: 1000 }),
      halfOpenAfterMs: readInt(env, 'CUSTOMER_CHECK_BREAKER_HALF_OPEN_MS', 5000, { min: 100, max: 600_000 }),
      requireVerifiedEmail: readBool(env, 'CHECKOUT_REQUIRES_VERIFIED_EMAIL', false),
    },
  };
}

function readCurrency(env: Env, name: string, fallback: string): string {
  const value = readString(env, name, fallback).toUpperCase();
  if (!Intl.supportedValuesOf('currency').includes(value)) {
    throw new ConfigError(name, `must be an ISO 4217 currency code, got "${value}"`);
  }
  return value;
}
