import type { EventData } from '@armature/contracts';
import { type EventInput, isoTimestamp, toPublicId } from '@armature/platform';
import type { UserChanges, UserRow } from '../../db/users.ts';

/** `user.updated`: the user's email, name or role changed (the fields named in `changed`). */
export function userUpdated(
  user: UserRow,
  changes: UserChanges,
): EventInput<'user.updated', EventData<'user.updated'>> {
  const userId = toPublicId('user', user.id);
  return {
    type: 'user.updated',
    aggregateId: userId,
    data: {
      userId,
      email: user.email,
      name: user.name,
      role: user.role,
      version: user.version,
      updatedAt: isoTimestamp(user.updated_at),
      changed: (['email', 'name', 'role'] as const).filter((field) => changes[field] !== undefined),
    },
  };
}
