import { parsePublicId } from '@armature/platform';
import { verify } from '@node-rs/argon2';
import {
  type CryptoKey,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Member, startTestUsers, type TestUsers } from '../testing.ts';

vi.mock('@node-rs/argon2', async (importOriginal) => {
  const original = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...original, verify: vi.fn(original.verify) };
});

let users: TestUsers;

beforeAll(async () => {
  users = await startTestUsers('users-auth');
});
afterAll(() => users?.close());

const me = (token: string) => users.call('GET', '/v1/users/me', { token });
const refresh = (refreshToken: string) => users.call('POST', '/v1/auth/refresh', { body: { refreshToken } });
const logout = (refreshToken: string) => users.call('POST', '/v1/auth/logout', { body: { refreshToken } });

function expectRefused(reply: { status: number; headers: Headers; body: { error: { code: string } } }) {
  expect(reply.status).toBe(401);
  expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
  expect(['UNAUTHORIZED', 'INVALID_TOKEN']).toContain(reply.body.error.code);
}

describe('POST /v1/auth/login', () => {
  it('answers accessToken, refreshToken and expiresIn; the JWT carries the agreed claims', async () => {
    const member = await users.member('login');
    const reply = await users.call('POST', '/v1/auth/login', {
      body: { email: member.email, password: member.password },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(reply.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
    expect(reply.body.expiresIn).toBe(900);
    expect(reply.body.refreshToken).toMatch(/^tok_[A-Za-z0-9_-]{43}$/);

    const header = decodeProtectedHeader(reply.body.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'JWT', kid: expect.any(String) });
    const claims = decodeJwt(reply.body.accessToken);
    expect(claims).toMatchObject({
      sub: member.id,
      email: member.email,
      roles: ['member'],
      iss: 'armature',
      aud: 'armature-api',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(10);
  });

  it('accepts the email in any case', async () => {
    const member = await users.member('case');
    await users.login(member.email.toUpperCase(), member.password);
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const member = await users.member('wrong');
    const wrong = await users.call('POST', '/v1/auth/login', {
      body: { email: member.email, password: 'not the password' },
    });
    const unknown = await users.call('POST', '/v1/auth/login', {
      body: { email: 'nobody-here@example.com', password: 'not the password' },
    });
    for (const reply of [wrong, unknown]) {
      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(wrong.body.error).toEqual(unknown.body.error);
    expect(wrong.body.error.code).toBe('INVALID_CREDENTIALS');
  });

  it('does the same Argon2id work for an unknown email as for a wrong password', async () => {
    // Timing is not measured (a loaded machine makes that flaky); the work that sets it is: one
    // verification, against a hash of the same parameters, whether or not the email exists.
    const member = await users.member('timing');
    const attempt = async (email: string) => {
      vi.mocked(verify).mockClear();
      const reply = await users.call('POST', '/v1/auth/login', {
        body: { email, password: 'a wrong password' },
      });
      expect(reply.status).toBe(401);
      expect(vi.mocked(verify)).toHaveBeenCalledTimes(1);
      return String(vi.mocked(verify).mock.calls[0]![0]);
    };
    const storedHash = await attempt(member.email);
    const dummyHash = await attempt('ghost@example.com');
    const parameters = (phc: string) => phc.split('$').slice(1, 4).join('$'); // argon2id$v=19$m=…,t=…,p=…
    expect(parameters(storedHash)).toMatch(/^argon2id\$v=19\$m=\d+,t=\d+,p=\d+$/);
    expect(parameters(dummyHash)).toBe(parameters(storedHash));
    expect(dummyHash).not.toBe(storedHash);
  });

  it('answers 400 to a missing password or an extra field', async () => {
    const reply = await users.call('POST', '/v1/auth/login', {
      body: { email: 'a@example.com', remember: true },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual([
      'password',
      'remember',
    ]);
  });
});

describe('POST /v1/auth/refresh rotates refresh tokens', () => {
  it('returns a new access token and a new refresh token; the old one is spent', async () => {
    const member = await users.member('rotate');
    const first = await refresh(member.refreshToken);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body.refreshToken).not.toBe(member.refreshToken);
    expect((await me(first.body.accessToken)).status).toBe(200);
    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
  });

  it('treats reuse of a rotated token as theft: 401, and every token of that login is revoked', async () => {
    const member = await users.member('reuse');
    const otherLogin = await users.login(member.email, member.password);
    const rotated = await refresh(member.refreshToken);
    expect(rotated.status).toBe(200);

    const replay = await refresh(member.refreshToken);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('INVALID_REFRESH_TOKEN');
    expect(replay.headers.get('www-authenticate')).toBe('Bearer');

    // The legitimate successor is revoked too...
    expect((await refresh(rotated.body.refreshToken)).status).toBe(401);
    // ...but a separate login of the same user is another family and keeps working.
    expect((await refresh(otherLogin.refreshToken)).status).toBe(200);
  });

  it('lets exactly one of two concurrent refreshes with the same token through', async () => {
    const member = await users.member('race');
    const replies = await Promise.all([refresh(member.refreshToken), refresh(member.refreshToken)]);
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 401]);
  });

  it('refuses an unknown token with 401 and a malformed one with 400', async () => {
    const unknown = await refresh(`tok_${'A'.repeat(43)}`);
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('INVALID_REFRESH_TOKEN');
    const malformed = await refresh('eyJhbGciOi.not-a-refresh-token');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses a token that has expired', async () => {
    const member = await users.member('expired');
    const userId = parsePublicId('user', member.id);
    await sql`update sessions set expires_at = now() - interval '1 second' where user_id = ${userId}`.execute(
      users.service.context.db,
    );
    expect((await refresh(member.refreshToken)).status).toBe(401);
  });
});

describe('POST /v1/auth/logout revokes', () => {
  it('answers 204; the token and its successors no longer refresh; logging out again is fine', async () => {
    const member = await users.member('logout');
    const rotated = await refresh(member.refreshToken);
    const reply = await logout(rotated.body.refreshToken);
    expect(reply.status).toBe(204);
    expect((await refresh(rotated.body.refreshToken)).status).toBe(401);
    expect((await logout(rotated.body.refreshToken)).status).toBe(204);
  });

  it('answers 401 to an unknown token and 400 to a malformed one', async () => {
    expect((await logout(`tok_${'B'.repeat(43)}`)).status).toBe(401);
    expect((await users.call('POST', '/v1/auth/logout', { body: {} })).status).toBe(400);
  });
});

describe('every route verifies the access token itself', () => {
  let member: Member;
  beforeAll(async () => {
    member = await users.member('verify');
  });

  const claims = () => ({ email: member.email, roles: ['member'] });
  const signWith = (key: CryptoKey, kid: string, change: (jwt: SignJWT) => SignJWT = (jwt) => jwt) =>
    change(
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(member.id)
        .setIssuer('armature')
        .setAudience('armature-api')
        .setIssuedAt()
        .setExpirationTime('10m'),
    ).sign(key);

  it('accepts the real token', async () => {
    expect((await me(member.accessToken)).status).toBe(200);
  });

  it('refuses a missing token and a header that is not Bearer', async () => {
    const none = await users.call('GET', '/v1/users/me');
    expectRefused(none);
    expect(none.body.error.code).toBe('UNAUTHORIZED');
    expectRefused(await users.call('GET', '/v1/users/me', { headers: { authorization: 'Basic dTpw' } }));
  });

  it('refuses `alg: none`', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const { kid } = decodeProtectedHeader(member.accessToken);
    const payload = decodeJwt(member.accessToken);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT', kid })}.${encode({ ...payload, roles: ['admin'] })}.`;
    const reply = await me(unsigned);
    expectRefused(reply);
    expect(reply.body.error.code).toBe('INVALID_TOKEN');
  });

  it('refuses a token signed by another key, under an unknown kid or under ours', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const { kid } = decodeProtectedHeader(member.accessToken);
    expectRefused(await me(await signWith(privateKey, 'someone-elses-key')));
    expectRefused(await me(await signWith(privateKey, kid!)));
  });

  it('refuses an HMAC token keyed with our public key', async () => {
    const { kid } = decodeProtectedHeader(member.accessToken);
    const jwks = await users.call('GET', '/.well-known/jwks.json');
    const secret = new TextEncoder().encode(JSON.stringify(jwks.body.keys[0]));
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid })
      .setSubject(member.id)
      .setIssuer('armature')
      .setAudience('armature-api')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(secret);
    expectRefused(await me(forged));
  });

  it('refuses an expired token, a token for another issuer or audience, and garbage', async () => {
    const { kid, key } = await users.service.context.keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWith(key, kid, (jwt) =>
      jwt.setIssuedAt(now - 1000).setExpirationTime(now - 100),
    );
    const expiredReply = await me(expired);
    expectRefused(expiredReply);
    expect(expiredReply.body.error.message).toMatch(/expired/);
    expectRefused(await me(await signWith(key, kid, (jwt) => jwt.setIssuer('someone-else'))));
    expectRefused(await me(await signWith(key, kid, (jwt) => jwt.setAudience('another-api'))));
    expectRefused(await me('definitely.not.ajwt'));
    // A valid signature over a token that is fine: proves the helper itself signs acceptable tokens.
    expect((await me(await signWith(key, kid))).status).toBe(200);
  });

  it('refuses the token of a deleted user', async () => {
    const leaving = await users.member('deleted');
    expect((await users.call('DELETE', '/v1/users/me', { token: leaving.accessToken })).status).toBe(204);
    expectRefused(await me(leaving.accessToken));
  });
});

