import type { TypedEvent } from '@armature/contracts';
import type { Transaction } from 'kysely';
import { applyCustomer } from '../../db/customers.ts';
import type { OrdersDatabase } from '../../db/schema.ts';
import { userUuid } from './user-id.ts';

/** `user.created` → a new active customer in the projection. */
export async function onUserCreated(trx: Transaction<OrdersDatabase>, event: TypedEvent<'user.created'>) {
  const { data } = event;
  await applyCustomer(trx, {
    id: userUuid(data.userId),
    email: data.email,
    name: data.name,
    status: 'active',
    version: data.version,
  });
}
