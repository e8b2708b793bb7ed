import type { AddressInfo } from 'node:net';
import type { StartedService } from '@armature/platform';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from '../testing/fake-upstream.ts';
import { call, deadUrl, startTestGateway } from '../testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from '../testing/tokens.ts';

/**
 * The console's traffic read from a Prometheus server when one is configured. No Prometheus server
 * runs here: a stand-in answers its HTTP API (`/api/v1/query`) with the series a real one would hold
 * after scraping the gateway and the orders instance.
 */

let key: SigningKey;
let users: FakeUpstream;
let orders: FakeUpstream;
let prometheus: FastifyInstance;
let prometheusUrl: string;
const queries: string[] = [];
let gateway: StartedService;
let unreachable: StartedService;

function vector(ordersInstance: string) {
  const route = { service: 'orders', method: 'GET', route: '/v1/products/:id', instance: ordersInstance };
  const series = (name: string, labels: Record<string, string>, value: number) => ({
    metric: { __name__: name, job: 'armature', ...labels },
    value: [1_765_000_000, String(value)],
  });
  return [
    series('http_request_duration_seconds_count', { ...route, status: '200' }, 40),
    series('http_request_duration_seconds_count', { ...route, status: '500' }, 2),
    series('http_request_duration_seconds_sum', { ...route, status: '200' }, 1.5),
    series('http_request_duration_seconds_bucket', { ...route, status: '200', le: '0.1' }, 30),
    series('http_request_duration_seconds_bucket', { ...route, status: '200', le: '+Inf' }, 40),
    series('cache_hits_total', { service: 'orders', instance: ordersInstance }, 30),
    series('cache_misses_total', { service: 'orders', instance: ordersInstance }, 10),
    series('events_outbox_backlog', { service: 'orders', instance: ordersInstance }, 3),
    series(
      'gateway_rate_limit_rejections_total',
      { bucket: 'general', instance: 'gateway.internal:8080' },
      5,
    ),
  ];
}

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  orders = await startFakeUpstream({ name: 'orders' });
  prometheus = Fastify({ logger: false });
  prometheus.get('/api/v1/query', async (request) => {
    queries.push((request.query as { query: string }).query);
    return { status: 'success', data: { resultType: 'vector', result: vector(new URL(orders.url).host) } };
  });
  await prometheus.listen({ host: '127.0.0.1', port: 0 });
  prometheusUrl = `http://127.0.0.1:${(prometheus.server.address() as AddressInfo).port}`;
  const upstreams = { users: [users.url], orders: [orders.url] };
  gateway = await startTestGateway(upstreams, { CONSOLE_PROMETHEUS_URL: prometheusUrl });
  unreachable = await startTestGateway(upstreams, { CONSOLE_PROMETHEUS_URL: await deadUrl() });
});

afterAll(async () => {
  await Promise.all([gateway?.close(), unreachable?.close()]);
  await Promise.all([users?.close(), orders?.close(), prometheus?.close()]);
});

const admin = async () => ({
  authorization: `Bearer ${await signToken(key, { roles: ['member', 'admin'] })}`,
});

describe('traffic from a configured Prometheus server', () => {
  it('reads every counter from one query instead of each process, matching instances by host and port', async () => {
    const reply = await call(gateway.url, '/v1/traffic', { headers: await admin() });
    expect(reply.status).toBe(200);
    expect(reply.body.source).toBe('prometheus');
    expect(queries.at(-1)).toMatch(/^\{__name__=~".*http_request_duration_seconds_count.*"\}$/);
    const route = reply.body.routes.find((item: { route: string }) => item.route === '/v1/products/:id');
    expect(route).toMatchObject({
      service: 'orders',
      method: 'GET',
      requests: 42,
      errors: 2,
      durationSeconds: 1.5,
    });
    expect(reply.body.bucketBounds).toEqual([0.1]);
    expect(route.buckets).toEqual([30]);
    expect(reply.body.cache).toEqual({ hits: 30, misses: 10 });
    expect(reply.body.rateLimitRefusals).toEqual({ general: 5 });
    const instance = reply.body.instances.find((item: { instance: string }) => item.instance === 'orders-1');
    expect(instance).toMatchObject({ service: 'orders', outboxBacklog: 3, breaker: 'closed' });
    // The fake upstream does not scrape into Prometheus under the users service's address.
    const usersInstance = reply.body.instances.find(
      (item: { instance: string }) => item.instance === 'users-1',
    );
    expect(usersInstance.outboxBacklog).toBeNull();
  });

  it('answers without counters when the server does not answer, and is for admins only', async () => {
    const reply = await call(unreachable.url, '/v1/traffic', { headers: await admin() });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ source: 'prometheus', routes: [], cache: { hits: 0, misses: 0 } });
    const member = await call(gateway.url, '/v1/traffic', {
      headers: { authorization: `Bearer ${await signToken(key)}` },
    });
    expect(member.status).toBe(403);
  });
});