describe('GET /.well-known/jwks.json and key rotation', () => {
  it('publishes Ed25519 public keys that verify the access tokens, and no private part', async () => {
    const member = await users.member('jwks');
    const reply = await users.call('GET', '/.well-known/jwks.json');
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toMatch(/max-age=\d+/);
    for (const key of reply.body.keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    const { payload } = await jwtVerify(member.accessToken, createLocalJWKSet(reply.body), {
      issuer: 'armature',
      audience: 'armature-api',
    });
    expect(payload.sub).toBe(member.id);
  });

  it('keeps tokens of the retired key valid after a rotation, and signs new ones with the new key', async () => {
    const before = await users.member('rotation');
    const oldKid = decodeProtectedHeader(before.accessToken).kid;

    const { kid: newKid, retired } = await users.service.context.keys.rotate();
    expect(retired).toEqual([oldKid]);
    expect(newKid).not.toBe(oldKid);

    const jwks = await users.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toEqual([newKid, oldKid]);
    expect((await me(before.accessToken)).status).toBe(200);

    const after = await users.login(before.email, before.password);
    expect(decodeProtectedHeader(after.accessToken).kid).toBe(newKid);
    expect((await me(after.accessToken)).status).toBe(200);
    const refreshed = await refresh(after.refreshToken);
    expect(decodeProtectedHeader(refreshed.body.accessToken).kid).toBe(newKid);
  });

  it('drops a retired key once its tokens have expired: it is no longer published nor accepted', async () => {
    const member = await users.member('retired');
    const oldKid = decodeProtectedHeader(member.accessToken).kid!;
    await users.service.context.keys.rotate();
    const { db, keys } = users.service.context;
    await sql`update signing_keys set retired_at = now() - interval '1 day' where kid = ${oldKid}`.execute(
      db,
    );
    await keys.reload();
    const jwks = await users.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).not.toContain(oldKid);
    expectRefused(await me(member.accessToken));
  });

  it('answers /v2 auth routes the same as /v1', async () => {
    const member = await users.member('v2');
    const reply = await users.call('POST', '/v2/auth/login', {
      body: { email: member.email, password: member.password },
    });
    expect(reply.status).toBe(200);
    expect((await users.call('GET', '/v2/users/me', { token: reply.body.accessToken })).body.id).toBe(
      member.id,
    );
  });
});
