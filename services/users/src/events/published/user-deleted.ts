import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { UserRow } from '../../db/users.ts';

/** `user.deleted`: the user was soft-deleted (the orders service cancels their open orders). */
export function userDeleted(user: UserRow): EventInput<'user.deleted', EventData<'user.deleted'>> {
  const userId = toPublicId('user', user.id);
  return {
    type: 'user.deleted',
    aggregateId: userId,
    data: { userId, version: user.version, deletedAt: isoTimestamp(user.updated_at) },
  };
}
