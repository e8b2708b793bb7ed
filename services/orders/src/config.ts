import { type CommonConfig, readCommonConfig, readInt, readString, readUrl } from '@armature/platform';

export interface OrdersConfig extends CommonConfig {
  host: string;
  port: number;
  databaseUrl?: string;
}

export function readOrdersConfig(env: Record<string, string | undefined> = process.env): OrdersConfig {
  return {
    ...readCommonConfig(env),
    host: readString(env, 'ORDERS_HOST', '127.0.0.1'),
    port: readInt(env, 'ORDERS_PORT', 8082, { min: 0, max: 65535 }),
    databaseUrl: readUrl(env, 'ORDERS_DATABASE_URL', ['postgres:', 'postgresql:']),
  };
}
