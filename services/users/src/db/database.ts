import { type Database, openDatabase } from '@armature/platform';
import { migrationsFolder } from './migrations.ts';
import type { UsersDatabase } from './schema.ts';

/** The users database (PostgreSQL at `url`, else PGlite under `dataDir/users`), migrated to the latest. */
export function openUsersDatabase(options: {
  url?: string;
  dataDir: string;
  inMemory?: boolean;
  onPoolError?: (error: Error) => void;
}): Promise<Database<UsersDatabase>> {
  return openDatabase<UsersDatabase>({ service: 'users', migrationsFolder, ...options });
}
