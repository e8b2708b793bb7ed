import { migrateToLatest, openDatabase } from '@armature/platform';
import { loadServices } from './services.ts';

/** Applies every service's pending migrations; returns one line per service saying what ran. */
export async function migrateAll(env: Record<string, string | undefined> = process.env): Promise<string[]> {
  const modules = await loadServices();
  const lines: string[] = [];
  for (const module of modules) {
    const config = module.readConfig(env);
    const database = await openDatabase({
      service: module.name,
      url: config.databaseUrl,
      dataDir: config.dataDir,
    });
    try {
      const applied = await migrateToLatest(database.db, module.migrationsFolder);
      lines.push(`${module.name}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    } finally {
      await database.close();
    }
  }
  return lines;
}
