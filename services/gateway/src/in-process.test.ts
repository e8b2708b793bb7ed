import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGateway } from './app.ts';
import { readGatewayConfig } from './config.ts';
import { type FakeUpstream, startFakeUpstream } from './testing/fake-upstream.ts';
import { call, startTestGateway, upstreamVariables } from './testing/gateway.ts';

// The services of the gateway's own process (embedded mode), reached through their app rather than
// their port: the same answers, headers and failures as over HTTP, and no connection at all.

let users: FakeUpstream;
let orders: FakeUpstream;
let ordersRunning = true;
let inProcess: StartedService;
let overHttp: StartedService | undefined;

const env = {
  RATE_LIMIT_MAX_REQUESTS: '100000',
  UPSTREAM_TIMEOUT_MS: '300',
  UPSTREAM_HEALTH_INTERVAL_MS: '100',
  BREAKER_FAILURE_THRESHOLD: '50',
};

beforeAll(async () => {
  users = await startFakeUpstream({ name: 'users' });
  orders = await startFakeUpstream({ name: 'orders', hangPrefix: '/v1/products/hang' });
  const upstreams = { users: [users.url], orders: [orders.url] };
  inProcess = await startGateway(readGatewayConfig({ ...upstreamVariables(upstreams), ...env }), {
    local: new Map([
      [users.url, () => users.app],
      [orders.url, () => (ordersRunning ? orders.app : undefined)],
    ]),
  });
});

afterAll(async () => {
  await Promise.all([inProcess, overHttp].map((gateway) => gateway?.close()));
  await Promise.all([users, orders].map((upstream) => upstream?.close()));
});

describe('a gateway reaching the services of its own process', () => {
  it('hands them requests without a connection to their port', async () => {
    const before = users.connections + orders.connections;
    const login = await call(inProcess.url, '/v1/auth/login?source=app', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse' }),
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ instance: 'users', method: 'POST', url: '/v1/auth/login?source=app' });
    expect(JSON.parse(login.body.body)).toEqual({ email: 'ada@example.com', password: 'correct horse' });
    const products = await call(inProcess.url, '/v1/products?limit=2');
    expect(products.body).toMatchObject({ instance: 'orders', method: 'GET', url: '/v1/products?limit=2' });
    expect(users.connections + orders.connections).toBe(before);
  });

  it('sends the same headers as over HTTP: request id, trace context, forwarded-for, no hop-by-hop or key', async () => {
    const headers = {
      'x-request-id': 'req-in-process-1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'x-api-key': 'secret-key-never-forwarded',
      accept: 'application/json',
    };
    // A gateway of another process would reach them over HTTP.
    overHttp = await startTestGateway({ users: [users.url], orders: [orders.url] }, env);
    const local = await call(inProcess.url, '/v1/products', { headers });
    const remote = await call(overHttp.url, '/v1/products', { headers });
    for (const { body, headers: answer } of [local, remote]) {
      expect(body.headers['x-request-id']).toBe('req-in-process-1');
      expect(answer.get('x-request-id')).toBe('req-in-process-1');
      expect(body.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
      expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(body.headers.host).toBe(new URL(orders.url).host);
      expect(body.headers['x-api-key']).toBeUndefined();
    }
    // Over HTTP the connection to the service is the gateway's own (keep-alive); in process there is none.
    expect(local.body.headers.connection).toBeUndefined();
    // Everything else the service saw, and what the client got back, is the same either way.
    const seen = ({ body }: typeof local) => {
      const { traceparent: _t, connection: _c, ...rest } = body.headers;
      return rest;
    };
    expect(seen(local)).toEqual(seen(remote));
    // (The echoed body, and so its length, differs by the headers above.)
    const answered = (reply: typeof local) =>
      Object.fromEntries(
        [...reply.headers].filter(
          ([name]) => !['date', 'connection', 'keep-alive', 'content-length'].includes(name),
        ),
      );
    expect(answered(local)).toEqual(answered(remote));
    expect(local.headers.get('set-cookie')).toBe('a=1, b=2');
  });

  it('relays the status the service answered, as over HTTP', async () => {
    const local = await call(inProcess.url, '/v1/products?status=409');
    expect(local.status).toBe(409);
    expect(local.body).toEqual({ instance: 'orders', status: 409 });
  });

  it('answers 504 with the envelope when the service does not answer in time', async () => {
    const { status, body } = await call(inProcess.url, '/v1/products/hang');
    expect(status).toBe(504);
    expect(body.error.code).toBe('UPSTREAM_TIMEOUT');
    expect(body.requestId).toEqual(expect.any(String));
  });

  it('answers 503 with Retry-After while the service is stopped, and serves again once it is back', async () => {
    ordersRunning = false;
    try {
      const { status, headers, body } = await call(inProcess.url, '/v1/products');
      expect(status).toBe(503);
      expect(headers.get('retry-after')).toMatch(/^\d+$/);
      expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
      await vi.waitFor(
        async () => {
          const health = await call(inProcess.url, '/health');
          expect(health.status).toBe(503);
          expect(health.body.checks.orders.status).toBe('down');
        },
        { timeout: 5000, interval: 100 },
      );
    } finally {
      ordersRunning = true;
    }
    await vi.waitFor(async () => expect((await call(inProcess.url, '/v1/products')).status).toBe(200), {
      timeout: 5000,
      interval: 100,
    });
  });

  it("probes the service's own readiness in process", async () => {
    users.ready = false;
    try {
      await vi.waitFor(
        async () => {
          const health = await call(inProcess.url, '/health');
          expect(health.body.checks['users-1'].status).toBe('down');
        },
        { timeout: 5000, interval: 100 },
      );
    } finally {
      users.ready = true;
    }
  });
});
