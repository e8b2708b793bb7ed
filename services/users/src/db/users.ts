import {
  ApiError,
  appendEvent,
  fetchPage,
  newUuid,
  orderColumns,
  type Page,
  type PageParams,
} from '@armature/platform';
import { type Kysely, sql, type Transaction } from 'kysely';
import { userCreated } from '../events/published/user-created.ts';
import { userDeleted } from '../events/published/user-deleted.ts';
import { userUpdated } from '../events/published/user-updated.ts';
import type { Role, UsersDatabase } from './schema.ts';
import { inTransaction } from './transaction.ts';

type Db = Kysely<UsersDatabase>;

/** A user as read from the database, without the password hash (safe to cache and to return). */
export interface UserRow {
  id: string;
  email: string;
  email_verified_at: Date | null;
  name: string;
  role: Role;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export const userColumns = [
  'id',
  'email',
  'email_verified_at',
  'name',
  'role',
  'version',
  'created_at',
  'updated_at',
] as const;

/** What the service needs to check a login. */
export interface Credentials {
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
}

const UNIQUE_VIOLATION = '23505';
const EMAIL_INDEX = 'users_email_active_key';

function isEmailTaken(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: string; constraint?: string };
  return code === UNIQUE_VIOLATION && constraint === EMAIL_INDEX;
}

function emailTaken(): ApiError {
  return new ApiError('EMAIL_TAKEN', { details: [{ field: 'email', message: 'is already registered' }] });
}

/** The one single-user read: an active user by UUID. */
export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('active_users').select(userColumns).where('id', '=', id).executeTakeFirst();
}

export async function findCredentials(db: Db, email: string): Promise<Credentials | undefined> {
  const row = await db
    .selectFrom('active_users')
    .select(['id', 'email', 'role', 'password_hash'])
    .where(sql<string>`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  return row && { id: row.id, email: row.email, role: row.role, passwordHash: row.password_hash };
}

export interface NewUserInput {
  email: string;
  name: string;
  passwordHash: string;
  role: Role;
  emailVerified?: boolean;
}

/** Inserts a user and its `user.created` event; a duplicate email among active users is a 409 `EMAIL_TAKEN`. */
export async function createUser(db: Db, input: NewUserInput): Promise<UserRow> {
  try {
    return await inTransaction(db, async (trx) => {
      const user = await trx
        .insertInto('users')
        .values({
          id: newUuid(),
          email: input.email,
          name: input.name,
          password_hash: input.passwordHash,
          role: input.role,
          email_verified_at: input.emailVerified ? sql<Date>`now()` : null,
        })
        .returning(userColumns)
        .executeTakeFirstOrThrow();
      await appendEvent(trx, userCreated(user));
      return user;
    });
  } catch (error) {
    if (isEmailTaken(error)) throw emailTaken();
    throw error;
  }
}

export interface UserChanges {
  email?: string;
  name?: string;
  role?: Role;
}

/**
 * Changes a user under optimistic locking, in one transaction: the row is locked, its version
 * compared with `expectedVersion` (when given), `decide` turns the current row into the changes
 * (it may throw, e.g. a 403, which rolls everything back), and the version goes up by one when
 * anything differs (with a `user.updated` event). A stale version is a 409 `VERSION_CONFLICT` and
 * changes nothing.
 */
export async function updateUser(
  db: Db,
  id: string,
  expectedVersion: number | undefined,
  decide: (current: UserRow) => UserChanges,
): Promise<{ user: UserRow; changed: boolean }> {
  try {
    return await inTransaction(db, async (trx) => {
      const current = await lockActiveUser(trx, id);
      if (!current) throw new ApiError('NOT_FOUND');
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new ApiError('VERSION_CONFLICT', {
          details: [
            { field: 'version', message: `is ${expectedVersion}; the current version is ${current.version}` },
          ],
        });
      }
      const changes = differences(current, decide(current));
      if (Object.keys(changes).length === 0) return { user: current, changed: false };
      const user = await trx
        .updateTable('users')
        .set({
          ...changes,
          // A new address has not been verified.
          ...(changes.email !== undefined && changes.email.toLowerCase() !== current.email.toLowerCase()
            ? { email_verified_at: null }
            : {}),
          version: sql<number>`version + 1`,
          updated_at: sql<Date>`now()`,
        })
        .where('id', '=', id)
        .returning(userColumns)
        .executeTakeFirstOrThrow();
      await appendEvent(trx, userUpdated(user, changes));
      return { user, changed: true };
    });
  } catch (error) {
    if (isEmailTaken(error)) throw emailTaken();
    throw error;
  }
}

async function lockActiveUser(trx: Transaction<UsersDatabase>, id: string): Promise<UserRow | undefined> {
  return trx
    .selectFrom('users')
    .select(userColumns)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

function differences(current: UserRow, wanted: UserChanges): UserChanges {
  const changes: UserChanges = {};
  if (wanted.email !== undefined && wanted.email !== current.email) changes.email = wanted.email;
  if (wanted.name !== undefined && wanted.name !== current.name) changes.name = wanted.name;
  if (wanted.role !== undefined && wanted.role !== current.role) changes.role = wanted.role;
  return changes;
}

/**
 * Soft-deletes a user, writes its `user.deleted` event and revokes every refresh token they hold, in
 * one transaction. Returns the
 * deleted row, or undefined when there was no active user with this id.
 */
export async function softDeleteUser(db: Db, id: string): Promise<UserRow | undefined> {
  return inTransaction(db, async (trx) => {
    const user = await trx
      .updateTable('users')
      .set({ deleted_at: sql<Date>`now()`, updated_at: sql<Date>`now()`, version: sql<number>`version + 1` })
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .returning(userColumns)
      .executeTakeFirst();
    if (!user) return undefined;
    await appendEvent(trx, userDeleted(user));
    await trx
      .updateTable('sessions')
      .set({ revoked_at: sql<Date>`now()`, revoked_reason: 'user_deleted' })
      .where('user_id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
    return user;
  });
}

export interface UserFilters {
  role?: Role;
  email?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

export type UserSortKey = 'createdAt' | 'name' | 'email';

const sortColumns: Record<UserSortKey, string> = {
  createdAt: 'active_users.created_at',
  name: 'active_users.name',
  email: 'active_users.email',
};

/** One page of active users, by offset or after a keyset, and the total matching the filters. */
export async function listUsers(
  db: Db,
  filters: UserFilters,
  page: PageParams<UserSortKey>,
): Promise<Page<UserRow>> {
  let filtered = db.selectFrom('active_users');
  if (filters.role !== undefined) filtered = filtered.where('role', '=', filters.role);
  if (filters.email !== undefined)
    filtered = filtered.where(sql<string>`lower(email)`, '=', filters.email.toLowerCase());
  if (filters.createdAfter !== undefined) filtered = filtered.where('created_at', '>=', filters.createdAfter);
  if (filters.createdBefore !== undefined)
    filtered = filtered.where('created_at', '<', filters.createdBefore);
  const order = orderColumns(page.sort, sortColumns, 'active_users.id');
  return fetchPage(filtered, (query) => query.select(userColumns), order, page);
}
