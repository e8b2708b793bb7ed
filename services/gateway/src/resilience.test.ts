import { serviceNames } from '@armature/contracts/services';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, deadUrl, startTestGateway } from './testing/gateway.ts';

let users: FakeUpstream;
let ordersA: FakeUpstream;
let ordersB: FakeUpstream;
let gateway: StartedService;
const started: StartedService[] = [];

const limits = { RATE_LIMIT_MAX_REQUESTS: '100000' };

beforeAll(async () => {
  users = await startFakeUpstream({ name: 'users' });
  ordersA = await startFakeUpstream({ name: 'orders-a', hangPrefix: '/v1/products/hang' });
  ordersB = await startFakeUpstream({ name: 'orders-b', hangPrefix: '/v1/products/hang' });
  gateway = await startTestGateway(
    { users: [users.url], orders: [ordersA.url, ordersB.url] },
    {
      ...limits,
      UPSTREAM_TIMEOUT_MS: '300',
      UPSTREAM_HEALTH_INTERVAL_MS: '100',
      BREAKER_FAILURE_THRESHOLD: '50',
    },
  );
});

afterAll(async () => {
  await Promise.all([gateway, ...started].map((service) => service?.close()));
  await Promise.all([users, ordersA, ordersB].map((upstream) => upstream?.close()));
});

async function servedBy(base: string, count: number, path = '/v1/products') {
  const tally: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const { status, body } = await call(base, path);
    const key = status === 200 ? body.instance : `status ${status}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return tally;
}

describe('load balancing', () => {
  it('spreads requests evenly over the instances of a service', async () => {
    expect(await servedBy(gateway.url, 10)).toEqual({ 'orders-a': 5, 'orders-b': 5 });
  });

  it('takes an instance out while its health check fails and puts it back when it passes', async () => {
    // Probes run every 100 ms here; allow a busy machine a few of them.
    const eventually = { timeout: 5000, interval: 100 };
    ordersA.ready = false;
    await vi.waitFor(
      async () => expect(await servedBy(gateway.url, 6)).toEqual({ 'orders-b': 6 }),
      eventually,
    );
    ordersA.ready = true;
    await vi.waitFor(
      async () => expect(await servedBy(gateway.url, 6)).toEqual({ 'orders-a': 3, 'orders-b': 3 }),
      eventually,
    );
  });

  it('reports every instance, and each service, in /health', async () => {
    ordersA.ready = false;
    const degraded = await call(gateway.url, '/health');
    ordersA.ready = true;
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    // Each service of the catalog and each of its instances (the ones this suite does not start
    // are sent to the users fake by the test gateway).
    expect(Object.keys(degraded.body.checks)).toEqual(
      expect.arrayContaining(['orders', 'orders-1', 'orders-2', 'users', 'users-1']),
    );
    expect(
      Object.keys(degraded.body.checks)
        .filter((name) => !name.includes('-'))
        .sort(),
    ).toEqual([...serviceNames].sort());
    expect(degraded.body.checks['orders-1'].status).toBe('down');
    expect(degraded.body.checks['orders-2'].status).toBe('up');
    expect(degraded.body.checks.orders.status).toBe('up');
    expect(typeof degraded.body.checks['orders-2'].latency).toBe('number');
  });
});

describe('timeouts and bad answers', () => {
  it('answers 504 UPSTREAM_TIMEOUT when a service hangs, within the configured timeout', async () => {
    const began = performance.now();
    const { status, body } = await call(gateway.url, '/v1/products/hang');
    const elapsed = performance.now() - began;
    expect(status).toBe(504);
    expect(body.error.code).toBe('UPSTREAM_TIMEOUT');
    // Configured 300 ms; the service would never answer. Generous bound for a busy machine.
    expect(elapsed).toBeLessThan(3000);
  });

  it('answers 502 BAD_GATEWAY when a service talks garbage', async () => {
    const { status, body } = await call(gateway.url, '/v1/products/garbage');
    expect(status).toBe(502);
    expect(body.error.code).toBe('BAD_GATEWAY');
  });

  it('relays a 304 Not Modified without a body, even one that states a length', async () => {
    const response = await fetch(`${gateway.url}/v1/products/prd_1?status=304`, {
      headers: { 'if-none-match': '"abc"' },
    });
    expect(response.status).toBe(304);
    expect(response.headers.get('x-instance')).toMatch(/^orders-/);
    expect(await response.text()).toBe('');
  });

  it('answers HEAD with the headers of the GET, its length included, and no body', async () => {
    const get = await fetch(`${gateway.url}/v1/products/prd_1`);
    const getLength = (await get.arrayBuffer()).byteLength;
    const head = await fetch(`${gateway.url}/v1/products/prd_1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toContain('application/json');
    // The echo differs by a few bytes (method name); what matters is a real length and no body.
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(getLength - 10);
    expect(await head.text()).toBe('');
  });

  it("relays a service's own errors unchanged", async () => {
    const { status, body } = await call(gateway.url, '/v1/products/prd_1?status=500');
    expect(status).toBe(500);
    expect(body.instance).toMatch(/^orders-/);
  });
});

