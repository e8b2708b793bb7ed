import { type Kysely, sql } from 'kysely';
import type { OrdersDatabase } from './schema.ts';

type Db = Kysely<OrdersDatabase>;

export interface CartContents {
  createdAt: Date;
  updatedAt: Date;
  /** In the order they were added. */
  items: Array<{
    productId: string;
    name: string;
    unitAmount: number;
    currency: string;
    quantity: number;
    stock: number;
    deleted: boolean;
  }>;
}

/** A user's cart with each line's current product; a user without one gets an empty cart made. */
export async function readCart(db: Db, userId: string): Promise<CartContents> {
  const { rows } = await sql<{
    createdAt: Date;
    updatedAt: Date;
    productId: string | null;
    name: string;
    unitAmount: number;
    currency: string;
    quantity: number;
    stock: number;
    deleted: boolean;
  }>`
    select c.created_at as "createdAt", c.updated_at as "updatedAt", i.product_id as "productId",
           p.name, p.price_amount as "unitAmount", p.currency, i.quantity, p.stock,
           p.deleted_at is not null as deleted
    from carts c
    left join cart_items i on i.user_id = c.user_id
    left join products p on p.id = i.product_id
    where c.user_id = ${userId}
    order by i.added_at, i.product_id`.execute(db);
  if (rows.length === 0) {
    const cart = await db
      .insertInto('carts')
      .values({ user_id: userId })
      .onConflict((conflict) => conflict.column('user_id').doUpdateSet({ user_id: userId }))
      .returning(['created_at', 'updated_at'])
      .executeTakeFirstOrThrow();
    return { createdAt: cart.created_at, updatedAt: cart.updated_at, items: [] };
  }
  const [first] = rows;
  return {
    createdAt: first!.createdAt,
    updatedAt: first!.updatedAt,
    items: rows
      .filter((row) => row.productId !== null)
      .map(({ createdAt: _c, updatedAt: _u, ...item }) => ({ ...item, productId: item.productId! })),
  };
}

/**
 * Sets how many units of a live product the cart holds (0 takes it out), making the cart if needed;
 * false when the product is unknown or no longer sold. One statement: the cart row and the line
 * are written only if the product exists.
 */
export async function setCartItem(
  db: Db,
  userId: string,
  productId: string,
  quantity: number,
): Promise<boolean> {
  if (quantity === 0) return removeCartItem(db, userId, productId);
  const { rows } = await sql<{ known: number }>`
    with product as (
      select id from products where id = ${productId} and deleted_at is null
    ),
    cart as (
      insert into carts (user_id) select ${userId} from product
      on conflict (user_id) do update set updated_at = now()
      returning user_id
    ),
    line as (
      insert into cart_items (user_id, product_id, quantity)
      select cart.user_id, product.id, ${quantity} from cart, product
      on conflict (user_id, product_id) do update set quantity = excluded.quantity
    )
    select count(*)::int as known from product`.execute(db);
  return rows[0]!.known > 0;
}

/**
 * Takes a product out of the cart; true when it was there or is a live product (removing what is
 * not in the cart changes nothing), false when the product is unknown.
 */
export async function removeCartItem(db: Db, userId: string, productId: string): Promise<boolean> {
  const { rows } = await sql<{ removed: number; known: number }>`
    with removed as (
      delete from cart_items where user_id = ${userId} and product_id = ${productId} returning product_id
    ),
    touched as (
      update carts set updated_at = now() where user_id = ${userId} and exists (select 1 from removed)
    )
    select (select count(*) from removed)::int as removed,
           (select count(*) from products where id = ${productId} and deleted_at is null)::int as known`.execute(
    db,
  );
  return rows[0]!.removed > 0 || rows[0]!.known > 0;
}
