import { ApiError } from '@armature/platform';
import type { UsersContext } from '../context.ts';
import { mfaEnabled } from '../db/mfa.ts';
import type { SessionClient, SessionOwner } from '../db/sessions.ts';
import { revokeSessionFamily, rotateSession, startSession } from '../db/sessions.ts';
import { findCredentials } from '../db/users.ts';
import { type MfaChallengeAnswer, startMfaChallenge } from './mfa.ts';
import { verifyPassword } from './passwords.ts';
import { hashRefreshToken, newRefreshToken } from './tokens.ts';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

type Context = Pick<UsersContext, 'db' | 'tokens'> & Partial<Pick<UsersContext, 'accounts'>>;

/** Every 401 names the scheme (RFC 9110 requires `WWW-Authenticate` on a 401). */
const challenge = { 'www-authenticate': 'Bearer' };

/**
 * Email and password → tokens. An unknown email, a deleted user and a wrong password all answer the
 * same 401 after the same Argon2id work (the unknown email is checked against a dummy hash).
 */
export async function logIn(
  context: Context,
  email: string,
  password: string,
  client?: SessionClient,
): Promise<TokenPair | MfaChallengeAnswer> {
  const credentials = await findCredentials(context.db, email);
  const valid = await verifyPassword(credentials?.passwordHash, password);
  if (!credentials || !valid) throw new ApiError('INVALID_CREDENTIALS', { headers: challenge });
  // With two-factor sign-in on, the right password only earns a challenge for the code step.
  if (context.accounts && (await mfaEnabled(context.db, credentials.id))) {
    return startMfaChallenge({ ...context, accounts: context.accounts }, credentials.id, client);
  }
  return openSession(context, credentials, client);
}

/** Starts a session (a new refresh-token family) for a user who has proved who they are. */
export async function openSession(
  context: Context,
  user: SessionOwner,
  client?: SessionClient,
): Promise<TokenPair> {
  const refresh = newRefreshToken();
  const sessionId = await startSession(context.db, {
    userId: user.id,
    tokenHash: refresh.hash,
    expiresAt: refreshExpiry(context),
    client,
  });
  return issue(context, { id: user.id, email: user.email, role: user.role, sessionId }, refresh.token);
}

/** A refresh token → a new access token and the refresh token that replaces it. */
export async function refresh(context: Context, refreshToken: string): Promise<TokenPair> {
  const next = newRefreshToken();
  const result = await rotateSession(
    context.db,
    { tokenHash: hashRefreshToken(refreshToken) },
    { tokenHash: next.hash, expiresAt: refreshExpiry(context) },
  );
  if (result.kind !== 'rotated') {
    throw new ApiError('INVALID_REFRESH_TOKEN', {
      headers: challenge,
      message:
        result.kind === 'reused'
          ? 'This refresh token was already used; every token of its login has been revoked'
          : undefined,
    });
  }
  return issue(context, { ...result.user, sessionId: result.familyId }, next.token);
}

/** Revokes the token's whole family. An unknown token is a 401; an already revoked one is fine. */
export async function logOut(context: Context, refreshToken: string): Promise<void> {
  const found = await revokeSessionFamily(context.db, hashRefreshToken(refreshToken));
  if (!found) throw new ApiError('INVALID_REFRESH_TOKEN', { headers: challenge });
}

async function issue(
  context: Context,
  user: SessionOwner & { sessionId: string },
  refreshToken: string,
): Promise<TokenPair> {
  const { accessToken, expiresIn } = await context.tokens.issue(user);
  return { accessToken, refreshToken, expiresIn };
}

function refreshExpiry(context: Context): Date {
  return new Date(Date.now() + context.tokens.settings.refreshTokenTtlSeconds * 1000);
}
