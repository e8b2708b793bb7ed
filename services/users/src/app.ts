import {
  CursorCodec,
  createServer,
  createTokenVerifier,
  type Database,
  listen,
  type Principal,
  parsePublicId,
  registerAuth,
  type StartedService,
} from '@armature/platform';
import { ensureAdmin } from './auth/ensure-admin.ts';
import { warmUpPasswords } from './auth/passwords.ts';
import { SigningKeys, verifyWindowSeconds } from './auth/signing-keys.ts';
import { AccessTokens } from './auth/tokens.ts';
import type { UsersConfig } from './config.ts';
import type { UsersContext } from './context.ts';
import { openUsersDatabase } from './db/database.ts';
import { purgeIdempotencyKeys } from './db/idempotency.ts';
import type { UsersDatabase } from './db/schema.ts';
import { deleteExpiredSessions } from './db/sessions.ts';
import { findUser } from './db/users.ts';
import { registerAuthRoutes } from './http/auth.ts';
import { registerJwksRoute } from './http/jwks.ts';
import { registerUserRoutes } from './http/users.ts';

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
  app.addHook('onClose', () => database.close());
  try {
    const context = await buildContext(config, database);
    if (config.admin) {
      const outcome = await ensureAdmin(database.db, config.admin);
      app.log.info({ email: config.admin.email, outcome }, 'bootstrap admin ensured');
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

    const sweep = setInterval(() => {
      Promise.all([
        deleteExpiredSessions(database.db, KEEP_SECONDS),
        purgeIdempotencyKeys(database.db, KEEP_SECONDS),
      ]).catch((error) => app.log.warn({ err: error }, 'housekeeping failed'));
    }, SWEEP_MS);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));

    const started = await listen(app, { host: config.host, port: config.port });
    return { ...started, context, database };
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function buildContext(config: UsersConfig, database: Database<UsersDatabase>): Promise<UsersContext> {
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
  const loadUser = (id: string) => findUser(db, id);
  return {
    db,
    loadUser,
    async isActive(principal: Principal) {
      const id = parsePublicId('user', principal.userId);
      const user = id ? await loadUser(id) : undefined;
      // A token claiming admin for a user who is no longer admin is refused, not downgraded.
      return user !== undefined && (!principal.isAdmin || user.role === 'admin');
    },
    keys,
    tokens,
    cursors: new CursorCodec(config.cursorSecret),
  };
}
