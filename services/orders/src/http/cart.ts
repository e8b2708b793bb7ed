import { type ApiVersion, cartsOperations } from '@armature/contracts';
import {
  ApiError,
  type App,
  isoTimestamp,
  type RequestWithId,
  registerOperation,
  requirePublicId,
  targetUserId,
  toPublicId,
} from '@armature/platform';
import { moneyView } from '@armature/platform/money';
import { type CartContents, readCart, removeCartItem, setCartItem } from '../db/carts.ts';
import type { OrdersContext } from './routes.ts';

export function cartView(cart: CartContents, userId: string, currency: string, version: ApiVersion) {
  const cartCurrency = cart.items[0]?.currency ?? currency;
  let total = 0;
  let itemCount = 0;
  const items = cart.items.map((item) => {
    const lineAmount = item.unitAmount * item.quantity;
    total += lineAmount;
    itemCount += item.quantity;
    return {
      productId: toPublicId('product', item.productId),
      name: item.name,
      unitPrice: moneyView(item.unitAmount, item.currency, version),
      quantity: item.quantity,
      lineTotal: moneyView(lineAmount, item.currency, version),
      available: !item.deleted && item.stock >= item.quantity,
    };
  });
  return {
    userId: toPublicId('user', userId),
    items,
    itemCount,
    total: moneyView(total, cartCurrency, version),
    createdAt: isoTimestamp(cart.createdAt),
    updatedAt: isoTimestamp(cart.updatedAt),
  };
}

/** The UUID of the user a `/users/{id}/…` route acts on: the caller, or anyone for an admin. */
export function routeUser(request: RequestWithId): string {
  const { id } = request.params;
  return requirePublicId('user', targetUserId(request, id));
}

export function registerCartRoutes(app: App, context: OrdersContext): void {
  const { db, currency } = context;
  const ops = cartsOperations;

  registerOperation(app, ops.getCart, async (request, _reply, version) => {
    const userId = routeUser(request);
    return cartView(await readCart(db, userId), userId, currency, version);
  });

  registerOperation(app, ops.putCartItem, async (request, _reply, version) => {
    const userId = routeUser(request);
    const { productId } = request.params;
    const { quantity } = request.body;
    const cart = await setCartItem(db, userId, requirePublicId('product', productId), quantity);
    if (!cart) throw new ApiError('NOT_FOUND', { message: 'The product does not exist' });
    return cartView(cart, userId, currency, version);
  });

  registerOperation(app, ops.deleteCartItem, async (request, reply) => {
    const userId = routeUser(request);
    const { productId } = request.params;
    if (!(await removeCartItem(db, userId, requirePublicId('product', productId)))) {
      throw new ApiError('NOT_FOUND', { message: 'The product does not exist' });
    }
    return reply.code(204).send();
  });
}
