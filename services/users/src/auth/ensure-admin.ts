import { ApiError } from '@armature/platform';
import type { Kysely } from 'kysely';
import type { AdminAccount } from '../config.ts';
import type { UsersDatabase } from '../db/schema.ts';
import { createUser, findCredentials, updateUser } from '../db/users.ts';
import { hashPassword } from './passwords.ts';

export type EnsureAdminResult = 'created' | 'promoted' | 'unchanged';

/**
 * Makes sure `account.email` is an active admin; safe to run at every start and from several
 * instances at once. A missing user is created with the password (email marked verified); an
 * existing member is promoted; an existing admin is left alone. An existing user's password is never
 * changed, so a password changed later is not reset by the next restart.
 */
export async function ensureAdmin(
  db: Kysely<UsersDatabase>,
  account: AdminAccount,
): Promise<EnsureAdminResult> {
  for (let attempt = 0; ; attempt++) {
    const existing = await findCredentials(db, account.email);
    if (existing) {
      if (existing.role === 'admin') return 'unchanged';
      const { changed } = await updateUser(db, existing.id, undefined, () => ({ role: 'admin' }));
      return changed ? 'promoted' : 'unchanged';
    }
    try {
      await createUser(db, {
        email: account.email,
        name: 'Administrator',
        passwordHash: await hashPassword(account.password),
        role: 'admin',
        emailVerified: true,
      });
      return 'created';
    } catch (error) {
      // Another instance created it between our read and our insert: read it again, once.
      if (attempt === 0 && error instanceof ApiError && error.code === 'EMAIL_TAKEN') continue;
      throw error;
    }
  }
}
