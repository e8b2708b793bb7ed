import { serviceCatalog } from '@armature/contracts/services';
import { ConfigError } from '@armature/platform';
import { serviceVariables } from '@armature/platform/kit/config';
import { describe, expect, it } from 'vitest';
import { readGatewayConfig } from './config.ts';

/** Every service of the catalog somewhere, as the gateway requires. */
const base = Object.fromEntries(
  serviceCatalog.map((entry) => [serviceVariables(entry.name).serviceUrls, `http://127.0.0.1:${entry.port}`]),
);

function failure(env: Record<string, string>): ConfigError {
  try {
    readGatewayConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(env)}`);
}

describe('gateway configuration', () => {
  it('has working defaults', () => {
    const config = readGatewayConfig(base);
    expect(config.rateLimit).toMatchObject({ maxRequests: 100, windowMs: 60_000, loginMaxRequests: 5 });
    expect(config.upstream.timeoutMs).toBe(10_000);
    expect(config.corsOrigins).toEqual([]);
    expect(config.trustProxy).toBe(false);
    expect(config.versions.v1Sunset.getTime()).toBeGreaterThan(config.versions.v1Deprecation.getTime());
  });

  it('reads lists of instances, origins and trusted proxies', () => {
    const config = readGatewayConfig({
      ...base,
      USERS_SERVICE_URLS: 'http://10.0.0.1:8081, http://10.0.0.2:8081/',
      ORDERS_SERVICE_URLS: 'http://10.0.0.3:8082',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY: '10.0.0.0/8, loopback',
    });
    expect(config.upstreams.users).toEqual(['http://10.0.0.1:8081', 'http://10.0.0.2:8081']);
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.trustProxy).toEqual(['10.0.0.0/8', 'loopback']);
    expect(readGatewayConfig({ ...base, TRUST_PROXY: 'true' }).trustProxy).toBe(true);
  });

  it('stops the start on a bad value, naming the variable', () => {
    const cases: Record<string, string> = {
      RATE_LIMIT_MAX_REQUESTS: '0',
      RATE_LIMIT_WINDOW_MS: 'a minute',
      LOGIN_RATE_LIMIT_MAX_REQUESTS: '-1',
      LOGIN_RATE_LIMIT_WINDOW_MS: '1.5',
      RATE_LIMIT_KEY_PREFIX: 'has spaces',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '0',
      UPSTREAM_TIMEOUT_MS: 'soon',
      UPSTREAM_CONNECT_TIMEOUT_MS: '1',
      UPSTREAM_CONNECTIONS: '0',
      UPSTREAM_HEALTH_INTERVAL_MS: '5',
      BREAKER_FAILURE_THRESHOLD: '0',
      BREAKER_HALF_OPEN_AFTER_MS: 'x',
      AUTH_TOKEN_CACHE_SIZE: '-5',
      JWKS_COOLDOWN_MS: 'never',
      JWKS_MAX_AGE_MS: '10',
      API_V1_SUNSET: 'next year',
      API_V1_DEPRECATION: '2026-13-45',
      CORS_ORIGINS: 'https://app.example.com/path',
      TRUST_PROXY: '10.0.0.0/99',
      REDIS_URL: 'http://127.0.0.1:6379',
      USERS_SERVICE_URLS: 'not a url',
      PORT: '70000',
    };
    for (const [variable, value] of Object.entries(cases)) {
      const error = failure({ [variable]: value });
      expect(error.variable, `${variable}=${value}`).toBe(variable);
      expect(error.message).toContain(variable);
    }
  });

  it('refuses a hop count for TRUST_PROXY: it cannot tell a proxy from a client sending its own header', () => {
    expect(failure({ TRUST_PROXY: '1' }).message).toMatch(/not a hop count/);
  });

  it('refuses a sunset before the deprecation', () => {
    expect(failure({ API_V1_DEPRECATION: '2027-01-01', API_V1_SUNSET: '2026-01-01' }).variable).toBe(
      'API_V1_SUNSET',
    );
  });

  it('refuses "*" mixed with named origins', () => {
    expect(failure({ CORS_ORIGINS: '*,https://app.example.com' }).variable).toBe('CORS_ORIGINS');
  });
});
