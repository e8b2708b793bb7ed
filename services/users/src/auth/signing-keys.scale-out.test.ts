import { needsPostgres } from '@armature/testing/databases';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startOnStore, startTestUsers, type TestUsers } from '../testing.ts';

// Several processes on one database need PostgreSQL (an embedded database belongs to one process).
describe('several instances on one database (PostgreSQL)', needsPostgres, () => {
  let one: TestUsers;
  let two: TestUsers;
  beforeAll(async () => {
    one = await startTestUsers('users-instances');
    // The second re-reads the key table only on an unknown kid: proves that path.
    two = await startOnStore(one.store, { JWT_KEY_REFRESH_SECONDS: '3600' });
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('sign with one shared key: a token from one instance is accepted by the other', async () => {
    const member = await one.member('shared');
    expect((await two.call('GET', '/v1/users/me', { token: member.accessToken })).status).toBe(200);
    const jwksOne = await one.call('GET', '/.well-known/jwks.json');
    const jwksTwo = await two.call('GET', '/.well-known/jwks.json');
    expect(jwksTwo.body).toEqual(jwksOne.body);
  });

  it('after a rotation on one instance, the other accepts tokens of the new key at once', async () => {
    const before = await one.member('rotated');
    // Past the unknown-kid cooldown (1 s) of an earlier lookup: move the clock, don't wait it out.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 1100);
      const { kid } = await one.service.context.keys.rotate();
      const after = await one.login(before.email, before.password);
      expect(decodeProtectedHeader(after.accessToken).kid).toBe(kid);
      expect((await two.call('GET', '/v1/users/me', { token: after.accessToken })).status).toBe(200);
      expect((await two.call('GET', '/v1/users/me', { token: before.accessToken })).status).toBe(200);
    } finally {
      vi.useRealTimers();
    }
  });

  it('revoke a refresh-token family everywhere: reuse on one instance is refused on the other', async () => {
    const member = await one.member('family');
    const rotated = await two.call('POST', '/v1/auth/refresh', {
      body: { refreshToken: member.refreshToken },
    });
    expect(rotated.status).toBe(200);
    const replay = await one.call('POST', '/v1/auth/refresh', {
      body: { refreshToken: member.refreshToken },
    });
    expect(replay.status).toBe(401);
    const successor = await two.call('POST', '/v1/auth/refresh', {
      body: { refreshToken: rotated.body.refreshToken },
    });
    expect(successor.status).toBe(401);
  });
});
