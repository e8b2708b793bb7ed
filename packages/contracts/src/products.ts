import { type TSchema, Type } from '@sinclair/typebox';
import { displayNamePattern, IdParams, ListOf, ListQuery, PublicId, Timestamp } from './common.ts';
import { MoneyV2 } from './money.ts';
import { defineOperations } from './operation.ts';

export const ProductId = PublicId('prd');

/** Largest price accepted, in major units (v1) — a bound for validation, not a business rule. */
export const maxPrice = 1_000_000;

/** v1 price: a decimal in the store's currency with at most its minor digits (`19.99`). */
const PriceV1 = Type.Number({ minimum: 0, maximum: maxPrice, examples: [19.99] });
const PriceV2 = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, maximum: maxPrice * 1000, examples: [1999] }),
    currency: MoneyV2.properties.currency,
  },
  { additionalProperties: false },
);

const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: displayNamePattern,
  examples: ['Espresso cup'],
});
const Description = Type.String({ maxLength: 2000, examples: ['Porcelain, 90 ml'] });
const Stock = Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'Units available' });

const productProperties = (price: TSchema) => ({
  id: ProductId,
  name: Name,
  description: Description,
  price,
  stock: Stock,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const product = (price: TSchema, name: string) =>
  Type.Object(productProperties(price), { additionalProperties: false, $id: name, title: name });

export const ProductV1 = product(PriceV1, 'ProductV1');
export const ProductV2 = product(PriceV2, 'ProductV2');

/** A list item: `fields` may leave out anything but the id. */
const productListItem = (price: TSchema, name: string) => {
  const { id, ...rest } = productProperties(price);
  return Type.Object(
    { id, ...Type.Partial(Type.Object(rest)).properties },
    { additionalProperties: false, $id: name, title: name },
  );
};

const input = <Price extends TSchema>(price: Price, name: string) =>
  Type.Object(
    { name: Name, description: Type.Optional(Description), price, stock: Stock },
    { additionalProperties: false, $id: name, title: name },
  );

export const ProductInputV1 = input(PriceV1, 'ProductInputV1');
export const ProductInputV2 = input(PriceV2, 'ProductInputV2');

/** JSON Merge Patch of a product: members given replace, `description: null` clears it. */
const patch = <Price extends TSchema>(price: Price, name: string) =>
  Type.Object(
    {
      name: Type.Optional(Name),
      description: Type.Optional(Type.Union([Description, Type.Null()])),
      price: Type.Optional(price),
      stock: Type.Optional(Stock),
    },
    { additionalProperties: false, $id: name, title: name },
  );

export const ProductPatchV1 = patch(PriceV1, 'ProductPatchV1');
export const ProductPatchV2 = patch(Type.Partial(PriceV2), 'ProductPatchV2');

/** Sort keys and fields the product list accepts. */
export const productSortKeys = ['name', 'price', 'createdAt'] as const;
export const productFields = [
  'id',
  'name',
  'description',
  'price',
  'stock',
  'createdAt',
  'updatedAt',
] as const;

export const ProductListQuery = ListQuery({
  minPrice: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: maxPrice * 1000,
      description: 'Lowest price: a decimal in v1, integer minor units in v2',
    }),
  ),
  maxPrice: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: maxPrice * 1000,
      description: 'Highest price: a decimal in v1, integer minor units in v2',
    }),
  ),
  inStock: Type.Optional(
    Type.Boolean({ description: '`true`: only products with stock; `false`: only sold out' }),
  ),
});

/** `Idempotency-Key` on a POST: a retry with the same key returns the first response. */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'A client-chosen key (e.g. a UUID); retries with the same key create nothing twice',
    }),
  ),
});

const productParams = IdParams('prd');
const versioned = { v1: ProductV1, v2: ProductV2 };

export const productsOperations = defineOperations({
  listProducts: {
    operationId: 'listProducts',
    service: 'orders',
    method: 'GET',
    path: '/products',
    summary: 'List the catalog: price and stock filters, sort by name, price or createdAt, both paginations',
    tags: ['Products'],
    access: 'public',
    query: ProductListQuery,
    responses: {
      200: {
        v1: ListOf(productListItem(PriceV1, 'ProductListItemV1')),
        v2: ListOf(productListItem(PriceV2, 'ProductListItemV2')),
      },
    },
    errors: [400],
    list: true,
  },
  getProduct: {
    operationId: 'getProduct',
    service: 'orders',
    method: 'GET',
    path: '/products/{id}',
    summary: 'One product',
    description:
      'Served from the cache (`X-Cache`); its `ETag` in `If-None-Match` answers 304 without a body ' +
      'while the product is unchanged (stock included).',
    tags: ['Products'],
    access: 'public',
    params: productParams,
    responses: { 200: versioned, 304: null },
    errors: [404],
    cached: true,
  },
  createProduct: {
    operationId: 'createProduct',
    service: 'orders',
    method: 'POST',
    path: '/products',
    summary: 'Add a product to the catalog (admin)',
    tags: ['Products'],
    access: 'admin',
    headers: IdempotencyHeaders,
    body: { v1: ProductInputV1, v2: ProductInputV2 },
    responses: { 201: versioned },
    errors: [400, 401, 403, 409, 415, 422],
    idempotent: true,
  },
  replaceProduct: {
    operationId: 'replaceProduct',
    service: 'orders',
    method: 'PUT',
    path: '/products/{id}',
    summary: 'Replace a product (admin)',
    tags: ['Products'],
    access: 'admin',
    params: productParams,
    body: { v1: ProductInputV1, v2: ProductInputV2 },
    responses: { 200: versioned },
    errors: [400, 401, 403, 404, 415, 422],
  },
  updateProduct: {
    operationId: 'updateProduct',
    service: 'orders',
    method: 'PATCH',
    path: '/products/{id}',
    summary: 'Change some fields of a product with a JSON Merge Patch (admin)',
    tags: ['Products'],
    access: 'admin',
    params: productParams,
    body: { v1: ProductPatchV1, v2: ProductPatchV2 },
    responses: { 200: versioned },
    errors: [400, 401, 403, 404, 415, 422],
  },
  deleteProduct: {
    operationId: 'deleteProduct',
    service: 'orders',
    method: 'DELETE',
    path: '/products/{id}',
    summary: 'Remove a product from the catalog (admin; orders keep their captured lines)',
    tags: ['Products'],
    access: 'admin',
    params: productParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
});
