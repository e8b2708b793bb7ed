import type { Kysely, Selectable } from 'kysely';
import type { ApiKeysTable, UsersDatabase } from './schema.ts';

type Db = Kysely<UsersDatabase>;
export type ApiKeyRow = Selectable<ApiKeysTable>;

/** A user's keys still usable (not revoked, not expired), newest first. */
export function listApiKeys(db: Db, userId: string, now: Date): Promise<ApiKeyRow[]> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .orderBy('id', 'desc')
    .execute();
}

export async function countApiKeys(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function insertApiKey(
  db: Db,
  key: Omit<
    ApiKeyRow,
    'previous_hash' | 'previous_expires_at' | 'last_used_at' | 'revoked_at' | 'created_at' | 'updated_at'
  >,
): Promise<ApiKeyRow> {
  return db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow();
}

/** A key of the user, not revoked; undefined when there is none. */
export function findApiKey(db: Db, userId: string, id: string): Promise<ApiKeyRow | undefined> {
  return db
    .selectFrom('api_keys')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A new secret for a key: the current hash becomes the previous one until `graceUntil`. */
export function rotateApiKey(
  db: Db,
  userId: string,
  id: string,
  change: { prefix: string; keyHash: string; graceUntil: Date; now: Date },
): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable('api_keys')
    .set((eb) => ({
      previous_hash: eb.ref('key_hash'),
      previous_expires_at: change.graceUntil,
      key_hash: change.keyHash,
      prefix: change.prefix,
      updated_at: change.now,
    }))
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function revokeApiKey(db: Db, userId: string, id: string, now: Date): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: now, updated_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** The key whose current (or, within its grace, previous) secret has this hash, with its user's role. */
export function findKeyBySecretHash(
  db: Db,
  hash: string,
): Promise<(ApiKeyRow & { email: string; role: 'member' | 'admin' }) | undefined> {
  return (
    db
      .selectFrom('api_keys')
      // Only active users: a deleted user's keys are refused with the user.
      .innerJoin('active_users', 'active_users.id', 'api_keys.user_id')
      .selectAll('api_keys')
      .select(['active_users.email', 'active_users.role'])
      .where((eb) => eb.or([eb('api_keys.key_hash', '=', hash), eb('api_keys.previous_hash', '=', hash)]))
      .executeTakeFirst()
  );
}

export async function touchApiKey(db: Db, id: string, now: Date): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}
