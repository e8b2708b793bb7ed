export { startUsersService } from './app.ts';
export { readUsersConfig, type UsersConfig } from './config.ts';
