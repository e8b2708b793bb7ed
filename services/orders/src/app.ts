import { type DomainEvent, eventsOperations, ordersOperations } from '@armature/contracts';
import {
  CursorCodec,
  createServer,
  createTokenVerifier,
  listEvents,
  listen,
  openDatabase,
  parseJsonBody,
  parsePublicId,
  purgeIdempotencyKeys,
  type RequestWithId,
  registerAuth,
  registerOperation,
  registerPoolMetrics,
  type StartedService,
  startEvents,
  type TokenVerifier,
} from '@armature/platform';
import { attachCache, createCache } from '@armature/platform/cache/index';
import { CustomerCheck } from './clients/customer-check.ts';
import type { OrdersConfig } from './config.ts';
import { DeletedCustomers } from './db/customers.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { OrdersDatabase } from './db/schema.ts';
import { usersEventsConsumer } from './events/handled/consumer.ts';
import { registerCartRoutes, routeUser } from './http/cart.ts';
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
  // Tokens outlive their users by up to their lifetime: refuse one whose user the customers
  // projection knows as deleted (user.deleted), as the users service does.
  const deletedCustomers = new DeletedCustomers(database.db);
  registerAuth(app, {
    verifier,
    isActive: async (principal) => {
      const id = parsePublicId('user', principal.userId);
      return id !== undefined && !(await deletedCustomers.has(id));
    },
  });

  const context = {
    db: database.db,
    currency: config.currency,
    cursors: new CursorCodec(config.cursorSecret),
    cache,
  };
  // Checkout first confirms the customer with the users service (the projection when it cannot).
  const customers = new CustomerCheck({
    db: database.db,
    usersUrls: config.usersServiceUrls,
    ...config.customerCheck,
    log: app.log,
    registry: app.metrics,
  });
  app.addHook('onRoute', (route) => {
    if (
      (route.schema as { operationId?: string } | undefined)?.operationId !==
      ordersOperations.checkout.operationId
    )
      return;
    const existing = route.preHandler ? [route.preHandler].flat() : [];
    route.preHandler = [
      ...existing,
      // Only the checkout route reaches here, and its path names the user's `{id}`.
      async (request) =>
        void (await customers.assertActive(
          routeUser(request as RequestWithId),
          request.headers.authorization,
        )),
    ];
  });
  registerProductRoutes(app, context);
  registerCartRoutes(app, context);
  registerOrderRoutes(app, context);
  registerOperation(app, eventsOperations.listEvents, (request) =>
    listEvents<DomainEvent>(database.db, request.query, context.cursors),
  );

  const purge = setInterval(() => {
    purgeIdempotencyKeys(database.db, config.idempotencyKeyTtlHours * 3600).catch((error) =>
      app.log.warn({ err: error }, 'could not purge expired idempotency keys'),
    );
  }, 3_600_000);
  purge.unref();

  app.addHook('onClose', async () => {
    clearInterval(purge);
    await customers.close();
    await database.close();
  });
  // After the database's close hook: onClose hooks run in reverse, so events stop before it closes.
  await startEvents(app, {
    service: 'orders',
    database,
    config: config.events,
    consumers: [usersEventsConsumer(cache, app.log, deletedCustomers)],
  });
  return listen(app, { host: config.host, port: config.port });
}
