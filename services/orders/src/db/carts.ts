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

interface CartRow {
  createdAt: Date;
  updatedAt: Date;
  productId: string | null;
  name: string;
  unitAmount: number;
  currency: string;
  quantity: number;
  stock: number;
  deleted: boolean;
}

function cartFromRows(rows: CartRow[]): CartContents {
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
 * A user's cart with each line's current product; a user without one gets an empty cart made.
 * (`read_cart` and `set_cart_item` are PL/pgSQL functions, migration 0002, for their cached plans.)
 */
export async function readCart(db: Db, userId: string): Promise<CartContents> {
  const { rows } = await sql<CartRow>`select * from read_cart(${userId})`.execute(db);
  return cartFromRows(rows);
}

/**
 * Sets how many units of a live product the cart holds (0 takes it out), making the cart if needed,
 * and returns the cart; undefined when the product is unknown or no longer sold. One statement.
 */
export async function setCartItem(
  db: Db,
  userId: string,
  productId: string,
  quantity: number,
): Promise<CartContents | undefined> {
  const { rows } =
    await sql<CartRow>`select * from set_cart_item(${userId}, ${productId}, ${quantity})`.execute(db);
  return rows.length === 0 ? undefined : cartFromRows(rows);
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
