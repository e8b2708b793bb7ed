import { createServer, listen, openDatabase, type StartedService } from '@armature/platform';
import type { UsersConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { UsersDatabase } from './db/schema.ts';

/** Builds and starts the users service: its database (migrated), its routes, its health checks. */
export async function startUsersService(config: UsersConfig): Promise<StartedService> {
  const app = createServer({ service: 'users', logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  const database = await openDatabase<UsersDatabase>({
    service: 'users',
    url: config.databaseUrl,
    dataDir: config.dataDir,
    migrationsFolder,
    onPoolError: (error) => app.log.warn({ err: error }, 'database connection lost'),
  });
  app.health.add('database', database.ping);
  app.addHook('onClose', () => database.close());
  return listen(app, { host: config.host, port: config.port });
}
