import { freshStore, type TestStore } from '@armature/testing/databases';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersService } from '../app.ts';
import { readUsersConfig } from '../config.ts';
import { startOnStore } from '../testing.ts';
import { KeyDecryptionError, openPrivateKey, sealPrivateKey } from './key-encryption.ts';

describe('private keys sealed at rest', () => {
  const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n';

  it('round-trips with the secret, and is stored as PEM without one', async () => {
    const sealed = await sealPrivateKey(pem, 'kid-1', 'a secret of some length');
    expect(sealed).toMatch(/^v1\.aes-256-gcm\.scrypt\./);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(await openPrivateKey(sealed, 'kid-1', 'a secret of some length')).toBe(pem);
    expect(await sealPrivateKey(pem, 'kid-1', undefined)).toBe(pem);
    expect(await openPrivateKey(pem, 'kid-1', 'any secret at all')).toBe(pem);
  });

  it('does not open with another secret, under another kid, or with no secret', async () => {
    const sealed = await sealPrivateKey(pem, 'kid-1', 'a secret of some length');
    await expect(openPrivateKey(sealed, 'kid-1', 'the wrong secret!!')).rejects.toThrow(KeyDecryptionError);
    await expect(openPrivateKey(sealed, 'kid-2', 'a secret of some length')).rejects.toThrow(/does not open/);
    await expect(openPrivateKey(sealed, 'kid-1', undefined)).rejects.toThrow(/is not set/);
  });
});

/** Each test here starts the service more than once; on a busy machine a PGlite start takes seconds. */
const restartTimeout = 120_000;

describe('signing keys live in the users database', () => {
  let store: TestStore;
  const secret = { JWT_KEY_ENCRYPTION_SECRET: 'correct-secret-for-tests' };
  beforeAll(async () => {
    store = await freshStore('users-keys');
  });
  afterAll(() => store?.drop());

  const configFor = (env: Record<string, string>) =>
    readUsersConfig({
      USERS_PORT: '0',
      DATA_DIR: store.dataDir,
      LOG_LEVEL: 'silent',
      ...(store.url ? { USERS_DATABASE_URL: store.url } : {}),
      ...env,
    });

  it(
    'survive a restart: the same key signs and the tokens issued before stay valid',
    async () => {
      const first = await startOnStore(store, secret);
      const member = await first.member('restart');
      const stored = await first.service.context.db
        .selectFrom('signing_keys')
        .select('private_key')
        .execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.private_key).toMatch(/^v1\.aes-256-gcm\.scrypt\./);
      await first.close();

      const second = await startOnStore(store, secret);
      try {
        expect((await second.call('GET', '/v1/users/me', { token: member.accessToken })).status).toBe(200);
        const again = await second.login(member.email, member.password);
        expect(decodeProtectedHeader(again.accessToken).kid).toBe(
          decodeProtectedHeader(member.accessToken).kid,
        );
      } finally {
        await second.close();
      }
    },
    restartTimeout,
  );

  it(
    'stop the start with a clear message when the secret is missing or wrong',
    async () => {
      await expect(startUsersService(configFor({}))).rejects.toThrow(/JWT_KEY_ENCRYPTION_SECRET is not set/);
      await expect(
        startUsersService(configFor({ JWT_KEY_ENCRYPTION_SECRET: 'a-different-secret' })),
      ).rejects.toThrow(/JWT_KEY_ENCRYPTION_SECRET does not open it/);
    },
    restartTimeout,
  );
});
