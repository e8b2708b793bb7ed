import { allOperations } from '@armature/contracts/all-operations';
import { serviceNames } from '@armature/contracts/services';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardedOperations, isPublicRoute, ownerOf, resourceRoots } from './routes.ts';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { startTestGateway } from './testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from './testing/tokens.ts';

describe('which service owns a path', () => {
  it.each([
    ['/users', 'users'],
    ['/users/usr_1', 'users'],
    ['/users/me', 'users'],
    ['/auth/login', 'users'],
    ['/users/usr_1/cart', 'orders'],
    ['/users/usr_1/cart/items/prd_1', 'orders'],
    ['/users/me/orders', 'orders'],
    ['/products', 'orders'],
    ['/products/prd_1', 'orders'],
    ['/orders/ord_1/items', 'orders'],
    ['/users/usr_1/ordersx', undefined],
    ['/products/prd_1/anything', undefined],
    [`/users/${'x'.repeat(1500)}`, 'users'],
    ['/widgets', undefined],
    ['//users', undefined],
    ['/usersx', undefined],
    ['/constructor', undefined],
  ])('%s → %s', (path, owner) => {
    expect(ownerOf(path)).toBe(owner);
  });

  it('sends /events where its filter points, and refuses to guess', () => {
    expect(ownerOf('/events', { type: 'order.created' })).toBe('orders');
    expect(ownerOf('/events', { aggregateId: 'usr_1' })).toBe('users');
    expect(() => ownerOf('/events', {})).toThrow();
  });

  it('knows the resource roots from the contract', () => {
    const roots = allOperations
      .filter((operation) => operation.service !== 'gateway' && !operation.unversioned)
      .map((operation) => operation.path.split('/')[1]);
    expect(new Set(resourceRoots)).toEqual(new Set(roots));
    expect(resourceRoots).toEqual(expect.arrayContaining(['users', 'auth', 'products', 'orders', 'events']));
  });
});

describe('the public routes', () => {
  it('opens registration, login, refresh, logout (the refresh token is the credential) and product reads only', () => {
    expect(isPublicRoute('POST', '/users')).toBe(true);
    expect(isPublicRoute('POST', '/auth/login')).toBe(true);
    expect(isPublicRoute('POST', '/auth/refresh')).toBe(true);
    expect(isPublicRoute('POST', '/auth/logout')).toBe(true);
    expect(isPublicRoute('GET', '/products')).toBe(true);
    expect(isPublicRoute('HEAD', '/products/prd_1')).toBe(true);

    expect(isPublicRoute('GET', '/users')).toBe(false);
    expect(isPublicRoute('POST', '/products')).toBe(false);
    expect(isPublicRoute('GET', '/products/prd_1/anything')).toBe(false);
    expect(isPublicRoute('DELETE', '/products/prd_1')).toBe(false);
    expect(isPublicRoute('GET', '/orders')).toBe(false);
  });
});

/**
 * Every operation of the contract, called through a running gateway: without a token a public one
 * reaches its owner and any other is refused at the edge; a member's token reaches the owner of
 * every operation but the admin-only ones, refused at the edge with 403; an admin's reaches them all.
 */
describe('every operation of the contract through the gateway', () => {
  let key: SigningKey;
  let upstreams: FakeUpstream[] = [];
  let gateway: StartedService;
  beforeAll(async () => {
    key = await createSigningKey();
    // One fake instance per service of the catalog; the users service's serves the signing keys.
    upstreams = await Promise.all(
      serviceNames.map((name) => startFakeUpstream({ name, keys: name === 'users' ? [key.jwk] : undefined })),
    );
    gateway = await startTestGateway(
      Object.fromEntries(serviceNames.map((name, index) => [name, [upstreams[index]!.url]])),
      { RATE_LIMIT_MAX_REQUESTS: '100000', LOGIN_RATE_LIMIT_MAX_REQUESTS: '100000' },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all(upstreams.map((upstream) => upstream.close()));
  });

  const samples: Record<string, string> = { id: 'usr_1', productId: 'prd_1' };
  const concrete = (path: string) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => samples[name] ?? `${name}_1`) +
    (path === '/events' ? '?type=user.created' : '');

  it.each(
    forwardedOperations.flatMap((operation) =>
      [1, 2].map(
        (version) => [`${operation.method} /v${version}${operation.path}`, operation, version] as const,
      ),
    ),
  )('%s', async (_name, operation, version) => {
    const url = `${gateway.url}/v${version}${concrete(operation.path)}`;
    const body = ['POST', 'PUT', 'PATCH'].includes(operation.method) ? '{}' : undefined;
    const headers = body ? { 'content-type': 'application/json' } : {};
    const servedBy = (response: Response) => response.headers.get('x-instance');

    const anonymous = await fetch(url, { method: operation.method, headers, body });
    await anonymous.arrayBuffer();
    if (operation.access === 'public') {
      expect(servedBy(anonymous)).toBe(operation.service);
    } else {
      expect(anonymous.status).toBe(401);
      expect(servedBy(anonymous)).toBeNull();
    }

    const as = async (roles: string[]) => {
      const token = await signToken(key, { roles });
      const response = await fetch(url, {
        method: operation.method,
        headers: { ...headers, authorization: `Bearer ${token}` },
        body,
      });
      await response.arrayBuffer();
      return response;
    };
    const member = await as(['member']);
    if (operation.access === 'admin') {
      expect(member.status).toBe(403);
      expect(servedBy(member)).toBeNull();
    } else {
      expect(servedBy(member)).toBe(operation.service);
    }
    expect(servedBy(await as(['member', 'admin']))).toBe(operation.service);
  });
});
