import { appendEvent } from '@armature/platform';
import { queueMail } from '@armature/platform/mail/index';
import { type Kysely, sql } from 'kysely';
import { assertLinkTokenUsable } from '../domain/accounts.ts';
import type { MailContent } from '../domain/mails.ts';
import { userUpdated } from '../events/published/user-updated.ts';
import type { AccountTokenPurpose, UsersDatabase } from './schema.ts';
import { inTransaction } from './transaction.ts';
import { type UserRow, userColumns } from './users.ts';

type Db = Kysely<UsersDatabase>;

/**
 * Stores a link token's hash and queues the mail that carries the token, in one transaction (the
 * caller's, when it passes one): the mail goes out exactly when the token exists.
 */
export async function issueLinkToken(
  db: Db,
  token: {
    purpose: AccountTokenPurpose;
    userId: string;
    email: string;
    tokenHash: string;
    expiresAt: Date;
    mail: MailContent;
  },
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .insertInto('account_tokens')
      .values({
        token_hash: token.tokenHash,
        purpose: token.purpose,
        user_id: token.userId,
        email: token.email,
        expires_at: token.expiresAt,
      })
      .execute();
    await queueMail(trx, { to: token.email, ...token.mail });
  });
}

/** Locks a token of `purpose` and the active user it belongs to, and checks it may be spent at `now`. */
async function lockUsableToken(trx: Db, purpose: AccountTokenPurpose, tokenHash: string, now: Date) {
  const token = await trx
    .selectFrom('account_tokens')
    .select(['user_id', 'email', 'expires_at', 'used_at'])
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .forUpdate()
    .executeTakeFirst();
  const user = token
    ? await trx
        .selectFrom('users')
        .select(userColumns)
        .where('id', '=', token.user_id)
        .where('deleted_at', 'is', null)
        .forUpdate()
        .executeTakeFirst()
    : undefined;
  assertLinkTokenUsable(
    token && { expiresAt: token.expires_at, usedAt: token.used_at, email: token.email },
    user,
    now,
  );
  return user!;
}

/**
 * Spends a password-reset token: sets the new password, spends every reset token of the user (an
 * older mail must not reset it again), and revokes every session, in one transaction. Throws
 * `InvalidLinkTokenError` when the token cannot be spent. Returns the user's UUID.
 */
export async function resetPassword(
  db: Db,
  tokenHash: string,
  passwordHash: string,
  now: Date,
): Promise<string> {
  return inTransaction(db, async (trx) => {
    const user = await lockUsableToken(trx, 'password_reset', tokenHash, now);
    await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
    await trx
      .updateTable('account_tokens')
      .set({ used_at: sql<Date>`now()` })
      .where('user_id', '=', user.id)
      .where('purpose', '=', 'password_reset')
      .where('used_at', 'is', null)
      .execute();
    await trx
      .updateTable('sessions')
      .set({ revoked_at: sql<Date>`now()`, revoked_reason: 'password_reset' })
      .where('user_id', '=', user.id)
      .where('revoked_at', 'is', null)
      .execute();
    return user.id;
  });
}

/**
 * Spends a verification token: marks the address it was sent to verified (a new version, with a
 * `user.updated` event naming no changed field) and spends the token. Throws `InvalidLinkTokenError`
 * when the token cannot be spent, which includes a token sent to an address the user has since left.
 */
export async function verifyEmail(db: Db, tokenHash: string, now: Date): Promise<UserRow> {
  return inTransaction(db, async (trx) => {
    const current = await lockUsableToken(trx, 'email_verification', tokenHash, now);
    await trx
      .updateTable('account_tokens')
      .set({ used_at: sql<Date>`now()` })
      .where('token_hash', '=', tokenHash)
      .execute();
    if (current.email_verified_at !== null) return current;
    const user = await trx
      .updateTable('users')
      .set({
        email_verified_at: sql<Date>`now()`,
        version: sql<number>`version + 1`,
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', current.id)
      .returning(userColumns)
      .executeTakeFirstOrThrow();
    await appendEvent(trx, userUpdated(user, {}));
    return user;
  });
}

/** Deletes link tokens that expired more than `graceSeconds` ago; returns how many. */
export async function deleteExpiredLinkTokens(db: Db, graceSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('account_tokens')
    .where('expires_at', '<', sql<Date>`now() - make_interval(secs => ${graceSeconds})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
