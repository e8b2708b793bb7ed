import { readOrdersConfig } from '@armature/orders';
import { migrationsFolder as ordersMigrations } from '@armature/orders/db/migrations';
import { migrateToLatest, openDatabase } from '@armature/platform';
import { readUsersConfig } from '@armature/users';
import { migrationsFolder as usersMigrations } from '@armature/users/db/migrations';

/** Applies every service's pending migrations; returns one line per service saying what ran. */
export async function migrateAll(env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const users = readUsersConfig(env);
  const orders = readOrdersConfig(env);
  const targets = [
    { service: 'users', url: users.databaseUrl, dataDir: users.dataDir, folder: usersMigrations },
    { service: 'orders', url: orders.databaseUrl, dataDir: orders.dataDir, folder: ordersMigrations },
  ];
  const lines: string[] = [];
  for (const target of targets) {
    const database = await openDatabase({
      service: target.service,
      url: target.url,
      dataDir: target.dataDir,
    });
    try {
      const applied = await migrateToLatest(database.db, target.folder);
      lines.push(`${target.service}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    } finally {
      await database.close();
    }
  }
  return lines;
}
