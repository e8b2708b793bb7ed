import { ConfigError, readInt, readString } from '@armature/platform';
import { readServiceConfig, type ServiceConfig } from '@armature/platform/kit/index';
import { type MailConfig, readMailConfig } from '@armature/platform/mail/index';

type Env = Record<string, string | undefined>;

export interface AdminAccount {
  email: string;
  password: string;
}

export interface UsersConfig extends ServiceConfig {
  /** Lifetime of an access token (JWT). */
  accessTokenTtlSeconds: number;
  /** Lifetime of a refresh token; each refresh starts a new one. */
  refreshTokenTtlSeconds: number;
  /** How often an instance re-reads the signing-key table (another instance may have rotated). */
  signingKeyRefreshSeconds: number;
  /** Encrypts private signing keys at rest (AES-256-GCM, key derived with scrypt); unset → stored as PEM. */
  keyEncryptionSecret?: string;
  /** `ADMIN_EMAIL` + `ADMIN_PASSWORD`: ensured to exist as an admin at start. */
  admin?: AdminAccount;
  /** Outgoing mail: SMTP (`MAIL_URL`) or the mail folder, the sender, `PUBLIC_URL` for links. */
  mail: MailConfig;
  /** How long the link of a password-reset mail works. */
  passwordResetTtlSeconds: number;
  /** How long the link of a verification mail works. */
  emailVerificationTtlSeconds: number;
  /** How long the code step of a two-factor sign-in may wait after the password step. */
  mfaChallengeTtlSeconds: number;
}

export const passwordRules = { minLength: 8, maxLength: 128 };
const emailShape = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function readUsersConfig(env: Env = process.env): UsersConfig {
  const accessTokenTtlSeconds = readInt(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, { min: 60, max: 86_400 });
  const refreshTokenTtlSeconds = readInt(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, {
    min: 300,
    max: 365 * 86_400,
  });
  if (refreshTokenTtlSeconds <= accessTokenTtlSeconds) {
    throw new ConfigError(
      'REFRESH_TOKEN_TTL_SECONDS',
      `must be longer than ACCESS_TOKEN_TTL_SECONDS (${accessTokenTtlSeconds})`,
    );
  }
  return {
    ...readServiceConfig('users', env),
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    signingKeyRefreshSeconds: readInt(env, 'JWT_KEY_REFRESH_SECONDS', 60, { min: 1, max: 3600 }),
    keyEncryptionSecret: readKeyEncryptionSecret(env),
    admin: readAdminAccount(env),
    mail: readMailConfig(env),
    passwordResetTtlSeconds: readInt(env, 'PASSWORD_RESET_TTL_SECONDS', 1800, { min: 60, max: 86_400 }),
    emailVerificationTtlSeconds: readInt(env, 'EMAIL_VERIFICATION_TTL_SECONDS', 3 * 86_400, {
      min: 300,
      max: 30 * 86_400,
    }),
    mfaChallengeTtlSeconds: readInt(env, 'MFA_CHALLENGE_TTL_SECONDS', 300, { min: 30, max: 3600 }),
  };
}

function readKeyEncryptionSecret(env: Env): string | undefined {
  const secret = readString(env, 'JWT_KEY_ENCRYPTION_SECRET');
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError('JWT_KEY_ENCRYPTION_SECRET', 'must be at least 16 characters long');
  }
  return secret;
}

function readAdminAccount(env: Env): AdminAccount | undefined {
  const email = readString(env, 'ADMIN_EMAIL');
  // A password is taken as given: leading or trailing spaces are part of it.
  const password = env.ADMIN_PASSWORD === '' ? undefined : env.ADMIN_PASSWORD;
  if (email === undefined && password === undefined) return undefined;
  if (email === undefined) throw new ConfigError('ADMIN_EMAIL', 'must be set when ADMIN_PASSWORD is');
  if (password === undefined) throw new ConfigError('ADMIN_PASSWORD', 'must be set when ADMIN_EMAIL is');
  const problem = adminAccountProblem({ email, password });
  if (problem) throw new ConfigError(problem.variable, problem.reason);
  return { email, password };
}

/** The same rules the API applies to a registration, for accounts that come from configuration or the CLI. */
export function adminAccountProblem(
  account: AdminAccount,
): { variable: 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'; reason: string } | undefined {
  if (account.email.length > 254 || !emailShape.test(account.email)) {
    return { variable: 'ADMIN_EMAIL', reason: `must be an email address, got "${account.email}"` };
  }
  const length = [...account.password].length;
  if (length < passwordRules.minLength || length > passwordRules.maxLength) {
    return {
      variable: 'ADMIN_PASSWORD',
      reason: `must be ${passwordRules.minLength} to ${passwordRules.maxLength} characters long`,
    };
  }
  return undefined;
}
