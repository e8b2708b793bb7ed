import { type Kysely, sql } from 'kysely';
import type { RevokedReason, UsersDatabase } from './schema.ts';
import { inTransaction } from './transaction.ts';

type Db = Kysely<UsersDatabase>;

/** One active session (refresh-token family): its live token's row. */
export interface ActiveSessionRow {
  familyId: string;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  address: string | null;
}

/**
 * A user's sessions that can still refresh, newest login first (family ids are UUIDv7, so their order
 * is the order of logins): `limit + 1` rows after `offset` or before the family `before`, and the total.
 */
export async function listActiveSessions(
  db: Db,
  userId: string,
  page: { limit: number; offset?: number; before?: string },
  now: Date,
): Promise<{ rows: ActiveSessionRow[]; total: number }> {
  const active = db
    .selectFrom('sessions')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('rotated_at', 'is', null)
    .where('expires_at', '>', now);
  let query = active
    .select([
      'family_id as familyId',
      'created_at as lastUsedAt',
      'expires_at as expiresAt',
      'user_agent as userAgent',
      'address',
    ])
    .orderBy('family_id', 'desc')
    .limit(page.limit + 1);
  if (page.before !== undefined) query = query.where('family_id', '<', page.before);
  else if (page.offset) query = query.offset(page.offset);
  const [rows, count] = await Promise.all([
    query.execute(),
    active.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: count.total };
}

/**
 * Revokes sessions of a user: one family, or all of them, or all but `except`. Returns how many
 * families were still active (0: nothing to end).
 */
export async function endSessions(
  db: Db,
  userId: string,
  which: { familyId?: string; except?: string },
  reason: RevokedReason,
): Promise<number> {
  return inTransaction(db, async (trx) => {
    let update = trx
      .updateTable('sessions')
      .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (which.familyId !== undefined) update = update.where('family_id', '=', which.familyId);
    if (which.except !== undefined) update = update.where('family_id', '!=', which.except);
    const revoked = await update.returning(['family_id', 'rotated_at', 'expires_at']).execute();
    const now = Date.now();
    return new Set(
      revoked
        .filter((row) => row.rotated_at === null && row.expires_at.getTime() > now)
        .map((row) => row.family_id),
    ).size;
  });
}

/** The stored password hash of an active user, for checking the current password. */
export async function findPasswordHash(db: Db, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('active_users')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirst();
  return row?.password_hash;
}

/**
 * Sets a new password and ends every other session of the user (all but `keepFamilyId`, the
 * caller's), in one transaction.
 */
export async function changePassword(
  db: Db,
  userId: string,
  passwordHash: string,
  keepFamilyId: string | undefined,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
    await endSessions(trx, userId, { except: keepFamilyId }, 'password_changed');
  });
}
