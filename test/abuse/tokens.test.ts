import { createHmac } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import type { UsersService } from '@armature/users';
import { decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AbuseSystem, type Answer, type Member, startAbuseSystem } from './support.ts';

/**
 * OWASP API2 (broken authentication): forged, confused, stale and orphaned access tokens, sent to a
 * route of each service (and an admin one) through the gateway. Each is a 401 with
 * `WWW-Authenticate: Bearer`, and nothing changes.
 */

let abuse: AbuseSystem;
let member: Member;
let product: string;

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  abuse = await startAbuseSystem();
  member = await abuse.member('token-holder');
  product = await abuse.product();
});

afterAll(() => abuse?.close());

/** Signs with the users service's own current key: the only way to make a token it would trust. */
async function signWithRealKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const users = abuse.system.services.users as UsersService;
  const { kid, key } = await users.context.keys.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid, ...header }).sign(key);
}

const now = () => Math.floor(Date.now() / 1000);

function claimsOf(who: Member, overrides: Record<string, unknown> = {}) {
  return {
    sub: who.id,
    email: who.email,
    roles: ['member'],
    iss: 'armature',
    aud: 'armature-api',
    iat: now(),
    exp: now() + 600,
    ...overrides,
  };
}

/** A route of the users service, of the orders service, and an admin route, each with a write. */
const targets = () =>
  [
    ['GET', '/v1/users/me', undefined],
    ['PATCH', '/v1/users/me', { name: 'Hijacked' }],
    ['GET', '/v1/users/me/cart', undefined],
    ['PUT', `/v1/users/me/cart/items/${product}`, { quantity: 3 }],
    ['GET', '/v1/orders', undefined],
    ['POST', '/v1/products', { name: 'Forged', price: 1, stock: 1 }],
  ] as const;

function expectUnauthorized(answer: Answer, what: string) {
  const shown = `${what}: ${answer.status} ${JSON.stringify(answer.body)}`;
  expect(answer.status, shown).toBe(401);
  expect(answer.headers.get('www-authenticate'), shown).toMatch(/^Bearer/);
  expect(answer.body.error.code, shown).toMatch(/^(UNAUTHORIZED|INVALID_TOKEN)$/);
}

async function expectRefusedEverywhere(token: string, what: string) {
  for (const [method, path, body] of targets()) {
    expectUnauthorized(await abuse.call(method, path, { token, body }), `${what} → ${method} ${path}`);
  }
}

