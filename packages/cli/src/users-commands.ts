import { parseArgs } from 'node:util';
import { type CacheConfig, createCache } from '@armature/platform/cache/index';
import {
  adminAccountProblem,
  ensureAdmin,
  openUsersDatabase,
  readUsersConfig,
  rotateSigningKeys,
  verifyWindowSeconds,
} from '@armature/users';

type Env = Record<string, string | undefined>;

/**
 * `armature create-admin --email … --password …`: makes sure this admin exists in the users
 * database (the same rule as `ADMIN_EMAIL`/`ADMIN_PASSWORD` at start; running it twice is harmless).
 * `--password-stdin` reads the password from standard input, keeping it out of the shell history.
 */
export async function createAdmin(args: string[], env: Env = process.env): Promise<string> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const password = values['password-stdin'] ? (await readStdin()).replace(/\r?\n$/, '') : values.password;
  if (!values.email || !password) {
    throw new Error(
      'Usage: armature create-admin --email <email> (--password <password> | --password-stdin)',
    );
  }
  const account = { email: values.email, password };
  const problem = adminAccountProblem(account);
  if (problem)
    throw new Error(`--${problem.variable === 'ADMIN_EMAIL' ? 'email' : 'password'} ${problem.reason}`);
  const config = readUsersConfig(env);
  const database = await openUsersDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    const outcome = await ensureAdmin(database.db, account);
    const said = {
      created: 'created',
      promoted: 'promoted to admin (password unchanged)',
      unchanged: 'already an admin (password unchanged)',
    };
    const line = `${account.email}: ${said[outcome]}`;
    if (outcome !== 'promoted' || !config.cache.redisUrl) return line;
    return (await forgetCachedUsers(config.cache))
      ? line
      : `${line}; Redis did not answer, so running instances see the new role within an hour`;
  } finally {
    await database.close();
  }
}

/** Running instances share the users cache in Redis: drop every cached user, as a role changed. */
async function forgetCachedUsers(config: CacheConfig): Promise<boolean> {
  const cache = createCache(config, { name: 'users' });
  try {
    return (await cache.connect()) && (await cache.invalidate(['users']));
  } finally {
    await cache.close();
  }
}

/**
 * `armature rotate-keys`: adds a new active signing key. The previous one keeps verifying until every
 * token it signed has expired; running services pick the new key up within JWT_KEY_REFRESH_SECONDS.
 */
export async function rotateKeys(env: Env = process.env): Promise<string> {
  const config = readUsersConfig(env);
  const database = await openUsersDatabase({ url: config.databaseUrl, dataDir: config.dataDir });
  try {
    const { kid, retired } = await rotateSigningKeys(database.db, {
      encryptionSecret: config.keyEncryptionSecret,
      verifyWindowSeconds: verifyWindowSeconds(config),
    });
    const window = verifyWindowSeconds(config);
    return retired.length
      ? `new signing key ${kid}; retired ${retired.join(', ')} (verifies for ${window} s more)`
      : `new signing key ${kid}`;
  } finally {
    await database.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
