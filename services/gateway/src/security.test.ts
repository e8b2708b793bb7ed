import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, startTestGateway } from './testing/gateway.ts';

let upstream: FakeUpstream;
let gateway: StartedService;
let closed: StartedService;

beforeAll(async () => {
  upstream = await startFakeUpstream({ name: 'upstream' });
  const urls = { users: [upstream.url], orders: [upstream.url] };
  gateway = await startTestGateway(urls, { CORS_ORIGINS: 'https://app.example.com,http://localhost:5173' });
  closed = await startTestGateway(urls);
});

afterAll(async () => {
  await Promise.all([gateway?.close(), closed?.close()]);
  await upstream?.close();
});

describe('security headers', () => {
  it('forbid API responses from loading anything or being framed', async () => {
    for (const path of ['/v1/products', '/v1/users/me', '/nowhere']) {
      const { headers } = await call(gateway.url, path);
      expect(headers.get('content-security-policy'), path).toBe("default-src 'none';frame-ancestors 'none'");
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(headers.get('cross-origin-resource-policy')).toBe('same-origin');
      // Document-only headers are not sent with JSON.
      expect(headers.get('x-dns-prefetch-control')).toBeNull();
    }
  });

  it('let the API reference page run its script and styles, and nothing from elsewhere', async () => {
    const { headers } = await call(gateway.url, '/docs');
    const policy = headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self' 'unsafe-inline'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('cross-origin-opener-policy')).toBe('same-origin');
  });
});

describe('CORS', () => {
  const origin = 'https://app.example.com';

  it('allows a configured origin and lets it read the rate-limit, version and request-id headers', async () => {
    const { headers } = await call(gateway.url, '/v1/products', { headers: { origin } });
    expect(headers.get('access-control-allow-origin')).toBe(origin);
    const exposed = headers.get('access-control-expose-headers') ?? '';
    for (const name of ['x-ratelimit-remaining', 'retry-after', 'api-version', 'x-request-id', 'location']) {
      expect(exposed).toContain(name);
    }
  });

  it('does not allow other origins', async () => {
    const { headers } = await call(gateway.url, '/v1/products', {
      headers: { origin: 'https://evil.example' },
    });
    expect(headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights itself, without a token and without calling a service', async () => {
    const before = upstream.received.length;
    const response = await fetch(`${gateway.url}/v1/users/me/orders`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(origin);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    expect(upstream.received.length).toBe(before);
  });

  it('sends no CORS headers when no origin is configured', async () => {
    const { headers } = await call(closed.url, '/v1/products', { headers: { origin } });
    expect(headers.get('access-control-allow-origin')).toBeNull();
  });
});
