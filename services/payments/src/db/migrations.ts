import { fileURLToPath } from 'node:url';

/** The versioned SQL files of this service's database, applied at start and by `armature migrate`. */
export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
