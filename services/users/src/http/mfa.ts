import { mfaOperations } from '@armature/contracts';
import {
  ApiError,
  principalOf,
  type RequestWithId,
  registerOperation,
  requirePublicId,
  targetUserId,
} from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import { completeMfaLogin, sealTotpSecret, spendSecondFactor } from '../auth/mfa.ts';
import { newRecoveryCodes, newTotpSecret } from '../auth/totp.ts';
import type { UsersContext } from '../context.ts';
import { confirmMfa, countRecoveryCodesLeft, findMfaFactor, removeMfa, saveMfaEnrolment } from '../db/mfa.ts';
import { inTransaction } from '../db/transaction.ts';
import { NotOwnPasswordError } from '../domain/accounts.ts';
import { InvalidMfaCodeError, MfaStateError } from '../domain/mfa.ts';
import { refusing } from './account-refusals.ts';

/** Token responses must never be stored by a cache (RFC 6749 §5.1). */
const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
/** The name authenticator apps show next to the account. */
const issuer = 'Armature';

/** The caller's own UUID, when `{id}` names the caller; a second factor is only ever its owner's business. */
function ownUuid(request: RequestWithId): string {
  const { id } = request.params;
  const caller = principalOf(request);
  if (targetUserId(request, id) !== caller.userId) throw new NotOwnPasswordError();
  return requirePublicId('user', caller.userId);
}

export function registerMfaRoutes(app: FastifyInstance, context: UsersContext): void {
  const { db } = context;

  registerOperation(app, mfaOperations.getMfa, async (request) => {
    const { id } = request.params;
    const userId = requirePublicId('user', targetUserId(request, id));
    if (!(await context.loadUser(userId))) throw new ApiError('NOT_FOUND');
    const factor = await findMfaFactor(db, userId);
    const enabled = Boolean(factor?.confirmedAt);
    return { enabled, recoveryCodesLeft: enabled ? await countRecoveryCodesLeft(db, userId) : 0 };
  });

  registerOperation(app, mfaOperations.startMfaEnrolment, async (request, reply, version) => {
    const enrolment = await refusing(async () => {
      const userId = ownUuid(request);
      const user = await context.loadUser(userId);
      if (!user) throw new ApiError('NOT_FOUND');
      const { secret, uri } = newTotpSecret(user.email, issuer);
      const saved = await saveMfaEnrolment(db, userId, await sealTotpSecret(context, userId, secret));
      if (!saved) throw new MfaStateError('Two-factor sign-in is already on; turn it off first');
      return { secret, otpauthUri: uri };
    });
    const { id } = request.params;
    return reply
      .code(201)
      .header('location', `/v${version}/users/${id}/mfa`)
      .headers(noStore)
      .send(enrolment);
  });

  registerOperation(app, mfaOperations.updateMfa, async (request, reply) => {
    const { enabled, code } = request.body;
    const status = await refusing(async () => {
      const userId = ownUuid(request);
      const now = new Date();
      return inTransaction(db, async (trx) => {
        const factor = await findMfaFactor(trx, userId, true);
        if (enabled) {
          if (!factor) throw new MfaStateError('Start an enrolment first (POST …/mfa)');
          if (factor.confirmedAt) throw new MfaStateError('Two-factor sign-in is already on');
          // The first code proves the app holds the secret; recovery codes do not exist yet.
          const passed = await spendSecondFactor(context, trx, userId, factor, code, {
            allowRecovery: false,
            now,
          });
          if (!passed) throw new InvalidMfaCodeError();
          const { codes, hashes } = newRecoveryCodes();
          await confirmMfa(trx, userId, hashes);
          return { enabled: true, recoveryCodesLeft: codes.length, recoveryCodes: codes };
        }
        if (!factor?.confirmedAt) throw new MfaStateError('Two-factor sign-in is not on');
        const passed = await spendSecondFactor(context, trx, userId, factor, code, {
          allowRecovery: true,
          now,
        });
        if (!passed) throw new InvalidMfaCodeError();
        await removeMfa(trx, userId);
        return { enabled: false, recoveryCodesLeft: 0 };
      });
    });
    return reply.headers(noStore).send(status);
  });

  registerOperation(app, mfaOperations.completeMfaLogin, async (request, reply) => {
    const { mfaChallenge, code } = request.body;
    const tokens = await refusing(() => completeMfaLogin(context, mfaChallenge, code, new Date()));
    return reply.headers(noStore).send(tokens);
  });
}
