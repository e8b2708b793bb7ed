import { freshStore, mode } from '@armature/testing/databases';
import { afterAll, describe, expect, it } from 'vitest';
import { readOrdersConfig } from './config.ts';
import { seedDemoProducts } from './seed.ts';
import { startTestOrders } from './test-support/orders-service.ts';

describe(`demo data (${mode})`, async () => {
  const store = await freshStore('orders-seed');
  afterAll(() => store.drop());
  const config = readOrdersConfig({
    DATA_DIR: store.dataDir,
    ...(store.url ? { ORDERS_DATABASE_URL: store.url } : {}),
  });

  it('adds the demo catalog once, however often it runs', async () => {
    expect(await seedDemoProducts(config)).toEqual({ total: 8, created: 8 });
    expect(await seedDemoProducts(config)).toEqual({ total: 8, created: 0 });
  });

  it('leaves a seeded catalog a newcomer can browse and buy from', async () => {
    const orders = await startTestOrders('orders-seed-read', {
      DATA_DIR: store.dataDir,
      ...(store.url ? { ORDERS_DATABASE_URL: store.url } : {}),
    });
    try {
      const catalog = await orders.call('GET', '/v1/products?limit=100');
      expect(catalog.body.pagination.total).toBe(8);
      const grinder = catalog.body.data.find((product: { name: string }) => product.name === 'Hand grinder');
      expect(grinder).toMatchObject({ price: 89, stock: 25 });
      const member = await orders.minter.user();
      await orders.addToCart(member, grinder.id, 1);
      const placed = await orders.call('POST', '/v1/users/me/orders', { token: member.token });
      expect(placed.status).toBe(201);
    } finally {
      await orders.close();
    }
  });

  if (mode === 'pglite') {
    it('refuses to seed an embedded database another process has open', async () => {
      const busy = await freshStore('orders-seed-busy');
      const running = await startTestOrders('orders-seed-running', { DATA_DIR: busy.dataDir });
      try {
        await expect(seedDemoProducts(readOrdersConfig({ DATA_DIR: busy.dataDir }))).rejects.toThrow(
          /in use/,
        );
      } finally {
        await running.close();
        await busy.drop();
      }
    });
  }
});
