export { startUsersService, type UsersService } from './app.ts';
export { type EnsureAdminResult, ensureAdmin } from './auth/ensure-admin.ts';
export { rotateSigningKeys, verifyWindowSeconds } from './auth/signing-keys.ts';
export { adminAccountProblem, readUsersConfig, type UsersConfig } from './config.ts';
export { openUsersDatabase } from './db/database.ts';
