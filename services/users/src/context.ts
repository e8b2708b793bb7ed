import type { CursorCodec, Principal, Reads } from '@armature/platform';
import type { Cache, CacheEntry } from '@armature/platform/cache/index';
import type { MailConfig } from '@armature/platform/mail/index';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { SigningKeys } from './auth/signing-keys.ts';
import type { AccessTokens } from './auth/tokens.ts';
import type { UsersDatabase } from './db/schema.ts';
import type { UserRow } from './db/users.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's own user, as the token check of this request read it from the cache. */
    callerUser?: CacheEntry;
  }
}

/** What the routes of the users service work with; built once in `app.ts`. */
export interface UsersContext {
  db: Kysely<UsersDatabase>;
  /**
   * Where the user list may be read: the read replica when there is one. Single-user reads stay on
   * the primary: they fill the cache (a stale row would outlive the replica's lag there) and check
   * every token (a user who just signed up must not be refused).
   */
  reads: Reads<UsersDatabase>;
  /**
   * The one single-user read (an active user by UUID, never the password hash). Every read of one
   * user goes through it; `cachedUser` wraps it with the cache.
   */
  loadUser(id: string): Promise<UserRow | undefined>;
  /**
   * The representation of an active user as `GET /users/{id}` sends it (JSON body and ETag), from
   * the cache (`user:{id}`) or, on a miss, from `loadUser`. The caller checks access first.
   */
  cachedUser(id: string): Promise<CacheEntry | undefined>;
  /** Drops what the cache holds about user `id`; every write calls it once its change has committed. */
  userChanged(id: string): Promise<void>;
  cache: Cache;
  /**
   * Whether a verified token's user still exists (and still holds the admin role the token claims).
   * Given the request, it keeps the caller's representation on it (`request.callerUser`).
   */
  isActive(principal: Principal, request?: FastifyRequest): Promise<boolean>;
  keys: SigningKeys;
  tokens: AccessTokens;
  cursors: CursorCodec;
  /** Outgoing mail: its settings (links under `PUBLIC_URL`), and a nudge to deliver what was just queued. */
  mail: { config: MailConfig; wake(): void };
  /** Lifetimes of the links mailed by the account flows. */
  accounts: {
    passwordResetTtlSeconds: number;
    emailVerificationTtlSeconds: number;
    /** How long the code step of a two-factor sign-in may wait. */
    mfaChallengeTtlSeconds: number;
    /** Seals TOTP secrets at rest, as it seals the signing keys (`JWT_KEY_ENCRYPTION_SECRET`). */
    keyEncryptionSecret?: string;
  };
}
