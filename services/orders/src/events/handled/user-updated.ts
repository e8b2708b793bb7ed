import type { TypedEvent } from '@armature/contracts';
import type { Transaction } from 'kysely';
import { applyCustomer } from '../../db/customers.ts';
import type { OrdersDatabase } from '../../db/schema.ts';
import { userUuid } from './user-id.ts';

/** `user.updated` → the customer's new email and name (an older event than the last applied is ignored). */
export async function onUserUpdated(trx: Transaction<OrdersDatabase>, event: TypedEvent<'user.updated'>) {
  const { data } = event;
  await applyCustomer(trx, {
    id: userUuid(data.userId),
    email: data.email,
    name: data.name,
    status: 'active',
    version: data.version,
  });
}
