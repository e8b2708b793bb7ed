/**
 * `npx node bench/cache.ts`: the same read served uncached and cached, in one run, on the service
 * directly (no gateway, so the rows differ by the cache alone):
 *
 *   - `GET /v1/users/me` (authenticated: token check + read of the caller), and
 *   - `GET /v1/products/{id}` (anonymous),
 *
 * each by a service process with `CACHE_ENABLED=false`, one with the in-process cache and one with
 * Redis, all three on one PostgreSQL database (one resource, one token), then the embedded mode
 * (PGlite) uncached and in-process. Prints requests/s, p50/p99 and CPU per request, and the ratios.
 *
 *   npx node bench/cache.ts [--quick] [--only me|product]
 *   BENCH_DURATION (s per row, default 10), BENCH_WARMUP (default 3), BENCH_CONNECTIONS (default 16),
 *   BENCH_POSTGRES_URL (default the local server as `postgres`), BENCH_REDIS_URL (default local).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type BenchRequest, runLoad } from './lib/load.ts';
import { deleteRedisKeys } from './lib/postgres.ts';
import { childProbe, freePort, type Server, startServer, stopServer } from './lib/processes.ts';
import { computeRatios, type RatioSpec, type Row, ratiosTable, resultsTable } from './lib/report.ts';

const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const scenarios = (flags.only ?? 'me,product').split(',').map((name) => name.trim());
const seconds = flags.quick ? 2 : Number(process.env.BENCH_DURATION ?? 10);
const warmupSeconds = flags.quick ? 1 : Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const postgresAdmin = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const logDir = mkdtempSync(join(tmpdir(), 'armature-bench-cache-'));
const admin = { email: `bench-admin-${runId}@example.com`, password: `bench admin password ${runId}` };
const redisPrefix = `armature:bench-cache:${runId}:`;
const log = (line: string) => process.stdout.write(`${line}\n`);
const servers: Server[] = [];
const databases: string[] = [];
const folders: string[] = [logDir];

type CacheMode = 'uncached' | 'in-process' | 'Redis';
const cacheEnv: Record<CacheMode, Record<string, string>> = {
  uncached: { CACHE_ENABLED: 'false', REDIS_URL: '' },
  'in-process': { REDIS_URL: '' },
  Redis: { REDIS_URL: redisUrl, CACHE_KEY_PREFIX: redisPrefix },
};

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdmin });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function freshDatabase(label: string): Promise<string> {
  const name = `armature_bench_cache_${label}_${runId}`;
  await adminQuery(`create database ${name}`);
  databases.push(name);
  const url = new URL(postgresAdmin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** One users and one orders process with the given cache, on the given databases (or PGlite in `dataDir`). */
async function startPair(label: string, mode: CacheMode, store: { users?: string; orders?: string }) {
  const dataDir = mkdtempSync(join(tmpdir(), `armature-bench-cache-${label}-`));
  folders.push(dataDir);
  const common = {
    PATH: process.env.PATH,
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    ...cacheEnv[mode],
  };
  const usersPort = await freePort();
  const users = await startServer({
    name: `users-${label}`,
    script: 'services/users/src/main.ts',
    env: { ...common, USERS_PORT: String(usersPort), USERS_DATABASE_URL: store.users },
    url: `http://127.0.0.1:${usersPort}`,
    logDir,
  });
  servers.push(users);
  const ordersPort = await freePort();
  const orders = await startServer({
    name: `orders-${label}`,
    script: 'services/orders/src/main.ts',
    env: {
      ...common,
      ORDERS_PORT: String(ordersPort),
      ORDERS_DATABASE_URL: store.orders,
      USERS_SERVICE_URLS: users.url,
    },
    url: `http://127.0.0.1:${ordersPort}`,
    logDir,
  });
  servers.push(orders);
  return { users, orders, dataDir };
}

async function call(url: string, method: string, body?: unknown, token?: string) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

