import type { UsersContext } from '../context.ts';
import {
  createMfaChallenge,
  findMfaFactor,
  lockMfaChallenge,
  type MfaFactor,
  settleMfaChallenge,
  useRecoveryCode,
  useTotpStep,
} from '../db/mfa.ts';
import type { SessionClient } from '../db/sessions.ts';
import { inTransaction } from '../db/transaction.ts';
import { findUser } from '../db/users.ts';
import { challengeOpen, InvalidMfaCodeError, isRecoveryCode, totpStepAcceptable } from '../domain/mfa.ts';
import { openPrivateKey, sealPrivateKey } from './key-encryption.ts';
import { openSession, type TokenPair } from './sessions.ts';
import { hashChallengeToken, hashRecoveryCode, matchTotp, newChallengeToken } from './totp.ts';

type Context = Pick<UsersContext, 'db' | 'tokens' | 'accounts'>;

export interface MfaChallengeAnswer {
  mfaChallenge: string;
  expiresIn: number;
}

/** The associated data a user's sealed secret is bound to: a sealed secret copied to another user does not open. */
const sealedFor = (userId: string) => `mfa:${userId}`;

/** Seals a TOTP secret at rest the way the signing keys are sealed (`JWT_KEY_ENCRYPTION_SECRET`). */
export function sealTotpSecret(context: Context, userId: string, secret: string): Promise<string> {
  return sealPrivateKey(secret, sealedFor(userId), context.accounts.keyEncryptionSecret);
}

/**
 * Checks a second-factor code for `userId` and spends it: a TOTP code of a step later than the last
 * one accepted, or (when `allowRecovery`) an unused recovery code. Run it in the transaction that
 * holds the factor's row lock.
 */
export async function spendSecondFactor(
  context: Context,
  db: Context['db'],
  userId: string,
  factor: MfaFactor,
  code: string,
  options: { allowRecovery: boolean; now: Date },
): Promise<boolean> {
  if (isRecoveryCode(code)) {
    return options.allowRecovery && useRecoveryCode(db, userId, hashRecoveryCode(code));
  }
  const secret = await openPrivateKey(factor.secret, sealedFor(userId), context.accounts.keyEncryptionSecret);
  const step = matchTotp(secret, code, options.now);
  if (step === undefined || !totpStepAcceptable(step, factor.lastUsedStep)) return false;
  return useTotpStep(db, userId, step);
}

/** The password was right and the user has two-factor sign-in on: a challenge for the code step. */
export async function startMfaChallenge(
  context: Context,
  userId: string,
  client: SessionClient | undefined,
): Promise<MfaChallengeAnswer> {
  const { token, hash } = newChallengeToken();
  const ttl = context.accounts.mfaChallengeTtlSeconds;
  await createMfaChallenge(context.db, {
    tokenHash: hash,
    userId,
    expiresAt: new Date(Date.now() + ttl * 1000),
    client,
  });
  return { mfaChallenge: token, expiresIn: ttl };
}

/**
 * The code step of a sign-in: an open challenge and a right code (or an unused recovery code) start a
 * session. A wrong code counts against the challenge (it dies after a few); every refusal is the same
 * `InvalidMfaCodeError`.
 */
export async function completeMfaLogin(
  context: Context,
  challengeToken: string,
  code: string,
  now: Date,
): Promise<TokenPair> {
  const hash = hashChallengeToken(challengeToken);
  const outcome = await inTransaction(context.db, async (trx) => {
    const challenge = await lockMfaChallenge(trx, hash);
    if (!challengeOpen(challenge, now)) return undefined;
    const factor = await findMfaFactor(trx, challenge.userId, true);
    const passed =
      factor?.confirmedAt != null &&
      (await spendSecondFactor(context, trx, challenge.userId, factor, code, { allowRecovery: true, now }));
    await settleMfaChallenge(trx, hash, passed ? 'used' : 'failed');
    return passed ? challenge : undefined;
  });
  const user = outcome && (await findUser(context.db, outcome.userId));
  if (!outcome || !user) throw new InvalidMfaCodeError();
  return openSession(context, user, outcome.client);
}
