import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { type Mailbox, startMailbox } from '@armature/testing/mailbox';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * OWASP ASVS V2 (authentication): guessing a password through its change, asking for reset mails in
 * bulk, and guessing second-factor codes all meet the gateway's strict (login) limit. The limit here
 * is 3 attempts per window; each client address is told apart by `X-Forwarded-For` (the gateway
 * trusts it in this suite, as it would behind a load balancer).
 */

let system: TestSystem;
let mailbox: Mailbox;

beforeAll(async () => {
  mailbox = await startMailbox();
  system = await startSystem({
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '3',
    LOGIN_RATE_LIMIT_WINDOW_MS: '3600000',
    TRUST_PROXY: 'true',
    ...mailbox.env,
  });
});

afterAll(async () => {
  await system?.close();
  await mailbox?.close();
});

let addresses = 0;
/** A client address of its own, so that one test's attempts do not spend another's. */
const newAddress = () => `198.51.100.${++addresses}`;

async function send(method: string, path: string, from: string, body: unknown, token?: string) {
  const response = await system.fetch(path, {
    method,
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': from,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

async function member(from: string) {
  const email = `limited-${randomUUID().slice(0, 8)}@example.com`;
  const password = 'the limited password';
  expect((await send('POST', '/v1/users', from, { email, name: 'Limited', password })).status).toBe(201);
  const login = await send('POST', '/v1/auth/login', from, { email, password });
  expect(login.status).toBe(200);
  return { email, password, token: login.body.accessToken as string };
}

describe(`the strict limit on account attempts (${mode})`, () => {
  it('limits guessing the current password through a password change, per user', async () => {
    const from = newAddress();
    const { token, password } = await member(from);
    const attempt = (currentPassword: string, address = from) =>
      send(
        'PUT',
        '/v1/users/me/password',
        address,
        { currentPassword, newPassword: 'a new password' },
        token,
      );
    for (let i = 0; i < 3; i++) expect((await attempt(`guess ${i}`)).status).toBe(401);
    const limited = await attempt(password);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // From another address the user is still limited: the bucket is the user's.
    expect((await attempt(password, newAddress())).status).toBe(429);
  });

  it('limits reset requests per email, whatever the address, and per address, whatever the email', async () => {
    const email = `target-${randomUUID().slice(0, 8)}@example.com`;
    for (let i = 0; i < 3; i++) {
      expect((await send('POST', '/v1/auth/password-reset', newAddress(), { email })).status).toBe(202);
    }
    expect((await send('POST', '/v1/auth/password-reset', newAddress(), { email })).status).toBe(429);

    const from = newAddress();
    for (let i = 0; i < 3; i++) {
      const other = `spray-${i}-${randomUUID().slice(0, 8)}@example.com`;
      expect((await send('POST', '/v1/auth/password-reset', from, { email: other })).status).toBe(202);
    }
    const sprayed = await send('POST', '/v1/auth/password-reset', from, { email: 'one-more@example.com' });
    expect(sprayed.status).toBe(429);
  });

  it('limits second-factor codes per address on top of each challenge’s own five', async () => {
    const from = newAddress();
    const challenge = 'mfa_' + 'A'.repeat(43);
    for (let i = 0; i < 3; i++) {
      const refused = await send('POST', '/v1/auth/mfa', from, { mfaChallenge: challenge, code: '123456' });
      expect(refused.status).toBe(401);
    }
    expect(
      (await send('POST', '/v1/auth/mfa', from, { mfaChallenge: challenge, code: '123456' })).status,
    ).toBe(429);
  });
});
