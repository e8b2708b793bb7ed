import { PoisonEventError, parsePublicId } from '@armature/platform';

/** The UUID behind an event's `usr_…` id; an id that is not one can never be handled. */
export function userUuid(publicId: string): string {
  const id = parsePublicId('user', publicId);
  if (!id) throw new PoisonEventError(`"${publicId}" is not a user id`);
  return id;
}
