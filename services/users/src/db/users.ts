import { ApiError, appendEvent, type Direction, keysetAfter, newUuid } from '@armature/platform';
import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import { userCreated } from '../events/user-created.ts';
import { userDeleted } from '../events/user-deleted.ts';
import { userUpdated } from '../events/user-updated.ts';
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

export type UserSortColumn = 'created_at' | 'name' | 'email';

export interface UserListRequest {
  filters: UserFilters;
  /** ORDER BY these, then by id in the direction of the last one. */
  sort: { column: UserSortColumn; direction: Direction }[];
  limit: number;
  /** Offset pagination: rows to skip. */
  offset?: number;
  /** Keyset pagination: the sort values (then the id) of the last row already seen. */
  after?: unknown[];
}

/**
 * One page of active users plus the total matching the filters. Returns up to `limit + 1` rows: the
 * extra one only says that there is more.
 */
export async function listUsers(
  db: Db,
  request: UserListRequest,
): Promise<{ rows: UserRow[]; total: number }> {
  const matching = (eb: ExpressionBuilder<UsersDatabase, 'active_users'>) => {
    const { role, email, createdAfter, createdBefore } = request.filters;
    const conditions = [];
    if (role !== undefined) conditions.push(eb('role', '=', role));
    if (email !== undefined) conditions.push(eb(sql<string>`lower(email)`, '=', email.toLowerCase()));
    if (createdAfter !== undefined) conditions.push(eb('created_at', '>=', createdAfter));
    if (createdBefore !== undefined) conditions.push(eb('created_at', '<', createdBefore));
    return eb.and(conditions);
  };
  const keyset = [
    ...request.sort.map(({ column, direction }) => ({ column: `active_users.${column}`, direction })),
    { column: 'active_users.id', direction: request.sort.at(-1)?.direction ?? ('asc' as Direction) },
  ];

  let page = db.selectFrom('active_users').select(userColumns).where(matching);
  if (request.after) {
    const after = request.after;
    page = page.where((eb) => keysetAfter(eb, keyset, after));
  }
  for (const { column, direction } of keyset) page = page.orderBy(sql.ref(column), direction);
  page = page.limit(request.limit + 1);
  if (request.offset) page = page.offset(request.offset);

  const [rows, count] = await Promise.all([
    page.execute(),
    db
      .selectFrom('active_users')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where(matching)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}

/** The values a keyset cursor carries for `row` under `sort` (the sort columns, then the id). */
export function keysetValues(row: UserRow, sort: UserListRequest['sort']): unknown[] {
  return [...sort.map(({ column }) => row[column]), row.id];
}
