import { type DomainEvent, eventsOperations, type User } from '@armature/contracts';
import {
  CursorCodec,
  createServer,
  createTokenVerifier,
  type Database,
  listEvents,
  listen,
  type Principal,
  parsePublicId,
  purgeIdempotencyKeys,
  registerAuth,
  registerOperation,
  registerPoolMetrics,
  type StartedService,
  startEvents,
} from '@armature/platform';
import { attachCache, type Cache, createCache } from '@armature/platform/cache/index';
import { startMail } from '@armature/platform/mail/index';
import type { FastifyRequest } from 'fastify';
import { ensureAdmin } from './auth/ensure-admin.ts';
import { warmUpPasswords } from './auth/passwords.ts';
import { SigningKeys, verifyWindowSeconds } from './auth/signing-keys.ts';
import { AccessTokens } from './auth/tokens.ts';
import type { UsersConfig } from './config.ts';
import type { UsersContext } from './context.ts';
import { deleteExpiredLinkTokens } from './db/account-tokens.ts';
import { openUsersDatabase } from './db/database.ts';
import { deleteExpiredMfaChallenges } from './db/mfa.ts';
import type { UsersDatabase } from './db/schema.ts';
import { deleteExpiredSessions } from './db/sessions.ts';
import { findUser } from './db/users.ts';
import { userEtag } from './domain/users.ts';
import { registerAuthRoutes } from './http/auth.ts';
import { registerEmailVerificationRoutes } from './http/email-verification.ts';
import { registerJwksRoute } from './http/jwks.ts';
import { registerMfaRoutes } from './http/mfa.ts';
import { registerPasswordRoutes } from './http/password.ts';
import { registerSessionRoutes } from './http/sessions.ts';
import { registerUserRoutes, toUser } from './http/users.ts';

export interface UsersService extends StartedService {
  /** The service's own database and collaborators (tests and the CLI reach in here). */
  context: UsersContext;
  database: Database<UsersDatabase>;
}

/**
 * Hourly housekeeping: expired refresh tokens are kept a day (reuse of one still revokes its family),
 * idempotency keys a day (long enough for any client's retries), then deleted.
 */
const SWEEP_MS = 60 * 60 * 1000;
const KEEP_SECONDS = 86_400;

/**
 * Builds and starts the users service: its database (migrated), its signing keys, the bootstrap
 * admin, token verification on every route, the routes, and its health check.
 */
export async function startUsersService(config: UsersConfig): Promise<UsersService> {
  const app = createServer({ service: 'users', logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  // Bodies are JSON only: without this, a text/plain body would reach validation (400) instead of 415.
  app.removeContentTypeParser('text/plain');
  const database = await openUsersDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    onPoolError: (error) => app.log.warn({ err: error }, 'database connection lost'),
  });
  app.health.add('database', database.ping);
  registerPoolMetrics(app.metrics, database);
  app.addHook('onClose', () => database.close());
  const cache = createCache(config.cache, { name: 'users', log: app.log });
  attachCache(app, cache);
  app.decorateRequest('callerUser', undefined);
  try {
    const context = await buildContext(config, database, cache);
    await cache.connect();
    if (config.admin) {
      const outcome = await ensureAdmin(database.db, config.admin);
      app.log.info({ email: config.admin.email, outcome }, 'bootstrap admin ensured');
      // The promoted user's id is not at hand: drop every cached user (rare, at start only).
      if (outcome === 'promoted') await cache.invalidate(['users']);
    }
    await warmUpPasswords();

    // Every route verifies the access token itself, against this service's own key table.
    registerAuth(app, {
      verifier: createTokenVerifier({
        jwks: context.keys.getKey,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
      }),
      isActive: context.isActive,
    });
    registerJwksRoute(app, context);
    registerAuthRoutes(app, context);
    registerUserRoutes(app, context);
    registerPasswordRoutes(app, context);
    registerSessionRoutes(app, context);
    registerEmailVerificationRoutes(app, context);
    registerMfaRoutes(app, context);
    registerOperation(app, eventsOperations.listEvents, async (request) =>
      listEvents<DomainEvent>(database.db, request.query, context.cursors),
    );

    const sweep = setInterval(() => {
      Promise.all([
        deleteExpiredSessions(database.db, KEEP_SECONDS),
        purgeIdempotencyKeys(database.db, KEEP_SECONDS),
        deleteExpiredLinkTokens(database.db, KEEP_SECONDS),
        deleteExpiredMfaChallenges(database.db, KEEP_SECONDS),
      ]).catch((error) => app.log.warn({ err: error }, 'housekeeping failed'));
    }, SWEEP_MS);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));

    // Mail queued in the outbox is delivered from now on (SMTP with MAIL_URL, else the mail folder).
    const mail = startMail(app, { db: database.db, config: config.mail });
    context.mail.wake = () => mail.relay.wake();
    // Events written before this point (the bootstrap admin) go out when the relay starts.
    await startEvents(app, { service: 'users', database, config: config.events });
    const started = await listen(app, { host: config.host, port: config.port });
    return { ...started, context, database };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/** `user:{id}` for an hour; its key is also its tag, and `users` groups every cached user. */
const userCacheOptions = { ttl: 60 * 60 * 1000, tags: ['users'] };

async function buildContext(
  config: UsersConfig,
  database: Database<UsersDatabase>,
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
