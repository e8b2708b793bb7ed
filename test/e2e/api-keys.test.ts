import { randomUUID } from 'node:crypto';
import { envPrefix, serviceNames } from '@armature/contracts/services';
import { readGatewayConfig, startGateway } from '@armature/gateway';
import type { StartedService } from '@armature/platform';
import { eventually } from '@armature/platform/events/test-support';
import { contractFetch } from '@armature/testing/contract';
import { mode, redisUrl } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * API keys as a partner's machine uses them: created by their owner, sent as `X-API-Key` or
 * `Authorization: Bearer ak_…`, held to their scopes, rotated with a grace period, revoked, and
 * refused on a second gateway within a second of their revocation.
 */

const admin = { email: 'api-keys-admin@example.com', password: 'api keys admin password' };

let system: TestSystem;
let second: StartedService;
const checked = contractFetch();

beforeAll(async () => {
  system = await startSystem({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
  // A second gateway in front of the same services (on the same Redis in the scale-out pass).
  const urls = Object.fromEntries(
    serviceNames.map((service) => [`${envPrefix(service)}_SERVICE_URLS`, system.services[service].url]),
  );
  second = await startGateway(
    readGatewayConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ...urls,
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      RATE_LIMIT_KEY_PREFIX: `armature:test:${randomUUID()}:`,
      RATE_LIMIT_MAX_REQUESTS: '100000',
    }),
  );
});

afterAll(async () => {
  await second?.close();
  await system?.close();
});

interface Member {
  id: string;
  token: string;
  refreshToken: string;
}

