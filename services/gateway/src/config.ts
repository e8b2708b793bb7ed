import {
  type CommonConfig,
  ConfigError,
  readCommonConfig,
  readInt,
  readString,
  readUrlList,
} from '@armature/platform';

export interface GatewayConfig extends CommonConfig {
  host: string;
  port: number;
  /** Instances of each upstream service (several → load is spread across them). */
  upstreams: { users: string[]; orders: string[] };
  rateLimit: { maxRequests: number; windowMs: number };
}

export function readGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const users = readUrlList(env, 'USERS_SERVICE_URLS');
  const orders = readUrlList(env, 'ORDERS_SERVICE_URLS');
  if (!users?.length) throw new ConfigError('USERS_SERVICE_URLS', 'must list at least one users service URL');
  if (!orders?.length)
    throw new ConfigError('ORDERS_SERVICE_URLS', 'must list at least one orders service URL');
  return {
    ...readCommonConfig(env),
    host: readString(env, 'HOST', '0.0.0.0'),
    port: readInt(env, 'PORT', 8080, { min: 0, max: 65535 }),
    upstreams: { users, orders },
    rateLimit: {
      maxRequests: readInt(env, 'RATE_LIMIT_MAX_REQUESTS', 100, { min: 1, max: 10_000_000 }),
      windowMs: readInt(env, 'RATE_LIMIT_WINDOW_MS', 60_000, { min: 100, max: 86_400_000 }),
    },
  };
}
