import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, startTestGateway } from './testing/gateway.ts';
import { resolveApiTarget } from './versioning.ts';

let users: FakeUpstream;
let orders: FakeUpstream;
let gateway: StartedService;

beforeAll(async () => {
  users = await startFakeUpstream({ name: 'users' });
  orders = await startFakeUpstream({ name: 'orders' });
  gateway = await startTestGateway(
    { users: [users.url], orders: [orders.url] },
    { API_V1_SUNSET: '2027-06-30', API_V1_DEPRECATION: '2026-10-01' },
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([users?.close(), orders?.close()]);
});

const vnd = (version: string) => ({ accept: `application/vnd.api+json;version=${version}` });

describe('API versions', () => {
  it('reach the same v2 handler by path, Accept header and query parameter', async () => {
    const byPath = await call(gateway.url, '/v2/products?limit=5');
    const byHeader = await call(gateway.url, '/products?limit=5', { headers: vnd('2') });
    const byQuery = await call(gateway.url, '/products?version=2&limit=5');
    for (const result of [byPath, byHeader, byQuery]) {
      expect(result.status).toBe(200);
      expect(result.body.instance).toBe('orders');
      // The service sees a versioned path, and no `version` parameter.
      expect(result.body.url).toBe('/v2/products?limit=5');
      expect(result.headers.get('api-version')).toBe('2');
    }
  });

  it('default to v1 when no version is named, and mark v1 deprecated with its sunset date', async () => {
    const { status, body, headers } = await call(gateway.url, '/products/prd_1');
    expect(status).toBe(200);
    expect(body.url).toBe('/v1/products/prd_1');
    expect(headers.get('api-version')).toBe('1');
    expect(headers.get('deprecation')).toBe(`@${Date.UTC(2026, 9, 1) / 1000}`);
    expect(headers.get('sunset')).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
    expect(headers.get('link')).toContain('successor-version');
  });

  it('do not mark v2 responses deprecated', async () => {
    const { headers } = await call(gateway.url, '/v2/products');
    expect(headers.get('deprecation')).toBeNull();
    expect(headers.get('sunset')).toBeNull();
  });

  it('answer an unsupported version with 400 UNSUPPORTED_VERSION, whichever way it is asked', async () => {
    const before = orders.received.length;
    for (const [path, init] of [
      ['/v3/products', undefined],
      ['/products', { headers: vnd('3') }],
      ['/products?version=0', undefined],
      ['/products?version=two', undefined],
    ] as const) {
      const { status, body } = await call(gateway.url, path, init);
      expect(status, path).toBe(400);
      expect(body.error.code).toBe('UNSUPPORTED_VERSION');
      expect(body.error.message).toMatch(/not supported/);
    }
    expect(orders.received.length).toBe(before);
  });

  it('refuse conflicting versions with 400 UNSUPPORTED_VERSION naming each source', async () => {
    const cases: Array<[string, RequestInit | undefined, string[]]> = [
      ['/v1/products', { headers: vnd('2') }, ['path', 'Accept']],
      ['/v2/products?version=1', undefined, ['path', 'version']],
      ['/products?version=1', { headers: vnd('2') }, ['Accept', 'version']],
      ['/products?version=1&version=2', undefined, ['version', 'version']],
    ];
    for (const [path, init, fields] of cases) {
      const { status, body } = await call(gateway.url, path, init);
      expect(status, path).toBe(400);
      expect(body.error.code).toBe('UNSUPPORTED_VERSION');
      expect(body.error.message).toMatch(/more than one API version/);
      expect(body.error.details.map((detail: { field: string }) => detail.field)).toEqual(fields);
    }
  });

  it('accept agreeing sources', async () => {
    const { status, body } = await call(gateway.url, '/v2/products?version=2', { headers: vnd('2') });
    expect(status).toBe(200);
    expect(body.url).toBe('/v2/products');
  });
});

describe('resolveApiTarget', () => {
  it('keeps every other query parameter byte for byte', () => {
    const target = resolveApiTarget('/orders?sort=+total,-createdAt&version=2&fields=id%2Cname', undefined);
    expect(target).toEqual({
      version: '2',
      path: '/orders',
      upstreamUrl: '/v2/orders?sort=+total,-createdAt&fields=id%2Cname',
    });
  });

  it('reads the version among several Accept media ranges, quoted or not', () => {
    const accept = 'text/html;q=0.5, application/vnd.api+json; version="2"; q=0.9';
    expect(resolveApiTarget('/users/me', accept).version).toBe('2');
    expect(resolveApiTarget('/users/me', 'application/json').version).toBe('1');
  });
});
