import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@armature/platform/kit/index';
import { startUsersService } from './app.ts';
import { readUsersConfig, type UsersConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';

export { startUsersService, type UsersService, usersService } from './app.ts';
export { type EnsureAdminResult, ensureAdmin } from './auth/ensure-admin.ts';
export { rotateSigningKeys, verifyWindowSeconds } from './auth/signing-keys.ts';
export { adminAccountProblem, readUsersConfig, type UsersConfig } from './config.ts';
export { openUsersDatabase } from './db/database.ts';

/** How the launchers find this service (see `serviceCatalog` in the contract). */
export const service: ServiceModule<UsersConfig> = {
  name: 'users',
  readConfig: readUsersConfig,
  start: startUsersService,
  migrationsFolder,
  main: fileURLToPath(new URL('./main.ts', import.meta.url)),
};
