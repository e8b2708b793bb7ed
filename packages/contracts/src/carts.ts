import { type TSchema, Type } from '@sinclair/typebox';
import { PublicId, Timestamp } from './common.ts';
import { MoneyV1, MoneyV2 } from './money.ts';
import { defineOperations } from './operation.ts';
import { ProductId } from './products.ts';

/** Most units of one product a cart holds. */
export const maxCartQuantity = 1000;

const cartItem = (money: TSchema, name: string) =>
  Type.Object(
    {
      productId: ProductId,
      name: Type.String({ maxLength: 200 }),
      unitPrice: money,
      quantity: Type.Integer({ minimum: 1, maximum: maxCartQuantity }),
      lineTotal: money,
      available: Type.Boolean({
        description: 'Whether the product is still sold and has this many units in stock now',
      }),
    },
    { additionalProperties: false, $id: name, title: name },
  );

const cart = (money: TSchema, name: string) =>
  Type.Object(
    {
      userId: PublicId('usr'),
      items: Type.Array(cartItem(money, `${name}Item`), { maxItems: 1000 }),
      itemCount: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Units in the cart' }),
      total: money,
      createdAt: Timestamp,
      updatedAt: Timestamp,
    },
    { additionalProperties: false, $id: name, title: name },
  );

export const CartV1 = cart(MoneyV1, 'CartV1');
export const CartV2 = cart(MoneyV2, 'CartV2');

export const CartItemInput = Type.Object(
  {
    quantity: Type.Integer({
      minimum: 0,
      maximum: maxCartQuantity,
      description: 'Units wanted; 0 removes the product from the cart',
    }),
  },
  { additionalProperties: false, $id: 'CartItemInput', title: 'CartItemInput' },
);

const cartParams = Type.Object(
  { id: Type.String({ maxLength: 64, description: 'A `usr_…` id, or `me`' }) },
  { additionalProperties: false },
);
const cartItemParams = Type.Object(
  {
    id: Type.String({ maxLength: 64, description: 'A `usr_…` id, or `me`' }),
    productId: Type.String({ maxLength: 64, description: 'A `prd_…` id' }),
  },
  { additionalProperties: false },
);
const versioned = { v1: CartV1, v2: CartV2 };

export const cartsOperations = defineOperations({
  getCart: {
    operationId: 'getCart',
    service: 'orders',
    method: 'GET',
    path: '/users/{id}/cart',
    summary: "A user's cart (self or admin)",
    tags: ['Cart'],
    access: 'authenticated',
    params: cartParams,
    responses: { 200: versioned },
    errors: [401, 403, 404],
  },
  putCartItem: {
    operationId: 'putCartItem',
    service: 'orders',
    method: 'PUT',
    path: '/users/{id}/cart/items/{productId}',
    summary: 'Set how many units of a product the cart holds (0 removes it); returns the cart',
    tags: ['Cart'],
    access: 'authenticated',
    params: cartItemParams,
    body: CartItemInput,
    responses: { 200: versioned },
    errors: [400, 401, 403, 404, 415],
  },
  deleteCartItem: {
    operationId: 'deleteCartItem',
    service: 'orders',
    method: 'DELETE',
    path: '/users/{id}/cart/items/{productId}',
    summary: 'Take a product out of the cart',
    tags: ['Cart'],
    access: 'authenticated',
    params: cartItemParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
});
