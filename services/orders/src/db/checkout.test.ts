import { ApiError, type Database, newUuid, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planOrder } from '../domain/checkout.ts';
import { setCartItem } from './carts.ts';
import { checkout, placePlannedOrder, readCheckoutCart } from './checkout.ts';
import { applyCustomer } from './customers.ts';
import { migrationsFolder } from './migrations.ts';
import { insertProduct, replaceProduct, softDeleteProduct } from './products.ts';
import type { OrdersDatabase } from './schema.ts';

let store: TestStore;
let database: Database<OrdersDatabase>;

beforeAll(async () => {
  store = await freshStore('orders');
  database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: store.url,
    dataDir: store.dataDir,
    migrationsFolder,
  });
});
afterAll(async () => {
  await database.close();
  await store.drop();
});

const beans = { name: 'Beans', description: '', priceAmount: 1450, currency: 'EUR', stock: 10 };

/** A shopper with two units of a new product in their cart, and the plan checkout would make of it. */
async function shopper() {
  const db = database.db;
  const userId = newUuid();
  const product = await insertProduct(db, beans);
  await setCartItem(db, userId, product.id, 2);
  const plan = planOrder(await readCheckoutCart(db, userId));
  const request = { userId, note: null, paymentMethod: null };
  return { userId, productId: product.id, plan, request };
}

/** What a checkout changes: the user's cart lines and orders, the product's stock, outbox rows. */
async function state(userId: string, productId: string) {
  const { rows } = await sql<{ lines: number; orders: number; stock: number; events: number }>`
    select (select count(*) from cart_items where user_id = ${userId})::int as lines,
           (select count(*) from orders where user_id = ${userId})::int as orders,
           (select stock from products where id = ${productId}) as stock,
           (select count(*) from outbox)::int as events`.execute(database.db);
  return rows[0]!;
}

describe(`checkout of a cart that changes after it was read (${mode})`, () => {
  it('places the plan when nothing changed: cart emptied, stock taken, one order and its event', async () => {
    const { userId, productId, plan, request } = await shopper();
    const before = await state(userId, productId);
    const order = await placePlannedOrder(database.db, request, plan);
    expect(order).toMatchObject({ user_id: userId, total_amount: 2900, item_count: 2, status: 'pending' });
    expect(await state(userId, productId)).toEqual({
      lines: 0,
      orders: 1,
      stock: 8,
      events: before.events + 1,
    });
  });

  const changes: Array<
    [string, (db: Database<OrdersDatabase>['db'], s: Awaited<ReturnType<typeof shopper>>) => Promise<unknown>]
  > = [
    ['a quantity changed in the cart', (db, s) => setCartItem(db, s.userId, s.productId, 3)],
    [
      'a line was added to the cart',
      async (db, s) => {
        const other = await insertProduct(db, { ...beans, name: 'Filter' });
        await setCartItem(db, s.userId, other.id, 1);
      },
    ],
    ['the price changed', (db, s) => replaceProduct(db, s.productId, { ...beans, priceAmount: 1500 })],
    ['the stock ran short', (db, s) => replaceProduct(db, s.productId, { ...beans, stock: 1 })],
    ['the product was removed', (db, s) => softDeleteProduct(db, s.productId)],
  ];

  for (const [what, change] of changes) {
    it(`changes nothing when ${what}; checking out again decides on the cart as it is now`, async () => {
      const s = await shopper();
      await change(database.db, s);
      const before = await state(s.userId, s.productId);
      expect(await placePlannedOrder(database.db, s.request, s.plan)).toBeUndefined();
      expect(await state(s.userId, s.productId)).toEqual(before);
      // The whole checkout reads again and either places the cart as it now is or refuses it.
      const outcome = await checkout(database.db, s.request).catch((error: Error) => error.name);
      if (typeof outcome === 'string') {
        expect(outcome).toBe('OutOfStockError');
      } else {
        expect(outcome.kind).toBe('fresh');
        expect(await state(s.userId, s.productId)).toMatchObject({ lines: 0, orders: 1 });
      }
    });
  }

  it('places the order once when the same cart is placed twice', async () => {
    const { userId, productId, plan, request } = await shopper();
    const [first, second] = await Promise.all([
      placePlannedOrder(database.db, request, plan),
      placePlannedOrder(database.db, request, plan),
    ]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await state(userId, productId)).toMatchObject({ lines: 0, orders: 1, stock: 8 });
  });

  it('refuses a customer the projection learned was deleted after the cart was read (404)', async () => {
    const { userId, productId, plan, request } = await shopper();
    await applyCustomer(database.db, { id: userId, email: null, name: null, status: 'deleted', version: 2 });
    const before = await state(userId, productId);
    const refusal = await placePlannedOrder(database.db, request, plan).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).code).toBe('NOT_FOUND');
    expect(await state(userId, productId)).toEqual(before);
  });
});
