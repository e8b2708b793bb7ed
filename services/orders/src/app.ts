import {
  CursorCodec,
  createServer,
  createTokenVerifier,
  listen,
  openDatabase,
  parseJsonBody,
  registerAuth,
  registerPoolMetrics,
  type StartedService,
  type TokenVerifier,
} from '@armature/platform';
import { attachCache, createCache } from '@armature/platform/cache/index';
import type { OrdersConfig } from './config.ts';
import { purgeIdempotencyKeys } from './db/idempotency.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { OrdersDatabase } from './db/schema.ts';
import { registerCartRoutes } from './http/cart.ts';
import { registerOrderRoutes } from './http/orders.ts';
import { registerProductRoutes } from './http/products.ts';

export interface OrdersDependencies {
  /** Verifies access tokens; by default against the users service's JWKS. */
  verifier?: TokenVerifier;
}

/** Builds and starts the orders service: its database (migrated), its routes, its health checks. */
export async function startOrdersService(
  config: OrdersConfig,
  dependencies: OrdersDependencies = {},
): Promise<StartedService> {
  const app = createServer({ service: 'orders', logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  // PATCH bodies are JSON Merge Patches (RFC 7396); plain JSON is accepted too.
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'buffer' }, parseJsonBody);

  const database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: config.databaseUrl,
    dataDir: config.dataDir,
    migrationsFolder,
    poolSize: config.databasePoolSize,
    onPoolError: (error) => app.log.warn({ err: error }, 'database connection lost'),
  });
  app.health.add('database', database.ping);
  registerPoolMetrics(app.metrics, database);
  const cache = createCache(config.cache, { name: 'orders', log: app.log });
  attachCache(app, cache);
  await cache.connect();

  const verifier =
    dependencies.verifier ??
    createTokenVerifier({
      jwks: `${config.usersServiceUrls[0]}/.well-known/jwks.json`,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
    });
  registerAuth(app, { verifier });

  const context = {
    db: database.db,
    currency: config.currency,
    cursors: new CursorCodec(config.cursorSecret),
    cache,
  };
  registerProductRoutes(app, context);
  registerCartRoutes(app, context);
  registerOrderRoutes(app, context);

  const purge = setInterval(() => {
    purgeIdempotencyKeys(database.db, config.idempotencyKeyTtlHours).catch((error) =>
      app.log.warn({ err: error }, 'could not purge expired idempotency keys'),
    );
  }, 3_600_000);
  purge.unref();

  app.addHook('onClose', async () => {
    clearInterval(purge);
    await database.close();
  });
  return listen(app, { host: config.host, port: config.port });
}
