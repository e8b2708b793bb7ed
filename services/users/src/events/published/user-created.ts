import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { UserRow } from '../../db/users.ts';

/** `user.created`: a user registered (or was created by an admin or at start). */
export function userCreated(user: UserRow): EventInput<'user.created', EventData<'user.created'>> {
  const userId = toPublicId('user', user.id);
  return {
    type: 'user.created',
    aggregateId: userId,
    data: {
      userId,
      email: user.email,
      name: user.name,
      role: user.role,
      version: user.version,
      createdAt: isoTimestamp(user.created_at),
    },
  };
}
