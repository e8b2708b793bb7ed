import type { TypedEvent } from '@armature/contracts';
import type { Transaction } from 'kysely';
import { applyCustomer } from '../../db/customers.ts';
import { cancelOpenOrdersOfUser } from '../../db/orders.ts';
import type { OrdersDatabase } from '../../db/schema.ts';
import { userUuid } from './user-id.ts';

/**
 * `user.deleted` → the customer is marked deleted, their pending and paid orders are cancelled
 * (stock returned, `order.cancelled` events) and their cart is emptied, all in the transaction that
 * records the event as handled. Marking the customer first waits for any checkout of theirs still
 * in flight (it share-locks the row), so its order is cancelled too. Returns the cache entries and
 * tags made stale, to drop once the transaction has committed.
 */
export async function onUserDeleted(
  trx: Transaction<OrdersDatabase>,
  event: TypedEvent<'user.deleted'>,
): Promise<string[]> {
  const id = userUuid(event.data.userId);
  await applyCustomer(trx, { id, email: null, name: null, status: 'deleted', version: event.data.version });
  const { restockedProducts } = await cancelOpenOrdersOfUser(trx, id);
  // What the cache holds that this made stale: the user's order lists, the restocked products.
  return [`user:${id}`, ...restockedProducts.map((productId) => `product:${productId}`)];
}
