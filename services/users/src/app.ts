import type { User } from '@armature/contracts';
import {
  CursorCodec,
  createTokenVerifier,
  type Database,
  type Principal,
  parsePublicId,
  type Reads,
} from '@armature/platform';
import type { Cache } from '@armature/platform/cache/index';
import { defineService, type RunningService, startService } from '@armature/platform/kit/index';
import { startMail } from '@armature/platform/mail/index';
import type { FastifyRequest } from 'fastify';
import { ensureAdmin } from './auth/ensure-admin.ts';
import { warmUpPasswords } from './auth/passwords.ts';
import { SigningKeys, verifyWindowSeconds } from './auth/signing-keys.ts';
import { AccessTokens } from './auth/tokens.ts';
import type { UsersConfig } from './config.ts';
import type { UsersContext } from './context.ts';
import { deleteExpiredLinkTokens } from './db/account-tokens.ts';
import { deleteExpiredMfaChallenges } from './db/mfa.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { UsersDatabase } from './db/schema.ts';
import { deleteExpiredSessions } from './db/sessions.ts';
import { findUser } from './db/users.ts';
import { userEtag } from './domain/users.ts';
import { registerApiKeyRoutes } from './http/api-keys.ts';
import { registerAuthRoutes } from './http/auth.ts';
import { registerEmailVerificationRoutes } from './http/email-verification.ts';
import { registerJwksRoute } from './http/jwks.ts';
import { registerMfaRoutes } from './http/mfa.ts';
import { registerPasswordRoutes } from './http/password.ts';
import { registerSessionRoutes } from './http/sessions.ts';
import { registerUserRoutes, toUser } from './http/users.ts';

/**
 * The users service on the service kit: accounts, sign-in and its tokens (it signs them, so it
 * verifies them against its own key table), the bootstrap admin, and the mail the account flows send.
 */
export const usersService = defineService<UsersDatabase, UsersConfig, UsersContext>({
  name: 'users',
  migrationsFolder,
  async context({ app, database, reads, cache, config }) {
    app.decorateRequest('callerUser', undefined);
    const context = await buildContext(config, database, reads, cache);
    if (config.admin) {
      const outcome = await ensureAdmin(database.db, config.admin);
      app.log.info({ email: config.admin.email, outcome }, 'bootstrap admin ensured');
      // The promoted user's id is not at hand: drop every cached user (rare, at start only).
      if (outcome === 'promoted') await cache.invalidate(['users']);
    }
    await warmUpPasswords();
    return context;
  },
  auth: ({ config }, context) => ({
    verifier: createTokenVerifier({
      jwks: context.keys.getKey,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
    }),
    isActive: context.isActive,
  }),
  routes({ app, db, config }, context) {
    registerJwksRoute(app, context);
    registerAuthRoutes(app, context);
    registerUserRoutes(app, context);
    registerPasswordRoutes(app, context);
    registerSessionRoutes(app, context);
    registerEmailVerificationRoutes(app, context);
    registerMfaRoutes(app, context);
    registerApiKeyRoutes(app, context);
    // Mail queued in the outbox is delivered from now on (SMTP with MAIL_URL, else the mail folder).
    const mail = startMail(app, { db, config: config.mail });
    context.mail.wake = () => mail.relay.wake();
  },
  // Expired refresh tokens are kept a day (reuse of one still revokes its family), then deleted.
  housekeeping: [deleteExpiredSessions, deleteExpiredLinkTokens, deleteExpiredMfaChallenges],
});

export type UsersService = RunningService<UsersDatabase, UsersConfig, UsersContext>;

/**
 * Builds and starts the users service: its database (migrated), its signing keys, the bootstrap
 * admin, token verification on every route, the routes, and its health check.
 */
export function startUsersService(config: UsersConfig): Promise<UsersService> {
  return startService(usersService, config);
}

/** `user:{id}` for an hour; its key is also its tag, and `users` groups every cached user. */
const userCacheOptions = { ttl: 60 * 60 * 1000, tags: ['users'] };

async function buildContext(
  config: UsersConfig,
  database: Database<UsersDatabase>,
  reads: Reads<UsersDatabase>,
  cache: Cache,
): Promise<UsersContext> {
  const { db } = database;
  const keys = await SigningKeys.open(db, {
    encryptionSecret: config.keyEncryptionSecret,
    verifyWindowSeconds: verifyWindowSeconds(config),
    refreshSeconds: config.signingKeyRefreshSeconds,
  });
  const tokens = new AccessTokens(keys, {
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
  });
  const context: UsersContext = {
    db,
    reads,
    loadUser: (id) => findUser(db, id),
    // Through `context.loadUser`, so that every database read of a user is that one function.
    cachedUser: (id) =>
      cache.getOrLoad(
        `user:${id}`,
        async () => {
          const row = await context.loadUser(id);
          return row && { value: JSON.stringify(toUser(row)), etag: userEtag(row) };
        },
        userCacheOptions,
      ),
    userChanged: async (id) => {
      await cache.invalidate([`user:${id}`]);
    },
    cache,
    async isActive(principal: Principal, request?: FastifyRequest) {
      const id = parsePublicId('user', principal.userId);
      const user = id ? await context.cachedUser(id) : undefined;
      if (user === undefined) return false;
      if (request) request.callerUser = user;
      // A token claiming admin for a user who is no longer admin is refused, not downgraded.
      return !principal.isAdmin || (JSON.parse(user.value) as User).role === 'admin';
    },
    keys,
    tokens,
    cursors: new CursorCodec(config.cursorSecret),
    // Woken for real once the mail relay runs (see `startUsersService`).
    mail: { config: config.mail, wake: () => {} },
    accounts: {
      passwordResetTtlSeconds: config.passwordResetTtlSeconds,
      emailVerificationTtlSeconds: config.emailVerificationTtlSeconds,
      mfaChallengeTtlSeconds: config.mfaChallengeTtlSeconds,
      keyEncryptionSecret: config.keyEncryptionSecret,
    },
  };
  return context;
}