/** A member with a token, and a product, created through this pair. */
async function seed(pair: { users: Server; orders: Server }) {
  const email = `bench-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'bench member password';
  await call(`${pair.users.url}/v1/users`, 'POST', { email, name: 'Bench Member', password });
  const { accessToken } = await call(`${pair.users.url}/v1/auth/login`, 'POST', { email, password });
  const adminToken = (await call(`${pair.users.url}/v1/auth/login`, 'POST', admin)).accessToken;
  const product = await call(
    `${pair.orders.url}/v1/products`,
    'POST',
    { name: 'Bench lamp', description: 'A lamp to read', price: 49.99, stock: 1_000_000 },
    adminToken,
  );
  return { token: accessToken as string, productId: product.id as string };
}

const rows: Row[] = [];

/** Warms up, checks the X-Cache the mode promises, then measures one row. */
async function measure(
  scenario: string,
  target: string,
  server: Server,
  request: BenchRequest,
  mode: CacheMode,
) {
  if (!scenarios.includes(scenario)) return;
  const url = `${server.url}${request.path}`;
  const headers = request.headers ?? {};
  await fetch(url, { headers }).then((response) => response.arrayBuffer());
  const check = await fetch(url, { headers });
  await check.arrayBuffer();
  const expected = mode === 'uncached' ? 'MISS' : 'HIT';
  if (check.status !== 200 || check.headers.get('x-cache') !== expected) {
    throw new Error(
      `${target}: expected 200 with X-Cache ${expected}, got ${check.status} ${check.headers.get('x-cache')}`,
    );
  }
  await runLoad({ origin: server.url, requests: [request], connections, seconds: warmupSeconds });
  const result = await runLoad({
    origin: server.url,
    requests: [request],
    connections,
    seconds,
    probes: [childProbe('service', server.child)],
  });
  const row: Row = { id: `${scenario}.${target}`, scenario, target, ...result };
  rows.push(row);
  log(
    `  ${row.id.padEnd(34)} ${Math.round(row.rate).toString().padStart(7)} req/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.errors}`,
  );
}

async function main() {
  log(
    `cache bench: ${seconds} s per row after ${warmupSeconds} s of warm-up, ${connections} connections, ${cpus().length} cores`,
  );
  const usersDb = await freshDatabase('users');
  const ordersDb = await freshDatabase('orders');
  const scaleOut = { users: usersDb, orders: ordersDb };

  log('PostgreSQL: one database, a users and an orders process per cache mode');
  const pairs = {} as Record<CacheMode, Awaited<ReturnType<typeof startPair>>>;
  for (const mode of ['uncached', 'in-process', 'Redis'] as const)
    pairs[mode] = await startPair(mode, mode, scaleOut);
  const fixture = await seed(pairs.uncached);
  const me: BenchRequest = { path: '/v1/users/me', headers: { authorization: `Bearer ${fixture.token}` } };
  const product: BenchRequest = { path: `/v1/products/${fixture.productId}` };
  for (const mode of ['uncached', 'in-process', 'Redis'] as const) {
    await measure('me', `postgres ${mode}`, pairs[mode].users, me, mode);
  }
  for (const mode of ['uncached', 'in-process', 'Redis'] as const) {
    await measure('product', `postgres ${mode}`, pairs[mode].orders, product, mode);
  }
  for (const mode of ['uncached', 'in-process', 'Redis'] as const) {
    await Promise.all([stopServer(pairs[mode].users), stopServer(pairs[mode].orders)]);
  }

  log('PGlite (embedded): a users and an orders process per cache mode, each on its own data');
  for (const mode of ['uncached', 'in-process'] as const) {
    const pair = await startPair(`embedded-${mode}`, mode, {});
    const own = await seed(pair);
    await measure(
      'me',
      `pglite ${mode}`,
      pair.users,
      { path: '/v1/users/me', headers: { authorization: `Bearer ${own.token}` } },
      mode,
    );
    await measure('product', `pglite ${mode}`, pair.orders, { path: `/v1/products/${own.productId}` }, mode);
    await Promise.all([stopServer(pair.users), stopServer(pair.orders)]);
  }

  const specs: RatioSpec[] = [];
  for (const scenario of ['me', 'product']) {
    for (const [store, modes] of [
      ['postgres', ['in-process', 'Redis']],
      ['pglite', ['in-process']],
    ] as const) {
      for (const mode of modes) {
        specs.push({
          name: `${scenario}: ${store} ${mode} cache vs uncached`,
          kind: 'rate-ratio',
          a: `${scenario}.${store} ${mode}`,
          b: `${scenario}.${store} uncached`,
        });
      }
    }
  }
  log('');
  log(resultsTable(rows));
  log('');
  log(ratiosTable(computeRatios(rows, specs)));
}

try {
  await main();
} finally {
  await Promise.all(servers.map((server) => stopServer(server)));
  for (const name of databases)
    await adminQuery(`drop database if exists ${name} with (force)`).catch(() => {});
  await deleteRedisKeys(redisUrl, redisPrefix).catch(() => {});
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}
