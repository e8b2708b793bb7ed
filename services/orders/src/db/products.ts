import { fetchPage, newUuid, orderColumns, type Page, type PageParams } from '@armature/platform';
import { type Kysely, sql } from 'kysely';
import type { OrdersDatabase, ProductRow } from './schema.ts';

type Db = Kysely<OrdersDatabase>;

export type ProductSortKey = 'name' | 'price' | 'createdAt';

export interface ProductFilters {
  /** Minor units. */
  minPrice?: number;
  maxPrice?: number;
  inStock?: boolean;
}

/** The fields a product is written with (create and replace). */
export interface ProductValues {
  name: string;
  description: string;
  priceAmount: number;
  currency: string;
  stock: number;
}

const sortColumns: Record<ProductSortKey, string> = {
  name: 'products.name',
  price: 'products.price_amount',
  createdAt: 'products.created_at',
};

/** One live product (soft-deleted ones are gone to every read). */
export async function findProduct(db: Db, id: string): Promise<ProductRow | undefined> {
  return db
    .selectFrom('products')
    .selectAll()
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** A page of the live catalog. */
export async function listProducts(
  db: Db,
  filters: ProductFilters,
  page: PageParams<ProductSortKey>,
): Promise<Page<ProductRow>> {
  let filtered = db.selectFrom('products').where('deleted_at', 'is', null);
  if (filters.minPrice !== undefined) filtered = filtered.where('price_amount', '>=', filters.minPrice);
  if (filters.maxPrice !== undefined) filtered = filtered.where('price_amount', '<=', filters.maxPrice);
  if (filters.inStock !== undefined) filtered = filtered.where('stock', filters.inStock ? '>' : '=', 0);
  const order = orderColumns(page.sort, sortColumns, 'products.id');
  return fetchPage(filtered, (query) => query.selectAll(), order, page);
}

export async function insertProduct(db: Db, values: ProductValues): Promise<ProductRow> {
  return db
    .insertInto('products')
    .values({
      id: newUuid(),
      name: values.name,
      description: values.description,
      price_amount: values.priceAmount,
      currency: values.currency,
      stock: values.stock,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function replaceProduct(
  db: Db,
  id: string,
  values: ProductValues,
): Promise<ProductRow | undefined> {
  return db
    .updateTable('products')
    .set({
      name: values.name,
      description: values.description,
      price_amount: values.priceAmount,
      currency: values.currency,
      stock: values.stock,
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Reads a live product under a row lock, lets `change` compute its new values from the current ones,
 * and writes them, so two patches of one product apply one after the other, never over each other.
 */
export async function changeProduct(
  db: Db,
  id: string,
  change: (current: ProductRow) => ProductValues,
): Promise<ProductRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('products')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!current) return undefined;
    return replaceProduct(trx, id, change(current));
  });
}

/** Soft delete: the product vanishes from every read; orders keep the lines that name it. */
export async function softDeleteProduct(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('products')
    .set({ deleted_at: sql`now()`, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Writes the given products unless a row with their id exists; returns how many were new. */
export async function insertMissingProducts(
  db: Db,
  products: Array<ProductValues & { id: string }>,
): Promise<number> {
  const inserted = await db
    .insertInto('products')
    .values(
      products.map((product) => ({
        id: product.id,
        name: product.name,
        description: product.description,
        price_amount: product.priceAmount,
        currency: product.currency,
        stock: product.stock,
      })),
    )
    .onConflict((conflict) => conflict.column('id').doNothing())
    .returning('id')
    .execute();
  return inserted.length;
}
