import { type Kysely, sql } from 'kysely';
import type { UsersDatabase } from './schema.ts';
import type { SessionClient } from './sessions.ts';
import { inTransaction } from './transaction.ts';

type Db = Kysely<UsersDatabase>;

export interface MfaFactor {
  /** As stored: sealed when JWT_KEY_ENCRYPTION_SECRET is set. */
  secret: string;
  confirmedAt: Date | null;
  lastUsedStep: number;
}

export async function findMfaFactor(db: Db, userId: string, lock = false): Promise<MfaFactor | undefined> {
  let query = db
    .selectFrom('mfa_factors')
    .select(['secret', 'confirmed_at as confirmedAt', 'last_used_step as lastUsedStep'])
    .where('user_id', '=', userId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row && { ...row, lastUsedStep: Number(row.lastUsedStep) };
}

/** Whether the user signs in with a second factor. */
export async function mfaEnabled(db: Db, userId: string): Promise<boolean> {
  const factor = await findMfaFactor(db, userId);
  return Boolean(factor?.confirmedAt);
}

export async function countRecoveryCodesLeft(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('mfa_recovery_codes')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('user_id', '=', userId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.count;
}

/** Stores a new, unconfirmed secret (replacing an unconfirmed one). False when a confirmed one exists. */
export async function saveMfaEnrolment(db: Db, userId: string, sealedSecret: string): Promise<boolean> {
  const result = await db
    .insertInto('mfa_factors')
    .values({ user_id: userId, secret: sealedSecret })
    .onConflict((conflict) =>
      conflict
        .column('user_id')
        .doUpdateSet({ secret: sealedSecret, last_used_step: 0, created_at: sql<Date>`now()` })
        .where('mfa_factors.confirmed_at', 'is', null),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Records `step` as the last accepted TOTP step, unless a code of that step or a later one was used. */
export async function useTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db
    .updateTable('mfa_factors')
    .set({ last_used_step: step })
    .where('user_id', '=', userId)
    .where('last_used_step', '<', step)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Spends a recovery code of the user; false when it is unknown or already used. */
export async function useRecoveryCode(db: Db, userId: string, codeHash: string): Promise<boolean> {
  const result = await db
    .updateTable('mfa_recovery_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Turns the factor on and replaces the recovery codes. */
export async function confirmMfa(db: Db, userId: string, recoveryCodeHashes: string[]): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .updateTable('mfa_factors')
      .set({ confirmed_at: sql<Date>`now()` })
      .where('user_id', '=', userId)
      .execute();
    await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    await trx
      .insertInto('mfa_recovery_codes')
      .values(recoveryCodeHashes.map((hash) => ({ code_hash: hash, user_id: userId })))
      .execute();
  });
}

/** Turns two-factor sign-in off: the secret, the recovery codes and open challenges go. */
export async function removeMfa(db: Db, userId: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx.deleteFrom('mfa_factors').where('user_id', '=', userId).execute();
    await trx.deleteFrom('mfa_recovery_codes').where('user_id', '=', userId).execute();
    await trx.deleteFrom('mfa_challenges').where('user_id', '=', userId).execute();
  });
}

export async function createMfaChallenge(
  db: Db,
  challenge: { tokenHash: string; userId: string; expiresAt: Date; client?: SessionClient },
): Promise<void> {
  await db
    .insertInto('mfa_challenges')
    .values({
      token_hash: challenge.tokenHash,
      user_id: challenge.userId,
      expires_at: challenge.expiresAt,
      user_agent: challenge.client?.userAgent ?? null,
      address: challenge.client?.address ?? null,
    })
    .execute();
}

export interface ChallengeRow {
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
  failures: number;
  client: SessionClient;
}

export async function lockMfaChallenge(db: Db, tokenHash: string): Promise<ChallengeRow | undefined> {
  const row = await db
    .selectFrom('mfa_challenges')
    .select(['user_id', 'expires_at', 'used_at', 'failures', 'user_agent', 'address'])
    .where('token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
  return (
    row && {
      userId: row.user_id,
      expiresAt: row.expires_at,
      usedAt: row.used_at,
      failures: row.failures,
      client: { userAgent: row.user_agent ?? undefined, address: row.address ?? undefined },
    }
  );
}

export async function settleMfaChallenge(
  db: Db,
  tokenHash: string,
  outcome: 'used' | 'failed',
): Promise<void> {
  await db
    .updateTable('mfa_challenges')
    .set(outcome === 'used' ? { used_at: sql<Date>`now()` } : { failures: sql<number>`failures + 1` })
    .where('token_hash', '=', tokenHash)
    .execute();
}

/** Deletes challenges that expired more than `graceSeconds` ago. */
export async function deleteExpiredMfaChallenges(db: Db, graceSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('mfa_challenges')
    .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
