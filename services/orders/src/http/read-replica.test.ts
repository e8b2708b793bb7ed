import { createTokenVerifier } from '@armature/platform';
import {
  eventually,
  type ReplicaCluster,
  readRoutingFigures,
  startReplicaCluster,
  startThrowawayRedis,
  type ThrowawayRedis,
} from '@armature/testing/replica-cluster';
import { type TestUser, testAudience, testIssuer } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrdersService, startOrdersService } from '../app.ts';
import { readOrdersConfig } from '../config.ts';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

/**
 * The orders service with `ORDERS_READ_DATABASE_URL` on a real streaming replica: a throwaway
 * primary and its `pg_basebackup -R` copy, started by the suite on their own ports (both test
 * passes). Replica lag is made by pausing WAL replay; an outage by killing the replica.
 */

let cluster: ReplicaCluster;
let redis: ThrowawayRedis;
let orders: TestOrders;
let second: OrdersService | undefined;
let member: TestUser;

/** Both instances: the same primary, replica and Redis (the cache they share). */
const env = () => ({
  ORDERS_DATABASE_URL: cluster.primaryUrl('armature_orders_replica'),
  ORDERS_READ_DATABASE_URL: cluster.replicaUrl('armature_orders_replica'),
  REDIS_URL: redis.url,
  READ_REPLICA_RETRY_MS: '300',
  READ_YOUR_WRITES_SECONDS: '3600',
});

const names = (reply: { body: { data: { name: string }[] } }) =>
  reply.body.data.map((product) => product.name);

beforeAll(async () => {
  cluster = await startReplicaCluster();
  await cluster.createDatabase('armature_orders_replica');
  redis = await startThrowawayRedis();
  orders = await startTestOrders('orders-replica', env());
  member = await orders.minter.user();
}, 180_000);

afterAll(async () => {
  await second?.close();
  await orders?.close();
  await cluster?.close();
  await redis?.close();
});

describe('orders with a read replica', () => {
  it('serves lists from the replica; a caller reads their own writes at once, others may see them late', async () => {
    const stock = await orders.product({ name: 'Replicated lamp' });
    await cluster.caughtUp();
    const before = await readRoutingFigures(orders.url);
    expect(names(await orders.call('GET', '/v1/products?limit=100'))).toContain('Replicated lamp');
    expect((await readRoutingFigures(orders.url)).replica).toBe(before.replica + 1);

    await cluster.pauseReplay();
    try {
      // The admin adds a product while the replica lags: an anonymous list does not show it yet…
      await orders.product({ name: 'Lamp added during the lag' });
      expect(names(await orders.call('GET', '/v1/products?limit=100'))).not.toContain(
        'Lamp added during the lag',
      );
      // …the admin, who just wrote, sees it.
      expect(
        names(await orders.call('GET', '/v1/products?limit=100', { token: orders.admin.token })),
      ).toContain('Lamp added during the lag');

      // A member checks out during the lag and reads the order back at once, alone and in their list.
      await orders.addToCart(member, stock.id, 1);
      const created = await orders.call('POST', '/v1/users/me/orders', { token: member.token });
      expect(created.status).toBe(201);
      const read = await orders.call('GET', `/v1/orders/${created.body.id}`, { token: member.token });
      expect(read.status).toBe(200);
      expect(read.body.version).toBe(created.body.version);
      const items = await orders.call('GET', `/v1/orders/${created.body.id}/items`, { token: member.token });
      expect(items.body.data).toHaveLength(1);
      const list = await orders.call('GET', '/v1/orders', { token: member.token });
      expect(list.body.data.map((order: { id: string }) => order.id)).toContain(created.body.id);

      // A retried create during the lag replays the first answer (idempotency keys live on the primary).
      const body = { name: 'Idempotent lamp', price: 12, stock: 3 };
      const headers = { 'idempotency-key': 'lamp-during-lag' };
      const first = await orders.call('POST', '/v1/products', { token: orders.admin.token, body, headers });
      const retry = await orders.call('POST', '/v1/products', { token: orders.admin.token, body, headers });
      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.body.id).toBe(first.body.id);

      // Another member's view of the catalog is the replica's: still without the new lamp.
      const other = await orders.minter.user();
      expect(names(await orders.call('GET', '/v1/products?limit=100', { token: other.token }))).not.toContain(
        'Lamp added during the lag',
      );
    } finally {
      await cluster.resumeReplay();
    }
    await cluster.caughtUp();
    expect(names(await orders.call('GET', '/v1/products?limit=100'))).toContain('Lamp added during the lag');
  });

  it('reads from the primary while the replica is down, counts it, and goes back to the replica', async () => {
    const before = await readRoutingFigures(orders.url);
    await cluster.stopReplica();
    try {
      const list = await orders.call('GET', '/v1/products?limit=100');
      expect(list.status).toBe(200);
      expect(names(list)).toContain('Lamp added during the lag');
      const during = await readRoutingFigures(orders.url);
      expect(during.fallbacks.unavailable ?? 0).toBeGreaterThan(before.fallbacks.unavailable ?? 0);
      expect(during.primary).toBeGreaterThan(before.primary);
      // Still served, but reported: the replica is down, the service degraded, not unhealthy.
      const health = await orders.call('GET', '/health');
      expect(health.status).toBe(200);
      expect(health.body.status).toBe('degraded');
      expect(health.body.checks['database-replica'].status).toBe('down');
    } finally {
      await cluster.startReplica();
    }
    await eventually('product lists served by the replica again', async () => {
      const { replica } = await readRoutingFigures(orders.url);
      const list = await orders.call('GET', '/v1/products?limit=100');
      return list.status === 200 && (await readRoutingFigures(orders.url)).replica > replica;
    });
    expect((await orders.call('GET', '/health')).body.status).toBe('healthy');
  });

  it('keeps a caller on the primary on every instance after their write, through the shared cache', async () => {
    second = await startOrdersService(
      readOrdersConfig({
        ...env(),
        DATA_DIR: '.',
        ORDERS_PORT: '0',
        LOG_LEVEL: 'silent',
        USERS_SERVICE_URLS: 'http://127.0.0.1:9',
      }),
      {
        verifier: createTokenVerifier({
          jwks: orders.minter.getKey,
          issuer: testIssuer,
          audience: testAudience,
        }),
      },
    );
    const product = await orders.product({ name: 'Second-instance lamp' });
    const buyer = await orders.minter.user();
    await cluster.caughtUp();
    await cluster.pauseReplay();
    try {
      // The buyer checks out on the first instance while the replica lags…
      await orders.addToCart(buyer, product.id, 1);
      const created = await orders.call('POST', '/v1/users/me/orders', { token: buyer.token });
      expect(created.status).toBe(201);
      // …and the gateway sends their next read to the second one: it reads the primary too.
      const response = await fetch(`${second.url}/v1/orders`, {
        headers: { authorization: `Bearer ${buyer.token}` },
      });
      expect(response.status).toBe(200);
      const list = (await response.json()) as { data: { id: string }[] };
      expect(list.data.map((order) => order.id)).toContain(created.body.id);
    } finally {
      await cluster.resumeReplay();
    }
  });
});
