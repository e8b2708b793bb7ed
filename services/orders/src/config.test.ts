import { ConfigError } from '@armature/platform';
import { describe, expect, it } from 'vitest';
import { readOrdersConfig } from './config.ts';

describe('orders configuration', () => {
  it('defaults to USD prices and the users service on its default port', () => {
    const config = readOrdersConfig({});
    expect(config.currency).toBe('USD');
    expect(config.usersServiceUrls).toEqual(['http://127.0.0.1:8081']);
    expect(config.idempotencyKeyTtlSeconds).toBe(24 * 3600);
  });

  it('reads the users service instances and the currency', () => {
    const config = readOrdersConfig({
      USERS_SERVICE_URLS: 'http://users-1:8081/, http://users-2:8081',
      ORDERS_CURRENCY: 'eur',
    });
    expect(config.usersServiceUrls).toEqual(['http://users-1:8081', 'http://users-2:8081']);
    expect(config.currency).toBe('EUR');
  });

  it('reads a read replica and its settings; without one, every read is on the primary', () => {
    expect(readOrdersConfig({}).readReplica).toEqual({
      url: undefined,
      poolSize: 10,
      timeoutMs: 2000,
      retryMs: 5000,
      readYourWritesSeconds: 5,
    });
    const config = readOrdersConfig({
      ORDERS_READ_DATABASE_URL: 'postgres://reader@replica:5432/orders',
      READ_REPLICA_TIMEOUT_MS: '500',
      READ_REPLICA_RETRY_MS: '1000',
      READ_YOUR_WRITES_SECONDS: '10',
    });
    expect(config.readReplica).toMatchObject({
      url: 'postgres://reader@replica:5432/orders',
      timeoutMs: 500,
      retryMs: 1000,
      readYourWritesSeconds: 10,
    });
  });

  it('stops the start naming the variable when a value is invalid', () => {
    expect(() => readOrdersConfig({ ORDERS_CURRENCY: 'XYZW' })).toThrow(ConfigError);
    expect(() => readOrdersConfig({ ORDERS_CURRENCY: 'XYZW' })).toThrow(/ORDERS_CURRENCY/);
    expect(() => readOrdersConfig({ USERS_SERVICE_URLS: 'ftp://users' })).toThrow(/USERS_SERVICE_URLS/);
    expect(() => readOrdersConfig({ ORDERS_DATABASE_POOL_SIZE: '0' })).toThrow(/ORDERS_DATABASE_POOL_SIZE/);
    expect(() => readOrdersConfig({ ORDERS_READ_DATABASE_URL: 'mysql://replica/orders' })).toThrow(
      /ORDERS_READ_DATABASE_URL/,
    );
    expect(() => readOrdersConfig({ READ_YOUR_WRITES_SECONDS: '-1' })).toThrow(/READ_YOUR_WRITES_SECONDS/);
    expect(() => readOrdersConfig({ READ_REPLICA_RETRY_MS: 'soon' })).toThrow(/READ_REPLICA_RETRY_MS/);
  });
});
