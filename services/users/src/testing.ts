import { freshStore, type TestStore } from '@armature/testing/databases';
import { startUsersService, type UsersService } from './app.ts';
import { readUsersConfig, type UsersConfig } from './config.ts';

/** Helpers for this service's own suites: one real service over HTTP on a fresh database. */

export const adminAccount = { email: 'root@example.com', password: 'root-password-1' };

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies as loosely as a client does
export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface TestUsers {
  service: UsersService;
  config: UsersConfig;
  store: TestStore;
  url: string;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  call<T = any>(method: string, path: string, options?: CallOptions): Promise<Reply<T>>;
  /** Registers a member (201 expected) and returns the user with a fresh login. */
  member(label?: string): Promise<Member>;
  login(email: string, password: string): Promise<Tokens>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is (malformed JSON tests). */
  raw?: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface Member extends Tokens {
  id: string;
  email: string;
  password: string;
  version: number;
}

let counter = 0;

export async function startTestUsers(label: string, env: Record<string, string> = {}): Promise<TestUsers> {
  const store = await freshStore(label);
  return startOn(store, env, true);
}

/**
 * An instance on an existing store, which it does not drop on close: a second instance beside a
 * running one (PostgreSQL only), or a restart on the same data.
 */
export async function startOnStore(store: TestStore, env: Record<string, string> = {}): Promise<TestUsers> {
  return startOn(store, env, false);
}

async function startOn(store: TestStore, env: Record<string, string>, owns: boolean): Promise<TestUsers> {
  const config = readUsersConfig({
    USERS_PORT: '0',
    DATA_DIR: store.dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(store.url ? { USERS_DATABASE_URL: store.url } : {}),
    ADMIN_EMAIL: adminAccount.email,
    ADMIN_PASSWORD: adminAccount.password,
    ...env,
  });
  const service = await startUsersService(config);

  const call = async <T>(method: string, path: string, options: CallOptions = {}): Promise<Reply<T>> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${service.url}${path}`, { method, headers, body });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };

  const login = async (email: string, password: string): Promise<Tokens> => {
    const reply = await call<Tokens>('POST', '/v1/auth/login', { body: { email, password } });
    if (reply.status !== 200) throw new Error(`login of ${email} answered ${reply.status}`);
    return reply.body;
  };

  let adminAccess: string | undefined;
  return {
    service,
    config,
    store,
    url: service.url,
    call,
    login,
    async member(label = 'member') {
      counter += 1;
      const email = `${label}-${counter}-${Date.now()}@example.com`;
      const password = `password-${counter}-long`;
      const created = await call<{ id: string; version: number }>('POST', '/v1/users', {
        body: { email, name: `${label} ${counter}`, password },
      });
      if (created.status !== 201) throw new Error(`registration answered ${created.status}`);
      const tokens = await login(email, password);
      return { id: created.body.id, email, password, version: created.body.version, ...tokens };
    },
    async adminToken() {
      adminAccess ??= (await login(adminAccount.email, adminAccount.password)).accessToken;
      return adminAccess;
    },
    async close() {
      await service.close();
      if (owns) await store.drop();
    },
  };
}
