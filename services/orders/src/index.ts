import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@armature/platform/kit/index';
import { startOrdersService } from './app.ts';
import { type OrdersConfig, readOrdersConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';

export { type OrdersDependencies, type OrdersService, ordersService, startOrdersService } from './app.ts';
export { type OrdersConfig, readOrdersConfig } from './config.ts';
export { seedDemoProducts } from './seed.ts';

/** How the launchers find this service (see `serviceCatalog` in the contract). */
export const service: ServiceModule<OrdersConfig> = {
  name: 'orders',
  readConfig: readOrdersConfig,
  start: (config) => startOrdersService(config),
  migrationsFolder,
  main: fileURLToPath(new URL('./main.ts', import.meta.url)),
};
