import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';

/**
 * The console's traces through the gateway: every process keeps its latest spans, and an admin finds
 * a request by its `X-Request-Id`, then sees its whole trace (the gateway's request and its call
 * upstream, the service's request and its queries, the event handlers it caused). Admins only.
 */
const admin = { email: `traces-admin-${randomUUID()}@example.com`, password: 'traces admin password' };

let system: TestSystem;
let adminToken: string;
let memberToken: string;

beforeAll(async () => {
  system = await startSystem({ ADMIN_EMAIL: admin.email, ADMIN_PASSWORD: admin.password });
  adminToken = (await system.call('POST', '/v1/auth/login', { body: admin })).body.accessToken;
  const email = `traces-member-${randomUUID()}@example.com`;
  const password = 'member password 1';
  await system.call('POST', '/v1/users', { body: { email, name: 'Traced Member', password } });
  memberToken = (await system.call('POST', '/v1/auth/login', { body: { email, password } })).body.accessToken;
});
afterAll(async () => {
  await system?.close();
});

const get = (path: string, token?: string) => system.call('GET', path, { token });

describe(`traces (${mode})`, () => {
  it('finds a request by its X-Request-Id and shows its spans across the gateway, the service, the database and the consumers', async () => {
    const requestId = `trace-me-${randomUUID()}`;
    const email = `traced-${randomUUID()}@example.com`;
    const created = await system.fetch('/v1/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ email, name: 'Traced User', password: 'traced password' }),
    });
    expect(created.status).toBe(201);

    const list = await get(`/v1/traces?requestId=${requestId}`, adminToken);
    expect(list.status).toBe(200);
    expect(list.body.destination).toBe('store');
    expect(list.body.data).toHaveLength(1);
    const [request] = list.body.data;
    expect(request).toMatchObject({
      requestId,
      method: 'POST',
      route: '/v1/users',
      path: '/v1/users',
      status: 201,
    });

    // The orders service's consumer of user.created joins the trace once it has handled the event.
    let spans: { service: string; kind: string; name: string; spanId: string; parentId: string | null }[] =
      [];
    await eventually('the consumer span in the trace', async () => {
      const trace = await get(`/v1/traces/${request.traceId}`, adminToken);
      expect(trace.status).toBe(200);
      spans = trace.body.spans;
      return spans.some((span) => span.kind === 'consumer' && span.service === 'orders');
    });
    const find = (service: string, kind: string, name?: string) =>
      spans.find((span) => span.service === service && span.kind === kind && (!name || span.name === name));
    const gateway = find('gateway', 'server', 'POST /v1/users');
    const call = find('gateway', 'client', 'call users');
    const users = find('users', 'server', 'POST /v1/users');
    const consumer = find('orders', 'consumer', 'user.created process');
    expect(gateway?.parentId).toBeNull();
    expect(call?.parentId).toBe(gateway?.spanId);
    expect(users?.parentId).toBe(call?.spanId);
    // The insert ran inside the users service's request.
    expect(
      spans.some(
        (span) => span.name === 'db insert' && span.service === 'users' && span.parentId === users?.spanId,
      ),
    ).toBe(true);
    expect(consumer?.parentId).toBe(users?.spanId);
  });

  it('searches the latest requests by status and route', async () => {
    // Named by its caller (X-Request-Id), so kept whatever the sampling.
    const missing = await system.fetch('/v1/products/prd_01h455vb4pex5vsknk084sn02q', {
      headers: { 'x-request-id': `missing-${randomUUID()}` },
    });
    expect(missing.status).toBe(404);
    const byStatus = await get('/v1/traces?status=4xx&route=/products', adminToken);
    expect(byStatus.status).toBe(200);
    expect(byStatus.body.data[0]).toMatchObject({ route: '/v1/products/{id}', status: 404 });
    expect(
      byStatus.body.data.every((item: { status: number }) => item.status >= 400 && item.status < 500),
    ).toBe(true);
    const none = await get('/v1/traces?status=599', adminToken);
    expect(none.body.data).toEqual([]);

    const first = await get('/v1/traces?limit=1', adminToken);
    expect(first.body.pagination.hasMore).toBe(true);
    const next = await get(`/v1/traces?limit=1&cursor=${first.body.pagination.nextCursor}`, adminToken);
    expect(next.status).toBe(200);
    expect(next.body.data[0].traceId).not.toBe(first.body.data[0].traceId);
  });

  it('answers 404 for a trace no process kept', async () => {
    const unknown = await get(`/v1/traces/${'ab'.repeat(16)}`, adminToken);
    expect(unknown.status).toBe(404);
  });

  it('is for admins only: 401 without a token, 403 for a member; bad search input is a 400', async () => {
    expect((await get('/v1/traces')).status).toBe(401);
    expect((await get(`/v1/traces/${'ab'.repeat(16)}`)).status).toBe(401);
    expect((await get('/v1/traces', memberToken)).status).toBe(403);
    expect((await get(`/v1/traces/${'ab'.repeat(16)}`, memberToken)).status).toBe(403);
    expect((await get('/v1/traces?status=abc', adminToken)).status).toBe(400);
    expect((await get('/v1/traces?limit=1000', adminToken)).status).toBe(400);
    expect((await get('/v1/traces?unknown=1', adminToken)).status).toBe(400);
    expect((await get('/v1/traces?cursor=bm90LWEtY3Vyc29y', adminToken)).status).toBe(400);
    // A malformed id is a 404, as everywhere in the API.
    expect((await get('/v1/traces/not-a-trace-id', adminToken)).status).toBe(404);
  });
});
