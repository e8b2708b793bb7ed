import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `/metrics` on the gateway and on each service, scraped after some traffic: every family an operator
 * needs is there — requests by route and status with their latency, rate-limit refusals, circuit
 * states, cache hits and misses, the outbox backlog and relay lag, consumer redeliveries and dead
 * letters, event-loop lag and database pool use.
 */

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${system.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const email = `metrics-${Date.now()}@example.com`;
  expect((await post('/v1/users', { email, name: 'Metrics', password: 'metrics password' })).status).toBe(
    201,
  );
  const token = (
    (await (await post('/v1/auth/login', { email, password: 'metrics password' })).json()) as {
      accessToken: string;
    }
  ).accessToken;
  for (let i = 0; i < 2; i++) {
    await fetch(`${system.url}/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    await fetch(`${system.url}/v1/products?limit=5`);
  }
});

afterAll(() => system?.close());

/** What every service (users, orders) must expose. */
const serviceMetrics = [
  'http_request_duration_seconds',
  'cache_hits_total',
  'cache_misses_total',
  'events_outbox_backlog',
  'events_relay_lag_seconds',
  'events_redeliveries_total',
  'events_dead_letters_total',
  'db_pool_connections',
  'db_pool_connections_idle',
  'db_pool_requests_waiting',
  'nodejs_eventloop_lag_seconds',
];

const families: Record<string, string[]> = {
  gateway: [
    'http_request_duration_seconds',
    'gateway_rate_limit_rejections_total',
    'gateway_rate_limit_store_errors_total',
    'gateway_circuit_breaker_state',
    'gateway_upstream_instance_up',
    'nodejs_eventloop_lag_seconds',
  ],
  users: serviceMetrics,
  orders: serviceMetrics,
};

describe(`/metrics on every process (${mode})`, () => {
  it('exposes every family an operator needs', async () => {
    const urls: Record<string, string> = {
      gateway: system.url,
      users: system.services.users.url,
      orders: system.services.orders.url,
    };
    const missing: string[] = [];
    for (const [process, names] of Object.entries(families)) {
      const response = await fetch(`${urls[process]}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await response.text();
      for (const name of names) if (!text.includes(`# TYPE ${name} `)) missing.push(`${process}: ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it('counts requests by route template and status, on the gateway and in the service', async () => {
    const users = await (await fetch(`${system.services.users.url}/metrics`)).text();
    expect(users).toMatch(
      /^http_request_duration_seconds_count\{[^}]*method="GET",route="\/v1\/users\/:id",status="200"[^}]*\} [1-9]/m,
    );
    expect(users).toMatch(
      /^http_request_duration_seconds_count\{[^}]*method="POST",route="\/v1\/users",status="201"[^}]*\} 1/m,
    );
    const gateway = await (await fetch(`${system.url}/metrics`)).text();
    expect(gateway).toMatch(/^http_request_duration_seconds_count\{[^}]*status="200"[^}]*\} [1-9]/m);
    expect(gateway).toMatch(
      /^gateway_circuit_breaker_state\{[^}]*instance="users-1",state="closed"[^}]*\} 1/m,
    );
    const orders = await (await fetch(`${system.services.orders.url}/metrics`)).text();
    expect(orders).toMatch(/^db_pool_connections(\{[^}]*\})? [1-9]/m);
  });
});
