import { randomUUID } from 'node:crypto';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './app.ts';
import { readGatewayConfig } from './config.ts';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, upstreamVariables } from './testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from './testing/tokens.ts';

// With TEST_REDIS_URL two gateways share the counts in Redis (as scaled out); else one gateway counts in process.
const redisUrl = process.env.TEST_REDIS_URL;
const store = redisUrl ? 'two gateways on Redis' : 'in-process';

let key: SigningKey;
let users: FakeUpstream;
let orders: FakeUpstream;
const gateways: StartedService[] = [];
/** The gateways' clock: 23:59:59 UTC on 5 December 2026, moved by the tests. */
let clock = Date.UTC(2026, 11, 5, 23, 59, 59);

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  orders = await startFakeUpstream({ name: 'orders' });
  const env = {
    ...upstreamVariables({ users: [users.url], orders: [orders.url] }),
    RATE_LIMIT_MAX_REQUESTS: '1000',
    USAGE_FLUSH_MS: '100',
    ...(redisUrl ? { REDIS_URL: redisUrl, RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:` } : {}),
  };
  const count = redisUrl ? 2 : 1;
  for (let i = 0; i < count; i++) {
    gateways.push(await startGateway({ ...readGatewayConfig(env), now: () => clock }));
  }
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.close()));
  await Promise.all([users?.close(), orders?.close()]);
});

const newUserId = () => `usr_0${randomUUID().replaceAll('-', '').slice(0, 25)}`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The usage `token` reads at `path` once every gateway's counts have reached the store: read until
 * the days add up to `expectedTotal` (the reads of an admin count for the admin, not for the user).
 */
async function usageOf(token: string, path: string, expectedTotal?: number) {
  for (let attempt = 0; ; attempt++) {
    const reply = await call(gateways.at(-1)!.url, path, { headers: bearer(token) });
    const days: Array<{ requests: { total: number } }> = reply.body?.days ?? [];
    const total = days.reduce((sum, day) => sum + day.requests.total, 0);
    if (expectedTotal === undefined || total === expectedTotal || attempt > 50) return reply;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const adminToken = () => signToken(key, { sub: newUserId(), roles: ['member', 'admin'] });

describe(`usage (${store})`, () => {
  it('counts a user’s requests per day and status class, across gateways, and the owner reads them', async () => {
    const userId = newUserId();
    const token = await signToken(key, { sub: userId });
    clock = Date.UTC(2026, 11, 5, 23, 59, 59);
    // Three answered 200, one 404 and one 503, spread over the gateways, on 5 December.
    const paths = [
      '/v1/users/me',
      '/v1/orders/ord_x',
      '/v1/users/me',
      '/v1/users/me?status=404',
      '/v1/users/me?status=503',
    ];
    for (const [i, path] of paths.entries()) {
      await call(gateways[i % gateways.length]!.url, path, { headers: bearer(token) });
    }
    // One more on 6 December.
    clock = Date.UTC(2026, 11, 6, 0, 0, 1);
    await call(gateways[0]!.url, '/v1/users/me', { headers: bearer(token) });

    const admin = await adminToken();
    const reply = await usageOf(admin, `/v1/users/${userId}/usage?from=2026-12-04&to=2026-12-06`, 6);
    expect(reply.status).toBe(200);
    expect(reply.body.userId).toBe(userId);
    expect(reply.body.from).toBe('2026-12-04');
    expect(reply.body.to).toBe('2026-12-06');
    expect(reply.body.days.map((day: { date: string }) => day.date)).toEqual([
      '2026-12-04',
      '2026-12-05',
      '2026-12-06',
    ]);
    const [before, fifth, sixth] = reply.body.days;
    expect(before.requests.total).toBe(0);
    expect(fifth.requests).toEqual({
      total: 5,
      byStatusClass: { success: 3, redirection: 0, clientError: 1, serverError: 1 },
    });
    expect(fifth.apiKeys).toEqual([]);
    expect(sixth.requests.byStatusClass.success).toBe(1);
    // A read of usage is itself a request, counted on the day it is made.
    const own = await call(gateways[0]!.url, '/v1/users/me/usage?from=2026-12-06&to=2026-12-06', {
      headers: bearer(token),
    });
    expect(own.status).toBe(200);
    const again = await usageOf(admin, `/v1/users/${userId}/usage?from=2026-12-06&to=2026-12-06`, 2);
    expect(again.body.days[0].requests.total).toBe(2);
  });

  it('reads the last 30 days by default, and refuses a reversed or too long range', async () => {
    const token = await signToken(key, { sub: newUserId() });
    clock = Date.UTC(2026, 11, 6, 12);
    const whole = await call(gateways[0]!.url, '/v1/users/me/usage', { headers: bearer(token) });
    expect(whole.status).toBe(200);
    expect(whole.body.days).toHaveLength(30);
    expect(whole.body.to).toBe('2026-12-06');
    expect(whole.body.from).toBe('2026-11-07');

    const reversed = await call(gateways[0]!.url, '/v1/users/me/usage?from=2026-12-06&to=2026-12-01', {
      headers: bearer(token),
    });
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.code).toBe('VALIDATION_ERROR');
    expect(reversed.body.error.details[0].field).toBe('from');
    const long = await call(gateways[0]!.url, '/v1/users/me/usage?from=2026-01-01&to=2026-12-01', {
      headers: bearer(token),
    });
    expect(long.status).toBe(400);
    const notADate = await call(gateways[0]!.url, '/v1/users/me/usage?from=2026-02-31', {
      headers: bearer(token),
    });
    expect(notADate.status).toBe(400);
    const unknown = await call(gateways[0]!.url, '/v1/users/me/usage?limit=5', { headers: bearer(token) });
    expect(unknown.status).toBe(400);
    // The version may be named in the query, as for any operation.
    const versioned = await call(gateways[0]!.url, '/users/me/usage?version=2', { headers: bearer(token) });
    expect(versioned.status).toBe(200);
  });

  it('is read by its owner or an admin only, and never anonymously', async () => {
    const owner = newUserId();
    const ownerToken = await signToken(key, { sub: owner });
    const other = await signToken(key, { sub: newUserId() });
    const admin = await adminToken();
    await call(gateways[0]!.url, '/v1/users/me', { headers: bearer(ownerToken) });

    expect((await call(gateways[0]!.url, `/v1/users/${owner}/usage`)).status).toBe(401);
    const refused = await call(gateways[0]!.url, `/v1/users/${owner}/usage`, { headers: bearer(other) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    const byAdmin = await usageOf(admin, `/v1/users/${owner}/usage`, 1);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.userId).toBe(owner);
    const notAUser = await call(gateways[0]!.url, '/v1/users/nobody/usage', { headers: bearer(admin) });
    expect(notAUser.status).toBe(404);
  });

  it('exports request counts as metrics by caller, plan and status class, without user ids', async () => {
    const userId = newUserId();
    const token = await signToken(key, { sub: userId });
    await call(gateways[0]!.url, '/v1/users/me?status=404', { headers: bearer(token) });
    await call(gateways[0]!.url, '/v1/products');
    const metrics = await (await fetch(`${gateways[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(
      /gateway_api_requests_total\{caller="token",plan="default",status_class="4xx"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      /gateway_api_requests_total\{caller="anonymous",plan="none",status_class="2xx"[^}]*\} [1-9]/,
    );
    expect(metrics).not.toContain(userId);
  });
});
