import { accountsOperations } from '@armature/contracts';
import { ApiError, principalOf, registerOperation, requirePublicId, targetUserId } from '@armature/platform';
import { mailLink } from '@armature/platform/mail/index';
import type { FastifyInstance } from 'fastify';
import { hashLinkToken, newLinkToken } from '../auth/link-tokens.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import type { UsersContext } from '../context.ts';
import { changePassword, findPasswordHash } from '../db/account-sessions.ts';
import { issueLinkToken, resetPassword } from '../db/account-tokens.ts';
import { findCredentials, findUser } from '../db/users.ts';
import { NotOwnPasswordError, WrongPasswordError } from '../domain/accounts.ts';
import { passwordResetMail } from '../domain/mails.ts';
import { refusing } from './account-refusals.ts';
import { callerSessionId } from './sessions.ts';

/** Where a reset link leads: the client's page that asks for the new password. */
export const passwordResetPath = '/reset-password';

export function registerPasswordRoutes(app: FastifyInstance, context: UsersContext): void {
  const { db } = context;

  registerOperation(app, accountsOperations.changePassword, async (request, reply) => {
    const { id } = request.params;
    const { currentPassword, newPassword } = request.body;
    const caller = principalOf(request);
    await refusing(async () => {
      if (targetUserId(request, id) !== caller.userId) throw new NotOwnPasswordError();
      const userId = requirePublicId('user', caller.userId);
      const stored = await findPasswordHash(db, userId);
      if (stored === undefined) throw new ApiError('NOT_FOUND');
      if (!(await verifyPassword(stored, currentPassword))) throw new WrongPasswordError();
      await changePassword(db, userId, await hashPassword(newPassword), callerSessionId(request));
    });
    return reply.code(204).send();
  });

  registerOperation(app, accountsOperations.requestPasswordReset, async (request, reply) => {
    const { email } = request.body;
    // The answer leaves before any lookup, so a known and an unknown address answer alike and in
    // the same time; the mail (if any) is queued right after.
    await reply.code(202).send();
    try {
      const account = await findCredentials(db, email);
      const user = account && (await findUser(db, account.id));
      if (!user) return reply;
      const { token, hash } = newLinkToken();
      const ttlSeconds = context.accounts.passwordResetTtlSeconds;
      await issueLinkToken(db, {
        purpose: 'password_reset',
        userId: user.id,
        email: user.email,
        tokenHash: hash,
        expiresAt: new Date(Date.now() + ttlSeconds * 1000),
        mail: passwordResetMail({
          name: user.name,
          link: mailLink(context.mail.config, passwordResetPath, token),
          ttlSeconds,
        }),
      });
      context.mail.wake();
    } catch (error) {
      request.log.error({ err: error }, 'a password-reset mail could not be queued');
    }
    return reply;
  });

  registerOperation(app, accountsOperations.confirmPasswordReset, async (request, reply) => {
    const { token, newPassword } = request.body;
    const passwordHash = await hashPassword(newPassword);
    const userId = await refusing(() => resetPassword(db, hashLinkToken(token), passwordHash, new Date()));
    request.log.info({ userId }, 'password reset; every session ended');
    return reply.code(204).send();
  });
}