async function login(email: string, password: string) {
  const reply = await system.call('POST', '/v1/auth/login', { body: { email, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { accessToken: string; refreshToken: string };
}

async function member(label: string): Promise<Member> {
  const body = {
    email: `${label}-${randomUUID().slice(0, 8)}@example.com`,
    password: `the password of ${label}`,
    name: label,
  };
  const created = await system.call('POST', '/v1/users', { body });
  expect(created.status).toBe(201);
  const tokens = await login(body.email, body.password);
  return { id: created.body.id, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}

async function createKey(owner: Member, body: Record<string, unknown>, token = owner.token) {
  const reply = await system.call('POST', `/v1/users/${owner.id}/api-keys`, { token, body });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body as { id: string; key: string; prefix: string; scopes: string[] };
}

/** A request with a key, through the first gateway or another one. */
async function withKey(
  key: string,
  path: string,
  options: { as?: 'x-api-key' | 'bearer'; method?: string; body?: unknown; gateway?: string } = {},
) {
  const headers: Record<string, string> =
    options.as === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await checked(`${options.gateway ?? system.url}${path}`, {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

describe(`API keys (${mode})`, () => {
  it('shows the secret once, lists only its prefix, and works as X-API-Key and as Bearer', async () => {
    const owner = await member('keyed');
    const created = await createKey(owner, { name: 'ci', scopes: ['users:read', 'orders:read'] });
    expect(created.key).toMatch(/^ak_[A-Za-z0-9_-]{43}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const listed = await system.call('GET', `/v1/users/${owner.id}/api-keys`, { token: owner.token });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({ id: created.id, name: 'ci', prefix: created.prefix });
    expect(JSON.stringify(listed.body)).not.toContain(created.key);

    const viaHeader = await withKey(created.key, '/v1/users/me');
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.body.id).toBe(owner.id);
    const viaBearer = await withKey(created.key, '/v1/users/me', { as: 'bearer' });
    expect(viaBearer.status).toBe(200);
    // Used: the list says when.
    const after = await system.call('GET', `/v1/users/${owner.id}/api-keys`, { token: owner.token });
    expect(after.body.data[0].lastUsedAt).not.toBeNull();
  });

  it('calls only operations within its scopes, each class of operation by its own scope', async () => {
    const owner = await member('scoped');
    const reader = await createKey(owner, {
      name: 'reader',
      scopes: ['users:read', 'cart:read', 'orders:read'],
    });
    expect((await withKey(reader.key, '/v1/users/me/cart')).status).toBe(200);
    expect((await withKey(reader.key, '/v1/users/me/orders')).status).toBe(200);
    const write = await withKey(reader.key, `/v1/users/${owner.id}`, {
      method: 'PATCH',
      body: { name: 'renamed' },
    });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('INSUFFICIENT_SCOPE');
    const checkout = await withKey(reader.key, '/v1/users/me/orders', { method: 'POST', body: {} });
    expect(checkout.status).toBe(403);
    expect(checkout.body.error.code).toBe('INSUFFICIENT_SCOPE');
    // Managing keys needs its own scope: a read-only key cannot mint a broader one.
    const mint = await withKey(reader.key, '/v1/users/me/api-keys', {
      method: 'POST',
      body: { name: 'broader', scopes: ['users:write'] },
    });
    expect(mint.status).toBe(403);

    const writer = await createKey(owner, { name: 'writer', scopes: ['users:write'] });
    const renamed = await withKey(writer.key, `/v1/users/${owner.id}`, {
      method: 'PATCH',
      body: { name: 'renamed' },
    });
    expect(renamed.status).toBe(200);
    expect((await withKey(writer.key, '/v1/users/me')).status).toBe(403);
  });

  it('keeps its scopes when a client exchanges it for a token itself', async () => {
    const owner = await member('exchanger');
    const created = await createKey(owner, { name: 'narrow', scopes: ['cart:read'] });
    const exchanged = await system.call('POST', '/v1/auth/api-keys', { body: { key: created.key } });
    expect(exchanged.status).toBe(200);
    const token = exchanged.body.accessToken as string;
    expect((await system.call('GET', '/v1/users/me/cart', { token })).status).toBe(200);
    const outside = await system.call('GET', '/v1/users/me', { token });
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe('INSUFFICIENT_SCOPE');
  });

  it('refuses an unknown key with 401 and is never a refresh token, nor a refresh token a key', async () => {
    const owner = await member('crossed');
    const created = await createKey(owner, { name: 'k', scopes: ['users:read'] });
    const unknown = await withKey(`ak_${'A'.repeat(43)}`, '/v1/users/me');
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.code).toBe('INVALID_API_KEY');
    expect(unknown.headers.get('www-authenticate')).toContain('Bearer');

    const asRefresh = await system.call('POST', '/v1/auth/refresh', { body: { refreshToken: created.key } });
    expect([400, 401]).toContain(asRefresh.status);
    const refreshAsKey = await withKey(owner.refreshToken, '/v1/users/me');
    expect(refreshAsKey.status).toBe(401);
    const exchange = await system.call('POST', '/v1/auth/api-keys', { body: { key: owner.refreshToken } });
    expect(exchange.status).toBe(401);
  });

  it('is managed by its owner or an admin, not by another member', async () => {
    const owner = await member('owner');
    const other = await member('other');
    const created = await createKey(owner, { name: 'mine', scopes: ['users:read'] });
    const peek = await system.call('GET', `/v1/users/${owner.id}/api-keys`, { token: other.token });
    expect(peek.status).toBe(403);
    const revoke = await system.call('DELETE', `/v1/users/${owner.id}/api-keys/${created.id}`, {
      token: other.token,
    });
    expect(revoke.status).toBe(403);
    const { accessToken } = await login(admin.email, admin.password);
    const byAdmin = await system.call('GET', `/v1/users/${owner.id}/api-keys`, { token: accessToken });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.data.map((key: { id: string }) => key.id)).toEqual([created.id]);
    const forOwner = await createKey(owner, { name: 'from admin', scopes: ['cart:read'] }, accessToken);
    expect((await withKey(forOwner.key, '/v1/users/me/cart')).status).toBe(200);
  });

  it('after a rotation, the old secret works during the grace period, then is refused', async () => {
    const owner = await member('rotator');
    const created = await createKey(owner, { name: 'rotating', scopes: ['users:read'] });
    const rotated = await system.call('POST', `/v1/users/${owner.id}/api-keys/${created.id}/rotations`, {
      token: owner.token,
      body: { graceSeconds: 3600 },
    });
    expect(rotated.status).toBe(201);
    expect(rotated.body.key).not.toBe(created.key);
    expect(rotated.body.id).toBe(created.id);
    expect((await withKey(rotated.body.key, '/v1/users/me')).status).toBe(200);
    expect((await withKey(created.key, '/v1/users/me', { gateway: second.url })).status).toBe(200);

    // A rotation without grace: the previous secret stops at once (within the gateways' second).
    const again = await system.call('POST', `/v1/users/${owner.id}/api-keys/${created.id}/rotations`, {
      token: owner.token,
      body: { graceSeconds: 0 },
    });
    expect(again.status).toBe(201);
    await eventually(
      'the rotated-out secret refused',
      async () => {
        return (await withKey(rotated.body.key, '/v1/users/me')).status === 401;
      },
      1500,
    );
    expect((await withKey(again.body.key, '/v1/users/me')).status).toBe(200);
  });

  it('once revoked, is refused by a second gateway within a second', async () => {
    const owner = await member('revoker');
    const created = await createKey(owner, { name: 'short-lived', scopes: ['users:read'] });
    // Both gateways have seen (and remember) the key.
    expect((await withKey(created.key, '/v1/users/me')).status).toBe(200);
    expect((await withKey(created.key, '/v1/users/me', { gateway: second.url })).status).toBe(200);
    const revoked = await system.call('DELETE', `/v1/users/${owner.id}/api-keys/${created.id}`, {
      token: owner.token,
    });
    expect(revoked.status).toBe(204);
    await eventually(
      'the revoked key refused by the second gateway',
      async () => {
        return (await withKey(created.key, '/v1/users/me', { gateway: second.url })).status === 401;
      },
      1200,
    );
    const listed = await system.call('GET', `/v1/users/${owner.id}/api-keys`, { token: owner.token });
    expect(listed.body.data).toEqual([]);
  });

  it('is refused once expired, and dies with its deleted user', async () => {
    const owner = await member('expiring');
    const soon = await createKey(owner, {
      name: 'expiring',
      scopes: ['users:read'],
      expiresAt: new Date(Date.now() + 2000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    await eventually(
      'the expired key refused',
      async () => {
        return (await withKey(soon.key, '/v1/users/me')).status === 401;
      },
      5000,
    );
    const past = await system.call('POST', `/v1/users/${owner.id}/api-keys`, {
      token: owner.token,
      body: { name: 'past', scopes: ['users:read'], expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(past.status).toBe(422);

    const doomed = await member('doomed');
    const key = await createKey(doomed, { name: 'k', scopes: ['users:read'] });
    expect((await withKey(key.key, '/v1/users/me')).status).toBe(200);
    const { accessToken } = await login(admin.email, admin.password);
    expect((await system.call('DELETE', `/v1/users/${doomed.id}`, { token: accessToken })).status).toBe(204);
    await eventually(
      'the deleted user’s key refused',
      async () => {
        return (await withKey(key.key, '/v1/users/me')).status === 401;
      },
      1500,
    );
  });

  it('counts each key’s requests in its owner’s usage, by day and status class', async () => {
    const owner = await member('metered');
    const reader = await createKey(owner, { name: 'reader', scopes: ['users:read'] });
    const carts = await createKey(owner, { name: 'carts', scopes: ['cart:read', 'usage:read'] });
    expect((await withKey(reader.key, '/v1/users/me')).status).toBe(200);
    expect((await withKey(reader.key, '/v1/users/me', { as: 'bearer' })).status).toBe(200);
    expect((await withKey(carts.key, '/v1/users/me/cart')).status).toBe(200);
    expect((await withKey(carts.key, '/v1/users/me')).status).toBe(403);
    // Reading usage needs its scope.
    const unscoped = await withKey(reader.key, '/v1/users/me/usage');
    expect(unscoped.status).toBe(403);
    expect(unscoped.body.error.code).toBe('INSUFFICIENT_SCOPE');

    const today = new Date().toISOString().slice(0, 10);
    const path = `/v1/users/${owner.id}/usage?from=${today}&to=${today}`;
    const usage = await eventually('both keys counted', async () => {
      const reply = await system.call('GET', path, { token: owner.token });
      expect(reply.status).toBe(200);
      return reply.body.days[0].apiKeys.length === 2 && reply;
    });
    const [day] = usage.body.days;
    const byKey = Object.fromEntries(
      day.apiKeys.map((entry: { keyId: string; requests: unknown }) => [entry.keyId, entry.requests]),
    );
    expect(byKey[reader.id]).toEqual({
      total: 3,
      byStatusClass: { success: 2, redirection: 0, clientError: 1, serverError: 0 },
    });
    expect(byKey[carts.id]).toEqual({
      total: 2,
      byStatusClass: { success: 1, redirection: 0, clientError: 1, serverError: 0 },
    });
    // The user's own total holds the keys' requests and those made with a token (sign-in, reads).
    expect(day.requests.total).toBeGreaterThan(5);

    // With the scope, a key reads its owner's usage; another member cannot.
    expect((await withKey(carts.key, '/v1/users/me/usage')).status).toBe(200);
    const stranger = await member('stranger');
    const refused = await system.call('GET', `/v1/users/${owner.id}/usage`, { token: stranger.token });
    expect(refused.status).toBe(403);
  });
});

describe(`admin-only routes (${mode})`, () => {
  it('answer a member 403 before checking parameters', async () => {
    const someone = await member('curious');
    const reply = await system.call('GET', '/v1/events', { token: someone.token });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('FORBIDDEN');
  });
});
