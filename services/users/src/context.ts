import type { CursorCodec, Principal } from '@armature/platform';
import type { Kysely } from 'kysely';
import type { SigningKeys } from './auth/signing-keys.ts';
import type { AccessTokens } from './auth/tokens.ts';
import type { UsersDatabase } from './db/schema.ts';
import type { UserRow } from './db/users.ts';

/** What the routes of the users service work with; built once in `app.ts`. */
export interface UsersContext {
  db: Kysely<UsersDatabase>;
  /**
   * The one single-user read (an active user by UUID, never the password hash). Every read of one
   * user goes through it, so a cache can wrap this function alone.
   */
  loadUser(id: string): Promise<UserRow | undefined>;
  /** Whether a verified token's user still exists (and still holds the admin role the token claims). */
  isActive(principal: Principal): Promise<boolean>;
  keys: SigningKeys;
  tokens: AccessTokens;
  cursors: CursorCodec;
}
