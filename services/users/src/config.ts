import { type CommonConfig, readCommonConfig, readInt, readString, readUrl } from '@armature/platform';

export interface UsersConfig extends CommonConfig {
  host: string;
  port: number;
  databaseUrl?: string;
}

export function readUsersConfig(env: Record<string, string | undefined> = process.env): UsersConfig {
  return {
    ...readCommonConfig(env),
    host: readString(env, 'USERS_HOST', '127.0.0.1'),
    port: readInt(env, 'USERS_PORT', 8081, { min: 0, max: 65535 }),
    databaseUrl: readUrl(env, 'USERS_DATABASE_URL', ['postgres:', 'postgresql:']),
  };
}
