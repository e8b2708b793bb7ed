import { type ApiVersion, productFields, productSortKeys, productsOperations } from '@armature/contracts';
import {
  ApiError,
  type App,
  idempotencyClaim,
  idempotent,
  isoTimestamp,
  type ListSpec,
  listBody,
  readListQuery,
  registerOperation,
  requirePublicId,
  toPublicId,
} from '@armature/platform';
import { replyCached } from '@armature/platform/cache/index';
import { amountFromVersion, minorUnits, moneyView } from '@armature/platform/money';
import mergePatch from 'json-merge-patch';
import {
  changeProduct,
  findProduct,
  insertProduct,
  listProducts,
  type ProductSortKey,
  type ProductValues,
  replaceProduct,
  softDeleteProduct,
} from '../db/products.ts';
import type { ProductRow } from '../db/schema.ts';
import type { OrdersContext } from './routes.ts';

type Price = number | { amount: number; currency: string };
interface ProductInput {
  name: string;
  description?: string | null;
  price: Price;
  stock: number;
}

export function productView(row: ProductRow, version: ApiVersion) {
  return {
    id: toPublicId('product', row.id),
    name: row.name,
    description: row.description,
    price: moneyView(row.price_amount, row.currency, version),
    stock: row.stock,
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

const productList: ListSpec<ProductSortKey, ProductRow> = {
  name: 'products',
  sortKeys: productSortKeys,
  defaultSort: [{ key: 'name', direction: 'asc' }],
  fields: productFields,
  sortValue: (row, key) =>
    key === 'name' ? row.name : key === 'price' ? row.price_amount : row.created_at.toISOString(),
  idOf: (row) => row.id,
};

function invalid(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', { details: [{ field, message }] });
}

/** The stored values of a product body: v1 prices are decimals of the store's currency, v2 objects. */
function productValues(input: ProductInput, currency: string): ProductValues {
  let priceAmount: number | undefined;
  if (typeof input.price === 'number') {
    priceAmount = minorUnits(input.price, currency);
    if (priceAmount === undefined) throw invalid('price', `has more decimals than ${currency} allows`);
  } else {
    if (input.price.currency !== currency) {
      throw new ApiError('UNPROCESSABLE', {
        message: `Prices are kept in ${currency}`,
        details: [{ field: 'price.currency', message: `must be ${currency}` }],
      });
    }
    priceAmount = input.price.amount;
  }
  return {
    name: input.name,
    description: input.description ?? '',
    priceAmount,
    currency,
    stock: input.stock,
  };
}

/** A product as its body is written in a version: what a merge patch applies to. */
function productInput(row: ProductRow, version: ApiVersion): ProductInput {
  return {
    name: row.name,
    description: row.description,
    price: moneyView(row.price_amount, row.currency, version),
    stock: row.stock,
  };
}

/** `product:{id}:v{n}` (one per money shape) for an hour, tagged `product:{id}` and `products`. */
const productTtlMs = 60 * 60 * 1000;

/** Drops the cached copies of these products (both versions); after the change has committed. */
export function productsChanged(context: OrdersContext, ids: readonly string[]): Promise<boolean> {
  return context.cache.invalidate(ids.map((id) => `product:${id}`));
}

export function registerProductRoutes(app: App, context: OrdersContext): void {
  const { db, currency, cursors, cache } = context;
  const ops = productsOperations;

  registerOperation(app, ops.listProducts, async (request, _reply, version) => {
    const { query } = request;
    const list = readListQuery(query, productList, cursors);
    const price = (field: 'minPrice' | 'maxPrice') => {
      const value = query[field];
      if (value === undefined) return undefined;
      const amount = amountFromVersion(value, currency, version);
      if (amount === undefined) {
        throw invalid(
          field,
          version === 1 ? `has more decimals than ${currency} allows` : 'must be an integer',
        );
      }
      return amount;
    };
    const filters = { minPrice: price('minPrice'), maxPrice: price('maxPrice'), inStock: query.inStock };
    const page = await context.reads.run(request.principal?.userId, (reader) =>
      listProducts(reader, filters, list.page),
    );
    return listBody(page, list, productList, cursors, (row) => productView(row, version));
  });

  registerOperation(app, ops.getProduct, async (request, reply, version) => {
    const { id } = request.params;
    const uuid = requirePublicId('product', id);
    const load = async () => {
      const row = await findProduct(db, uuid);
      return row && productView(row, version);
    };
    const found = await replyCached(request, reply, cache, `product:${uuid}:v${version}`, load, {
      ttl: productTtlMs,
      tags: [`product:${uuid}`, 'products'],
      cacheControl: 'public, no-cache',
    });
    if (!found) throw new ApiError('NOT_FOUND');
    return reply;
  });

  registerOperation(app, ops.createProduct, async (request, reply, version) => {
    const values = productValues(request.body, currency);
    const claim = idempotencyClaim(request, 'createProduct', [values]);
    const outcome = await idempotent(db, claim, (trx) => insertProduct(trx, values));
    if (outcome.kind === 'mismatch') throw new ApiError('IDEMPOTENCY_CONFLICT');
    const view = productView(outcome.value, version);
    return reply.code(201).header('location', `/v${version}/products/${view.id}`).send(view);
  });

  registerOperation(app, ops.replaceProduct, async (request, _reply, version) => {
    const { id } = request.params;
    const uuid = requirePublicId('product', id);
    const row = await replaceProduct(db, uuid, productValues(request.body, currency));
    if (!row) throw new ApiError('NOT_FOUND');
    await productsChanged(context, [uuid]);
    return productView(row, version);
  });

  registerOperation(app, ops.updateProduct, async (request, _reply, version) => {
    const { id } = request.params;
    const uuid = requirePublicId('product', id);
    const patch = request.body;
    const row = await changeProduct(db, uuid, (current) => {
      const merged = mergePatch.apply(productInput(current, version), patch) as ProductInput;
      return productValues(merged, currency);
    });
    if (!row) throw new ApiError('NOT_FOUND');
    await productsChanged(context, [uuid]);
    return productView(row, version);
  });

  registerOperation(app, ops.deleteProduct, async (request, reply) => {
    const { id } = request.params;
    const uuid = requirePublicId('product', id);
    if (!(await softDeleteProduct(db, uuid))) throw new ApiError('NOT_FOUND');
    await productsChanged(context, [uuid]);
    return reply.code(204).send();
  });
}
