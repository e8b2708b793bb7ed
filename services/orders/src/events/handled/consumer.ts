import { UserCreatedData, UserDeletedData, UserUpdatedData } from '@armature/contracts';
import type { ConsumerSpec, EventHandler, EventLog } from '@armature/platform';
import type { Cache } from '@armature/platform/cache/index';
import type { DeletedCustomers } from '../../db/customers.ts';
import type { OrdersDatabase } from '../../db/schema.ts';
import { onUserCreated } from './user-created.ts';
import { onUserDeleted } from './user-deleted.ts';
import { userUuid } from './user-id.ts';
import { onUserUpdated } from './user-updated.ts';

/**
 * The orders service's durable consumer: `user.*` events, checked against their contract schemas.
 * What a handler made stale in the cache is dropped once its transaction has committed, and a
 * deletion is noted in `deletedCustomers` (this instance then refuses the user's tokens at once).
 */
export function usersEventsConsumer(
  cache: Cache,
  log: EventLog,
  deletedCustomers?: DeletedCustomers,
): ConsumerSpec<OrdersDatabase> {
  const stale = new Map<string, string[]>();
  const onDeleted: EventHandler<OrdersDatabase> = async (trx, event) => {
    stale.set(event.id, await onUserDeleted(trx, event as Parameters<typeof onUserDeleted>[1]));
  };
  return {
    name: 'orders',
    handlers: {
      'user.created': onUserCreated as EventHandler<OrdersDatabase>,
      'user.updated': onUserUpdated as EventHandler<OrdersDatabase>,
      'user.deleted': onDeleted,
    },
    schemas: {
      'user.created': UserCreatedData,
      'user.updated': UserUpdatedData,
      'user.deleted': UserDeletedData,
    },
    afterCommit: async (event) => {
      if (event.type === 'user.deleted') {
        deletedCustomers?.noteDeleted(userUuid((event.data as { userId: string }).userId));
      }
      const names = stale.get(event.id);
      stale.delete(event.id);
      if (!names) return;
      await cache
        .invalidate(names)
        .catch((error) => log.warn({ err: error, names }, 'cache invalidation failed'));
    },
  };
}