describe(`forged and stale access tokens (${mode})`, () => {
  it('refuses alg "none", HMAC keyed with the public key, and a tampered payload', async () => {
    const before = await abuse.snapshot([member]);
    const real = decodeProtectedHeader(member.token);
    const admin = claimsOf(member, { roles: ['admin'] });

    await expectRefusedEverywhere(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(admin)}.`, 'alg none');
    await expectRefusedEverywhere(
      `${b64({ alg: 'none', typ: 'JWT', kid: real.kid })}.${b64(admin)}.`,
      'alg none with the real kid',
    );

    const jwks = (await abuse.call('GET', '/.well-known/jwks.json')).body as { keys: { x: string }[] };
    const publicKey = Buffer.from(jwks.keys[0].x, 'base64url');
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: real.kid })}.${b64(admin)}`;
    const hsSignature = createHmac('sha256', publicKey).update(hsInput).digest('base64url');
    await expectRefusedEverywhere(`${hsInput}.${hsSignature}`, 'HS256 keyed with the public key');

    const [header, , signature] = member.token.split('.');
    await expectRefusedEverywhere(
      `${header}.${b64(admin)}.${signature}`,
      'payload swapped under a real signature',
    );
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses tokens signed by a foreign key, under its own kid or the real one', async () => {
    const before = await abuse.snapshot([member]);
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const realKid = decodeProtectedHeader(member.token).kid;
    const foreignKid = (await exportJWK(publicKey)).x;
    for (const kid of [realKid, foreignKid]) {
      const token = await new SignJWT(claimsOf(member, { roles: ['admin'] }))
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
        .sign(privateKey);
      await expectRefusedEverywhere(token, `foreign key, kid ${kid === realKid ? 'real' : 'foreign'}`);
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses a genuinely signed token that has expired, was issued in the future, or is for someone else', async () => {
    const before = await abuse.snapshot([member]);
    await expectRefusedEverywhere(
      await signWithRealKey(claimsOf(member, { iat: now() - 3600, exp: now() - 60 })),
      'expired',
    );
    await expectRefusedEverywhere(
      await signWithRealKey(claimsOf(member, { iat: now() + 3600, exp: now() + 4000 })),
      'issued an hour from now',
    );
    await expectRefusedEverywhere(
      await signWithRealKey(claimsOf(member, { aud: 'another-api' })),
      'foreign audience',
    );
    await expectRefusedEverywhere(
      await signWithRealKey(claimsOf(member, { iss: 'someone-else' })),
      'foreign issuer',
    );
    const { exp: _exp, ...withoutExpiry } = claimsOf(member);
    await expectRefusedEverywhere(await signWithRealKey(withoutExpiry), 'no expiry');
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses malformed Authorization headers', async () => {
    for (const authorization of [
      'Bearer',
      'Bearer ',
      'Bearer not.a.jwt',
      `Basic ${Buffer.from(`${member.email}:${member.password}`).toString('base64')}`,
      `Bearer ${'a'.repeat(8000)}`,
      `Bearer ${member.token}.extra`,
      `Bearer ${member.token.split('.').slice(0, 2).join('.')}`,
    ]) {
      for (const [method, path, body] of targets()) {
        const answer = await abuse.call(method, path, { body, headers: { authorization } });
        expectUnauthorized(answer, `${authorization.slice(0, 30)} → ${method} ${path}`);
      }
    }
  });

  it("refuses a deleted user's token on every service, and it changes nothing", async () => {
    const doomed = await abuse.member('doomed');
    const { call } = abuse;
    expect(
      (
        await call('PUT', `/v1/users/me/cart/items/${product}`, {
          token: doomed.token,
          body: { quantity: 1 },
        })
      ).status,
    ).toBe(200);
    expect((await call('DELETE', '/v1/users/me', { token: doomed.token })).status).toBe(204);
    const before = await abuse.snapshot([member]);
    for (const [method, path, body] of [
      ['GET', '/v1/users/me', undefined],
      ['PATCH', '/v1/users/me', { name: 'Back from the dead' }],
      ['PUT', '/v1/users/me', { email: doomed.email, name: 'Back from the dead' }],
      ['DELETE', '/v1/users/me', undefined],
    ] as const) {
      expectUnauthorized(
        await call(method, path, { token: doomed.token, body }),
        `deleted user → ${method} ${path}`,
      );
    }
    // An admin-only route refuses any member's token at the gateway, from its claims alone (403),
    // before the users service would see that this member is gone.
    const adminOnly = await call('GET', '/v1/users', { token: doomed.token });
    expect(adminOnly.status).toBe(403);
    expect(adminOnly.body.error.code).toBe('FORBIDDEN');
    // The orders service learns of the deletion from the user.deleted event: wait for it (bounded),
    // then every orders route refuses the token too.
    const deadline = Date.now() + 20_000;
    while (
      (await call('GET', '/v1/users/me/cart', { token: doomed.token })).status === 200 &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const [method, path, body] of [
      ['GET', '/v1/users/me/cart', undefined],
      ['PUT', `/v1/users/me/cart/items/${product}`, { quantity: 3 }],
      ['DELETE', `/v1/users/me/cart/items/${product}`, undefined],
      ['POST', '/v1/users/me/orders', undefined],
      ['GET', '/v1/users/me/orders', undefined],
      ['GET', '/v1/orders', undefined],
    ] as const) {
      expectUnauthorized(
        await call(method, path, { token: doomed.token, body }),
        `deleted user → ${method} ${path}`,
      );
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });
});
