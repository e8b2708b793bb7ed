import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { linkToken, type Mailbox, startMailbox } from '@armature/testing/mailbox';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `CHECKOUT_REQUIRES_VERIFIED_EMAIL`: an unverified member cannot check out until they follow the link. */

const admin = { email: 'verified-shop-admin@example.com', password: 'verified shop admin' };
let system: TestSystem;
let mailbox: Mailbox;

beforeAll(async () => {
  mailbox = await startMailbox();
  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    CHECKOUT_REQUIRES_VERIFIED_EMAIL: 'true',
    ...mailbox.env,
  });
});

afterAll(async () => {
  await system?.close();
  await mailbox?.close();
});

const tokenOf = async (email: string, password: string) =>
  (await system.call('POST', '/v1/auth/login', { body: { email, password } })).body.accessToken as string;

describe(`checkout with verified emails required (${mode})`, () => {
  it('refuses an unverified member with 403 EMAIL_NOT_VERIFIED, and takes the order once verified', async () => {
    const adminToken = await tokenOf(admin.email, admin.password);
    const product = await system.call('POST', '/v1/products', {
      token: adminToken,
      body: { name: `Verified goods ${randomUUID().slice(0, 8)}`, price: 5, stock: 10 },
    });
    expect(product.status).toBe(201);

    const email = `shopper-${randomUUID().slice(0, 8)}@example.com`;
    const password = 'the shopper password';
    expect(
      (await system.call('POST', '/v1/users', { body: { email, name: 'Shopper', password } })).status,
    ).toBe(201);
    const token = await tokenOf(email, password);
    const put = await system.call('PUT', `/v1/users/me/cart/items/${product.body.id}`, {
      token,
      body: { quantity: 1 },
    });
    expect(put.status).toBeLessThan(300);

    const refused = await system.call('POST', '/v1/users/me/orders', { token, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('EMAIL_NOT_VERIFIED');

    const mail = await mailbox.next(email, /confirm your email/i);
    expect(
      (await system.call('POST', '/v1/auth/verify-email', { body: { token: linkToken(mail) } })).status,
    ).toBe(204);
    const placed = await system.call('POST', '/v1/users/me/orders', { token, body: {} });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
  });
});
