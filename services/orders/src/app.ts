import { createServer, listen, openDatabase, type StartedService } from '@armature/platform';
import type { OrdersConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { OrdersDatabase } from './db/schema.ts';

/** Builds and starts the orders service: its database (migrated), its routes, its health checks. */
export async function startOrdersService(config: OrdersConfig): Promise<StartedService> {
  const app = createServer({ service: 'orders', logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  const database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: config.databaseUrl,
    dataDir: config.dataDir,
    migrationsFolder,
    onPoolError: (error) => app.log.warn({ err: error }, 'database connection lost'),
  });
  app.health.add('database', database.ping);
  app.addHook('onClose', () => database.close());
  return listen(app, { host: config.host, port: config.port });
}
