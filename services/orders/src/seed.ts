import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openDatabase } from '@armature/platform';
import type { OrdersConfig } from './config.ts';
import { demoProducts } from './db/demo-products.ts';
import { migrationsFolder } from './db/migrations.ts';
import { insertMissingProducts } from './db/products.ts';
import type { OrdersDatabase } from './db/schema.ts';

/**
 * Writes the demo catalog into the orders database (PostgreSQL, or the embedded one under
 * `DATA_DIR`), applying migrations first. Safe to run again: only missing products are added.
 */
export async function seedDemoProducts(config: OrdersConfig): Promise<{ total: number; created: number }> {
  if (!config.databaseUrl) {
    // An embedded database belongs to one process at a time; PGlite marks it with a pid file.
    const pidFile = join(resolve(config.dataDir), 'orders', 'postmaster.pid');
    if (existsSync(pidFile)) {
      throw new Error(
        `The embedded orders database is in use (${pidFile} exists): stop Armature, then seed. ` +
          'If nothing is running, the last run did not shut down cleanly; delete that file and retry.',
      );
    }
  }
  const database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: config.databaseUrl,
    dataDir: config.dataDir,
    migrationsFolder,
  });
  try {
    const created = await insertMissingProducts(
      database.db,
      demoProducts.map((product) => ({
        id: product.id,
        name: product.name,
        description: product.description,
        priceAmount: product.amount,
        currency: config.currency,
        stock: product.stock,
      })),
    );
    return { total: demoProducts.length, created };
  } finally {
    await database.close();
  }
}
