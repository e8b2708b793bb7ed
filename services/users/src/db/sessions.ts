import { newUuid } from '@armature/platform';
import { type Kysely, sql } from 'kysely';
import type { Role, UsersDatabase } from './schema.ts';
import { inTransaction } from './transaction.ts';

type Db = Kysely<UsersDatabase>;

export interface SessionOwner {
  id: string;
  email: string;
  role: Role;
}

/** The client that logged in, as its sessions list shows it. */
export interface SessionClient {
  userAgent?: string;
  address?: string;
}

/** Starts a login: the first refresh token of a new family. Returns the family (the session's id). */
export async function startSession(
  db: Db,
  session: { userId: string; tokenHash: string; expiresAt: Date; client?: SessionClient },
): Promise<string> {
  const familyId = newUuid();
  await db
    .insertInto('sessions')
    .values({
      jti: newUuid(),
      user_id: session.userId,
      family_id: familyId,
      token_hash: session.tokenHash,
      expires_at: session.expiresAt,
      user_agent: session.client?.userAgent ?? null,
      address: session.client?.address ?? null,
    })
    .execute();
  return familyId;
}

export type RotationResult =
  | { kind: 'rotated'; user: SessionOwner; familyId: string }
  /** Unknown, expired, revoked, or its user is gone. */
  | { kind: 'invalid' }
  /** The token had already been rotated: someone replayed it, so its family has been revoked. */
  | { kind: 'reused' };

/**
 * Trades a refresh token for its successor, in one transaction. The row is locked first, so of two
 * concurrent refreshes with one token exactly one rotates; the other sees a rotated token, treats it
 * as reuse, and revokes the family (and that revocation commits: the caller then answers 401).
 */
export async function rotateSession(
  db: Db,
  presented: { tokenHash: string },
  next: { tokenHash: string; expiresAt: Date },
): Promise<RotationResult> {
  return inTransaction(db, async (trx): Promise<RotationResult> => {
    const session = await trx
      .selectFrom('sessions')
      .select([
        'jti',
        'user_id',
        'family_id',
        'expires_at',
        'rotated_at',
        'revoked_at',
        'user_agent',
        'address',
      ])
      .where('token_hash', '=', presented.tokenHash)
      .forUpdate()
      .executeTakeFirst();
    if (!session || session.revoked_at !== null) return { kind: 'invalid' };
    if (session.rotated_at !== null) {
      await revokeFamilyIn(trx, session.family_id, 'reuse');
      return { kind: 'reused' };
    }
    if (session.expires_at.getTime() <= Date.now()) return { kind: 'invalid' };
    const user = await trx
      .selectFrom('active_users')
      .select(['id', 'email', 'role'])
      .where('id', '=', session.user_id)
      .executeTakeFirst();
    if (!user) return { kind: 'invalid' };

    const jti = newUuid();
    await trx
      .insertInto('sessions')
      .values({
        jti,
        user_id: session.user_id,
        family_id: session.family_id,
        token_hash: next.tokenHash,
        expires_at: next.expiresAt,
        user_agent: session.user_agent,
        address: session.address,
      })
      .execute();
    await trx
      .updateTable('sessions')
      .set({ rotated_at: sql<Date>`now()`, replaced_by: jti })
      .where('jti', '=', session.jti)
      .execute();
    return { kind: 'rotated', user, familyId: session.family_id };
  });
}

/**
 * Logout: revokes the presented token and every other token of its family. Returns false when the
 * token is unknown; revoking an already revoked family again is harmless (logout is idempotent).
 */
export async function revokeSessionFamily(db: Db, tokenHash: string): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const session = await trx
      .selectFrom('sessions')
      .select('family_id')
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!session) return false;
    await revokeFamilyIn(trx, session.family_id, 'logout');
    return true;
  });
}

async function revokeFamilyIn(db: Db, familyId: string, reason: 'logout' | 'reuse'): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Deletes refresh tokens that expired more than `graceSeconds` ago; returns how many. */
export async function deleteExpiredSessions(db: Db, graceSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('sessions')
    .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
