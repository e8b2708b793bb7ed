import { accountsOperations } from '@armature/contracts';
import { ApiError, registerOperation, requirePublicId, targetUserId } from '@armature/platform';
import { mailLink } from '@armature/platform/mail/index';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { hashLinkToken, newLinkToken } from '../auth/link-tokens.ts';
import type { UsersContext } from '../context.ts';
import { issueLinkToken, verifyEmail } from '../db/account-tokens.ts';
import type { UsersDatabase } from '../db/schema.ts';
import type { UserRow } from '../db/users.ts';
import { EmailAlreadyVerifiedError } from '../domain/accounts.ts';
import { emailVerificationMail } from '../domain/mails.ts';
import { refusing } from './account-refusals.ts';

/** Where a verification link leads: the client's page that confirms the address. */
export const verifyEmailPath = '/verify-email';

/**
 * Queues a verification mail to the user's current address, with a new token, in `db` (pass the
 * transaction of a registration or a change of email: the mail goes exactly when that commits).
 */
export async function sendVerificationMail(
  context: UsersContext,
  db: Kysely<UsersDatabase>,
  user: UserRow,
): Promise<void> {
  const { token, hash } = newLinkToken();
  const ttlSeconds = context.accounts.emailVerificationTtlSeconds;
  await issueLinkToken(db, {
    purpose: 'email_verification',
    userId: user.id,
    email: user.email,
    tokenHash: hash,
    expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    mail: emailVerificationMail({
      name: user.name,
      link: mailLink(context.mail.config, verifyEmailPath, token),
      ttlSeconds,
    }),
  });
}

export function registerEmailVerificationRoutes(app: FastifyInstance, context: UsersContext): void {
  registerOperation(app, accountsOperations.verifyEmail, async (request, reply) => {
    const { token } = request.body;
    const user = await refusing(() => verifyEmail(context.db, hashLinkToken(token), new Date()));
    await context.userChanged(user.id);
    return reply.code(204).send();
  });

  registerOperation(app, accountsOperations.resendEmailVerification, async (request, reply) => {
    const { id } = request.params;
    const userId = requirePublicId('user', targetUserId(request, id));
    await refusing(async () => {
      const user = await context.loadUser(userId);
      if (!user) throw new ApiError('NOT_FOUND');
      if (user.email_verified_at !== null) throw new EmailAlreadyVerifiedError();
      await sendVerificationMail(context, context.db, user);
    });
    return reply.code(202).send();
  });
}