describe('failures of instances', () => {
  it('retries on another instance when one stops listening before its health check notices', async () => {
    const [doomed, alive] = [
      await startFakeUpstream({ name: 'doomed' }),
      await startFakeUpstream({ name: 'alive' }),
    ];
    const edge = await startTestGateway(
      { users: [doomed.url, alive.url], orders: [ordersA.url] },
      { ...limits, UPSTREAM_HEALTH_INTERVAL_MS: '600000', BREAKER_FAILURE_THRESHOLD: '1000' },
    );
    started.push(edge);
    try {
      // Its first health check has passed (asking /health probes again, and waits for the answer).
      expect((await call(edge.url, '/health')).body.checks['users-1'].status).toBe('up');
      await doomed.close();
      expect(await servedBy(edge.url, 6, '/v1/users/usr_1?x')).toEqual({ 'status 401': 6 });
      // Public routes reach the service: reads, and writes too, since the refused ones never left.
      for (let i = 0; i < 4; i++) expect((await call(edge.url, '/.well-known/jwks.json')).status).toBe(200);
      const writes = [];
      for (let i = 0; i < 4; i++) {
        const { status, body } = await call(edge.url, '/v1/users', {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json' },
        });
        writes.push(status === 200 ? body.instance : status);
      }
      expect(writes).toEqual(['alive', 'alive', 'alive', 'alive']);
      const retries = await edge.app.gatewayMetrics.upstreamRetries.get();
      expect(retries.values[0]?.value).toBeGreaterThanOrEqual(4);
    } finally {
      await alive.close();
    }
  });

  it('retries a read cut off mid-request on another instance, but not a write', async () => {
    const crashing = await startFakeUpstream({ name: 'crashing', resetPrefix: '/v1/' });
    const healthy = await startFakeUpstream({ name: 'healthy' });
    const both = [crashing.url, healthy.url];
    const edge = await startTestGateway(
      { users: both, orders: both },
      { ...limits, BREAKER_FAILURE_THRESHOLD: '1000' },
    );
    started.push(edge);
    try {
      // Half the reads land on the crashing instance first; each is retried on the healthy one.
      expect(await servedBy(edge.url, 6, '/v1/products/prd_1')).toEqual({ healthy: 6 });
      expect(crashing.received.length).toBeGreaterThanOrEqual(3);
      // A write the service may have acted on is not sent twice: it fails with 502.
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const { status } = await call(edge.url, '/v1/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        });
        statuses.push(status);
      }
      const writesOn = (upstream: FakeUpstream) =>
        upstream.received.filter((entry) => entry.method === 'POST').length;
      expect(statuses.filter((status) => status === 502).length).toBe(writesOn(crashing));
      expect(statuses.filter((status) => status === 200).length).toBe(writesOn(healthy));
      expect(writesOn(crashing)).toBeGreaterThan(0);
    } finally {
      await Promise.all([crashing.close(), healthy.close()]);
    }
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After at once when every breaker is open', async () => {
    const edge = await startTestGateway(
      { users: [users.url], orders: [await deadUrl(), await deadUrl()] },
      { ...limits, BREAKER_FAILURE_THRESHOLD: '2', BREAKER_HALF_OPEN_AFTER_MS: '30000' },
    );
    started.push(edge);
    // The first calls find nobody listening and open both breakers.
    for (let i = 0; i < 3; i++) {
      const { status, body, headers } = await call(edge.url, '/v1/products');
      expect(status).toBe(503);
      expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(headers.get('retry-after')).not.toBeNull();
    }
    const failuresBefore = await totalFailures(edge);
    const { status, body, headers } = await call(edge.url, '/v1/products');
    expect(status).toBe(503);
    expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
    const retryAfter = Number(headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(20);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // Refused by the breakers: no connection was attempted.
    expect(await totalFailures(edge)).toBe(failuresBefore);
  });
});

async function totalFailures(edge: StartedService): Promise<number> {
  const metric = await edge.app.gatewayMetrics.upstreamFailures.get();
  return metric.values
    .filter((value) => value.labels.kind !== 'circuit_open')
    .reduce((sum, value) => sum + value.value, 0);
}

describe('what goes upstream', () => {
  it('propagates X-Request-Id and traceparent, and starts a trace when none is given', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const given = await call(gateway.url, '/v1/products', {
      headers: { 'x-request-id': 'req-abc-123', traceparent },
    });
    expect(given.headers.get('x-request-id')).toBe('req-abc-123');
    expect(given.body.headers['x-request-id']).toBe('req-abc-123');
    // The same trace, continued from the gateway's own span of the call upstream.
    expect(given.body.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(given.body.headers.traceparent).not.toBe(traceparent);

    const fresh = await call(gateway.url, '/v1/products');
    expect(fresh.body.headers['x-request-id']).toBe(fresh.headers.get('x-request-id'));
    // A new trace; its flags say whether the span store keeps it (sampled: -01, or not: -00).
    expect(fresh.body.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('passes bodies, query strings and repeated response headers through unchanged', async () => {
    const body = JSON.stringify({ email: 'a@example.com', name: 'Ä ü' });
    const result = await call(gateway.url, '/v1/users?x=1&sort=+name', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    });
    expect(result.status).toBe(200);
    expect(result.body.url).toBe('/v1/users?x=1&sort=+name');
    expect(result.body.body).toBe(body);
    expect(result.body.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(result.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  });

  it('refuses a body over the limit with 413 before any service sees it', async () => {
    const edge = await startTestGateway(
      { users: [users.url], orders: [ordersA.url] },
      { ...limits, BODY_LIMIT_BYTES: '2048' },
    );
    started.push(edge);
    const before = users.received.length;
    const { status, body } = await call(edge.url, '/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(5000) }),
    });
    expect(status).toBe(413);
    expect(body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(users.received.length).toBe(before);
  });

  it('answers unknown paths with 404 and unknown versions with 400', async () => {
    expect((await call(gateway.url, '/nowhere')).status).toBe(404);
    expect((await call(gateway.url, '/v1/widgets', { headers: { authorization: 'Bearer x' } })).status).toBe(
      401,
    );
    expect((await call(gateway.url, '/v9/products')).body.error.code).toBe('UNSUPPORTED_VERSION');
  });
});
