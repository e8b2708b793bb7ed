import { parsePublicId, type TokenVerifier } from '@armature/platform';
import { defineService, type RunningService, startService } from '@armature/platform/kit/index';
import { CustomerCheck } from './clients/customer-check.ts';
import type { OrdersConfig } from './config.ts';
import { DeletedCustomers } from './db/customers.ts';
import { migrationsFolder } from './db/migrations.ts';
import { expireUnpaidOrders } from './db/payment-outcomes.ts';
import type { OrdersDatabase } from './db/schema.ts';
import { usersEventsConsumer } from './events/handled/consumer.ts';
import { paymentsEventsConsumer } from './events/handled/payments.ts';
import { registerCartRoutes } from './http/cart.ts';
import { registerOrderRoutes } from './http/orders.ts';
import { registerProductRoutes } from './http/products.ts';
import type { OrdersContext } from './http/routes.ts';

/** The orders service: catalog, carts, checkout and order history, on the service kit. */
export const ordersService = defineService<OrdersDatabase, OrdersConfig, OrdersContext>({
  name: 'orders',
  migrationsFolder,
  mergePatch: true,
  context: ({ db, reads, config, cursors, cache, app }) => ({
    db,
    reads,
    currency: config.currency,
    cursors,
    cache,
    // Tokens outlive their users by up to their lifetime: the customers projection knows who was deleted.
    deletedCustomers: new DeletedCustomers(db),
    // Checkout first confirms the customer with the users service (the projection when it cannot).
    customers: new CustomerCheck({
      db,
      usersUrls: config.usersServiceUrls,
      ...config.customerCheck,
      log: app.log,
      registry: app.metrics,
    }),
  }),
  auth: (_kit, { deletedCustomers }) => ({
    // A deleted user's token is refused here as the users service refuses it.
    isActive: async (principal) => {
      const id = parsePublicId('user', principal.userId);
      return id !== undefined && !(await deletedCustomers.has(id));
    },
  }),
  routes: ({ app }, context) => {
    app.addHook('onClose', () => context.customers.close());
    registerProductRoutes(app, context);
    registerCartRoutes(app, context);
    registerOrderRoutes(app, context);
  },
  consumers: ({ cache, log }, { deletedCustomers }) => [
    usersEventsConsumer(cache, log, deletedCustomers),
    paymentsEventsConsumer(cache, log),
  ],
  // Orders checked out with a payment method and not paid in time are cancelled, stock returned.
  ready: ({ app, db, cache, config }, _context, events) => {
    const sweep = setInterval(() => {
      expireUnpaidOrders(db, config.paymentTimeoutSeconds)
        .then(({ expired, products }) => {
          if (expired === 0) return;
          // Their order.cancelled events are committed: send them now, not at the relay's next poll.
          events.wake();
          return cache.invalidate(products.map((id) => `product:${id}`));
        })
        .catch((error) => app.log.warn({ err: error }, 'could not expire unpaid orders'));
    }, expirySweepMs(config.paymentTimeoutSeconds));
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));
  },
});

/** How often unpaid orders are looked for: a tenth of the timeout, between 250 ms and a minute. */
function expirySweepMs(timeoutSeconds: number): number {
  return Math.min(60_000, Math.max(250, timeoutSeconds * 100));
}

export interface OrdersDependencies {
  /** Verifies access tokens; by default against the users service's JWKS. */
  verifier?: TokenVerifier;
}

export type OrdersService = RunningService<OrdersDatabase, OrdersConfig, OrdersContext>;

/** Builds and starts the orders service: its database (migrated), its routes, its health checks. */
export function startOrdersService(
  config: OrdersConfig,
  dependencies: OrdersDependencies = {},
): Promise<OrdersService> {
  return startService(ordersService, config, dependencies);
}
