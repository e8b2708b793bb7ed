import { ConfigError } from '@armature/platform';
import { describe, expect, it } from 'vitest';
import { readUsersConfig } from './config.ts';

const variableOf = (env: Record<string, string>) => {
  try {
    readUsersConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.variable;
    throw error;
  }
  return 'no error';
};

describe('users configuration', () => {
  it('defaults to 15-minute access tokens, 30-day refresh tokens and no bootstrap admin', () => {
    const config = readUsersConfig({});
    expect(config).toMatchObject({
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 30 * 86_400,
      signingKeyRefreshSeconds: 60,
      keyEncryptionSecret: undefined,
      admin: undefined,
    });
  });

  it('reads every variable', () => {
    const config = readUsersConfig({
      ACCESS_TOKEN_TTL_SECONDS: '600',
      REFRESH_TOKEN_TTL_SECONDS: '86400',
      JWT_KEY_REFRESH_SECONDS: '30',
      JWT_KEY_ENCRYPTION_SECRET: 'sixteen-chars-ok',
      ADMIN_EMAIL: 'boss@example.com',
      ADMIN_PASSWORD: ' spaces count ',
    });
    expect(config).toMatchObject({
      accessTokenTtlSeconds: 600,
      refreshTokenTtlSeconds: 86_400,
      signingKeyRefreshSeconds: 30,
      keyEncryptionSecret: 'sixteen-chars-ok',
      admin: { email: 'boss@example.com', password: ' spaces count ' },
    });
  });

  it.each([
    [{ ACCESS_TOKEN_TTL_SECONDS: 'fifteen' }, 'ACCESS_TOKEN_TTL_SECONDS'],
    [{ ACCESS_TOKEN_TTL_SECONDS: '10' }, 'ACCESS_TOKEN_TTL_SECONDS'],
    [{ REFRESH_TOKEN_TTL_SECONDS: '-1' }, 'REFRESH_TOKEN_TTL_SECONDS'],
    [{ ACCESS_TOKEN_TTL_SECONDS: '3600', REFRESH_TOKEN_TTL_SECONDS: '3600' }, 'REFRESH_TOKEN_TTL_SECONDS'],
    [{ JWT_KEY_REFRESH_SECONDS: '0' }, 'JWT_KEY_REFRESH_SECONDS'],
    [{ JWT_KEY_ENCRYPTION_SECRET: 'short' }, 'JWT_KEY_ENCRYPTION_SECRET'],
    [{ ADMIN_EMAIL: 'boss@example.com' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_PASSWORD: 'long enough password' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'not-an-email', ADMIN_PASSWORD: 'long enough password' }, 'ADMIN_EMAIL'],
    [{ ADMIN_EMAIL: 'boss@example.com', ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ USERS_DATABASE_URL: 'mysql://localhost/users' }, 'USERS_DATABASE_URL'],
  ])('stops on %o naming %s', (env, variable) => {
    expect(variableOf(env)).toBe(variable);
  });
});
