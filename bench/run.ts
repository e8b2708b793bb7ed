/**
 * `npm run bench`: every scenario against the scale-out topology (separate processes on the machine's
 * PostgreSQL, Redis and NATS) and the embedded one (one process on PGlite), next to the baselines
 * (a bare Fastify handler returning the same bytes, the service without the gateway, nginx and a
 * plain @fastify/reply-from proxy in front of the same service), in one run. Prints a table and the
 * ratios, writes bench/results/latest.json and regenerates the tables of docs/benchmarks.md.
 *
 *   npm run bench                  full run (BENCH_DURATION s per row, default 10, after 3 s of warm-up)
 *   npm run bench -- --quick       a smoke run: 2 s per row, results to bench/results/quick.json only
 *   npm run bench -- --only me,checkout   only these scenarios (me, proxy, product, orders, checkout, login)
 *   npm run bench -- --topology embedded  only one topology (scale-out or embedded)
 *
 * The load generator (autocannon) runs in this process; every server is another process.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Cluster, startCluster } from '../packages/cli/src/cluster.ts';
import { type BenchRequest, type LoadOptions, runLoad } from './lib/load.ts';
import { ensureNginx, startNginx } from './lib/nginx.ts';
import { BenchDatabases, deleteRedisKeys } from './lib/postgres.ts';
import {
  type CpuProbe,
  childProbe,
  freePort,
  pidsNamed,
  pidsProbe,
  portIsFree,
  root,
  type Server,
  selfProbe,
  startServer,
  stopServer,
} from './lib/processes.ts';
import {
  computeRatios,
  type RatioSpec,
  type Row,
  ratiosTable,
  replaceSection,
  resultsTable,
  rowsWithErrors,
} from './lib/report.ts';
import { type Fixture, orderCount, productFor, seed } from './lib/seed.ts';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    topology: { type: 'string' },
  },
});
const quick = flags.quick;
const seconds = quick ? 2 : Number(process.env.BENCH_DURATION ?? 10);
const warmupSeconds = quick ? 1 : Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const scenarioKeys = ['me', 'proxy', 'product', 'orders', 'checkout', 'login'] as const;
const selected = new Set(flags.only ? flags.only.split(',').map((key) => key.trim()) : scenarioKeys);
for (const key of selected) {
  if (!(scenarioKeys as readonly string[]).includes(key)) {
    process.stderr.write(`--only takes a list of ${scenarioKeys.join(', ')}; got "${key}"\n`);
    process.exit(2);
  }
}

const topologies = new Set(flags.topology ? [flags.topology] : ['scale-out', 'embedded']);
if (flags.topology && !['scale-out', 'embedded'].includes(flags.topology)) {
  process.stderr.write(`--topology is scale-out or embedded; got "${flags.topology}"\n`);
  process.exit(2);
}
const partial = Boolean(flags.only || flags.topology);

const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'armature-bench-'));
const admin = { email: `bench-admin-${runId}@example.com`, password: `bench admin password ${runId}` };
const log = (line: string) => process.stdout.write(`${line}\n`);
const notes: string[] = [];
const rows: Row[] = [];
const servers: Server[] = [];
/** What to undo, latest first: stop processes, drop databases, delete keys (also on Ctrl-C). */
const cleanups: Array<() => Promise<unknown>> = [];
async function cleanUp(): Promise<void> {
  for (const server of servers.splice(0).reverse()) await stopServer(server);
  for (const step of cleanups.splice(0).reverse()) {
    await step().catch((error: unknown) => notes.push(`clean-up failed: ${String(error)}`));
  }
}
const loadgen = selfProbe('load generator');

/** Settings every process of the bench shares: quiet logs, limits far above the load, long tokens. */
const commonEnv: Record<string, string> = {
  LOG_LEVEL: 'warn',
  RATE_LIMIT_MAX_REQUESTS: '10000000',
  LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
  RATE_LIMIT_KEY_PREFIX: `armature:bench:${runId}:`,
  ACCESS_TOKEN_TTL_SECONDS: '3600',
  ADMIN_EMAIL: admin.email,
  ADMIN_PASSWORD: admin.password,
  CURSOR_SECRET: `bench-cursor-secret-${runId}`,
};

/** The environment without any adapter URL, so a child picks only what it is given. */
function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of [
    'USERS_DATABASE_URL',
    'ORDERS_DATABASE_URL',
    'REDIS_URL',
    'NATS_URL',
    'USERS_SERVICE_URLS',
    'ORDERS_SERVICE_URLS',
    'PORT',
    'USERS_PORT',
    'ORDERS_PORT',
  ])
    delete env[name];
  return env;
}

interface Measure {
  id: string;
  scenario: string;
  target: string;
  origin: string;
  requests: BenchRequest[];
  perConnection?: (index: number) => BenchRequest[];
  operationStatus?: number;
  probes: CpuProbe[];
  expectsRefusals?: boolean;
  note?: string;
  /** Runs between the warm-up and the measured run (e.g. listing the PostgreSQL backends to watch). */
  before?: () => Promise<void>;
  /** Shorter than the others (the deliberate login limit needs no long run). */
  seconds?: number;
  /** A cached read: after the warm-up, one request must answer `X-Cache: HIT`. */
  cached?: boolean;
  /**
   * Writes whose requests depend on each other (a cart, then its checkout): the warm-up runs as
   * other users than the measured run, so that a request of the previous run still in flight when
   * it stopped cannot empty a cart the next run has just filled.
   */
  ownWarmupUsers?: boolean;
}

async function measure(spec: Measure): Promise<Row> {
  const load: LoadOptions = {
    origin: spec.origin,
    requests: spec.requests,
    perConnection: spec.perConnection,
    connections,
    seconds: warmupSeconds,
    operationStatus: spec.operationStatus,
  };
  const perConnection = spec.perConnection;
  const warm = await runLoad(
    spec.ownWarmupUsers && perConnection
      ? { ...load, perConnection: (index) => perConnection(index + connections) }
      : load,
  );
  let cache: string | undefined;
  if (spec.cached && !spec.id.endsWith('.bare')) {
    const [request] = spec.perConnection ? spec.perConnection(0) : spec.requests;
    const response = await fetch(`${spec.origin}${request!.path}`, { headers: request!.headers });
    await response.arrayBuffer();
    cache = response.headers.get('x-cache') ?? 'none';
    if (cache !== 'HIT')
      notes.push(`${spec.id}: after the warm-up the answer was X-Cache: ${cache}, not HIT`);
  }
  await spec.before?.();
  const result = await runLoad({ ...load, seconds: spec.seconds ?? seconds, probes: spec.probes });
  const row: Row = {
    id: spec.id,
    scenario: spec.scenario,
    target: spec.target,
    ...result,
    ...(spec.expectsRefusals ? { expectsRefusals: true } : {}),
    ...(spec.note ? { note: spec.note } : {}),
    ...(cache ? { cache } : {}),
  };
  rows.push(row);
  const warmErrors = spec.expectsRefusals ? 0 : warm.errors;
  log(
    `  ${spec.id.padEnd(20)} ${Math.round(row.rate).toString().padStart(7)}/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.errors}${warmErrors ? ` (+${warmErrors} in warm-up)` : ''}`,
  );
  if (warmErrors)
    notes.push(
      `${spec.id}: ${warmErrors} non-2xx answers during its warm-up (${JSON.stringify(warm.statuses)})`,
    );
  return row;
}

// ---------------------------------------------------------------- the requests of each scenario

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = { 'content-type': 'application/json' };

function scenarioRequests(fixture: Fixture) {
  const shopper = (index: number) => fixture.shoppers[index % fixture.shoppers.length]!;
  const me = (i: number): BenchRequest[] => [{ path: '/v1/users/me', headers: auth(shopper(i).token) }];
  const product = (i: number): BenchRequest[] => [
    { path: `/v1/products/${fixture.products[i % fixture.products.length]}` },
  ];
  const orders = (i: number): BenchRequest[] => [
    { path: '/v1/orders?limit=20', headers: auth(shopper(i).token) },
  ];
  // One checkout = two requests in a row on one connection: one unit of the shopper's own product
  // into the cart (200), then the checkout (201). Each connection is its own shopper, so carts never
  // mix; stock is ample, so every checkout succeeds.
  const checkout = (i: number): BenchRequest[] => {
    const s = shopper(i);
    return [
      {
        method: 'PUT',
        path: `/v1/users/${s.id}/cart/items/${productFor(fixture, i % fixture.shoppers.length)}`,
        headers: { ...auth(s.token), ...jsonHeaders },
        body: '{"quantity":1}',
      },
      {
        method: 'POST',
        path: `/v1/users/${s.id}/orders`,
        headers: { ...auth(s.token), ...jsonHeaders },
        body: '{}',
      },
    ];
  };
  const login = (i: number): BenchRequest[] => [
    {
      method: 'POST',
      path: '/v1/auth/login',
      headers: jsonHeaders,
      body: JSON.stringify({ email: shopper(i).email, password: shopper(i).password }),
    },
  ];
  return { me, product, orders, checkout, login };
}

const titles = {
  me: 'GET /v1/users/me',
  proxy: 'GET /v1/users/me, proxy-bound',
  product: 'GET /v1/products/{id}',
  orders: 'GET /v1/orders?limit=20',
  checkout: 'checkout (orders/s)',
  login: 'POST /v1/auth/login',
};

/** Records what the real services answer, for the bare server to answer with the same bytes. */
async function recordResponses(
  origin: string,
  fixture: Fixture,
  requests: ReturnType<typeof scenarioRequests>,
) {
  const recorded: Array<{ method: string; url: string; status: number; contentType: string; body: string }> =
    [];
  const keep = async (request: BenchRequest) => {
    const response = await fetch(`${origin}${request.path}`, {
      method: request.method ?? 'GET',
      headers: request.headers,
      body: request.body,
    });
    const body = await response.text();
    if (response.status >= 300) throw new Error(`recording ${request.path}: ${response.status} ${body}`);
    recorded.push({
      method: request.method ?? 'GET',
      url: request.path,
      status: response.status,
      contentType: response.headers.get('content-type') ?? 'application/json',
      body,
    });
  };
  for (const request of [
    ...requests.me(0),
    ...requests.product(0),
    ...requests.orders(0),
    ...requests.checkout(0),
    ...requests.login(0),
    { path: '/.well-known/jwks.json' },
  ])
    await keep(request);
  void fixture;
  return recorded;
}

// ---------------------------------------------------------------- the scale-out topology

async function clusterBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = [base, base + 100, base + 101, base + 200, base + 201];
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error('no free ports for the cluster');
}

async function scaleOut(nginxBinary: string | undefined): Promise<void> {
  const databases = new BenchDatabases(runId);
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  cleanups.push(
    () => databases.drop(),
    () => deleteRedisKeys(redisUrl, `armature:bench:${runId}:`),
  );
  try {
    const env = {
      ...baseEnv(),
      ...commonEnv,
      USERS_DATABASE_URL: databases.url('users'),
      ORDERS_DATABASE_URL: databases.url('orders'),
      REDIS_URL: redisUrl,
      NATS_URL: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    };
    log('scale-out: starting 2 users, 2 orders and 1 gateway processes (PostgreSQL, Redis, NATS)');
    const cluster: Cluster = await startCluster({
      users: 2,
      orders: 2,
      gateways: 1,
      basePort: await clusterBasePort(),
      env,
      stdio: 'inherit',
    });
    const started = cluster;
    cleanups.push(async () => {
      // The gateway first, so it does not report the services going away.
      await started.kill('gateway-1', 'SIGTERM');
      await started.close();
    });
    const [users1] = cluster.usersUrls;
    const [orders1] = cluster.ordersUrls;
    const proc = (name: string) => cluster.processes.get(name)!;
    // A second gateway in front of one instance of each service: "×1" rows; the cluster's own
    // gateway spreads over two: "×2" rows.
    const gatewayPort = await freePort();
    const gateway1 = await startServer({
      name: 'gateway-x1',
      script: 'services/gateway/src/main.ts',
      env: {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        USERS_SERVICE_URLS: users1,
        ORDERS_SERVICE_URLS: orders1,
      },
      url: `http://127.0.0.1:${gatewayPort}`,
      logDir: dir,
    });
    servers.push(gateway1);

    log('scale-out: seeding');
    const fixture = await seed(gateway1.url, {
      admin,
      products: 64,
      shoppers: 2 * Math.max(connections, 16),
      ordersPerShopper: quick ? 25 : 40,
      runId,
    });
    const requests = scenarioRequests(fixture);
    const recorded = await recordResponses(gateway1.url, fixture, requests);
    const responsesFile = join(dir, 'responses.json');
    writeFileSync(responsesFile, JSON.stringify(recorded));

    const start = async (name: string, script: string, extra: Record<string, string>) => {
      const port = await freePort();
      const server = await startServer({
        name,
        script,
        env: { ...env, ...extra, HOST: '127.0.0.1', PORT: String(port) },
        url: `http://127.0.0.1:${port}`,
        logDir: dir,
      });
      servers.push(server);
      return server;
    };
    const bare = await start('bare', 'bench/support/bare-server.ts', { BARE_RESPONSES: responsesFile });
    // In front of the bare server, one gateway with in-process rate limits (what a single gateway
    // runs with) and one with the shared Redis buckets of the scale-out topology.
    const gatewayBare = await start('gateway-bare', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: bare.url,
      ORDERS_SERVICE_URLS: bare.url,
      REDIS_URL: '',
    });
    const gatewayBareRedis = await start('gateway-bare-redis', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: bare.url,
      ORDERS_SERVICE_URLS: bare.url,
    });
    const replyFrom = await start('reply-from', 'bench/support/plain-proxy.ts', { UPSTREAM_URL: users1! });
    const replyFromBare = await start('reply-from-bare', 'bench/support/plain-proxy.ts', {
      UPSTREAM_URL: bare.url,
    });
    const rawProxyBare = await start('raw-proxy-bare', 'bench/support/raw-proxy.ts', {
      UPSTREAM_URL: bare.url,
    });
    const gatewayLimits = await start('gateway-login-limit', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: users1!,
      ORDERS_SERVICE_URLS: orders1!,
      LOGIN_RATE_LIMIT_MAX_REQUESTS: '5',
      LOGIN_RATE_LIMIT_WINDOW_MS: '60000',
    });
    let nginx: Server | undefined;
    let nginxBare: Server | undefined;
    if (nginxBinary) {
      nginx = await startNginx({
        binary: nginxBinary,
        name: 'nginx',
        upstream: users1!,
        port: await freePort(),
        dir,
      });
      nginxBare = await startNginx({
        binary: nginxBinary,
        name: 'nginx-bare',
        upstream: bare.url,
        port: await freePort(),
        dir,
      });
      servers.push(nginx, nginxBare);
    }

    const pgPids: number[] = [];
    const pg = pidsProbe('postgres', () => pgPids);
    const refreshPg = async () => {
      pgPids.splice(0, pgPids.length, ...(await databases.backendPids()));
    };
    const redisPids = pidsNamed('redis-server');
    const redis = pidsProbe('redis', () => redisPids);
    const p = {
      gateway1: childProbe('gateway', gateway1.child),
      gateway2: childProbe('gateway', proc('gateway-1')),
      users1: childProbe('users', proc('users-1')),
      users2: childProbe('users-2', proc('users-2')),
      orders1: childProbe('orders', proc('orders-1')),
      orders2: childProbe('orders-2', proc('orders-2')),
      bare: childProbe('bare', bare.child),
    };
    const gw2 = cluster.gatewayUrls[0]!;

    if (selected.has('me')) {
      const s = titles.me;
      log(s);
      const base = {
        scenario: s,
        requests: requests.me(0),
        perConnection: requests.me,
        before: refreshPg,
        cached: true,
      };
      await measure({
        ...base,
        id: 'me.bare',
        target: 'bare Fastify, same bytes',
        origin: bare.url,
        perConnection: undefined,
        probes: [loadgen, p.bare],
      });
      await measure({
        ...base,
        id: 'me.direct',
        target: 'users service, direct',
        origin: users1!,
        probes: [loadgen, p.users1, pg, redis],
      });
      await measure({
        ...base,
        id: 'me.gateway',
        target: 'through the gateway',
        origin: gateway1.url,
        probes: [loadgen, p.gateway1, p.users1, pg, redis],
      });
      await measure({
        ...base,
        id: 'me.gateway2',
        target: 'through the gateway, 2 users instances',
        origin: gw2,
        probes: [loadgen, p.gateway2, p.users1, p.users2, pg, redis],
      });
      if (nginx)
        await measure({
          ...base,
          id: 'me.nginx',
          target: 'nginx-light in front, no auth',
          origin: nginx.url,
          probes: [loadgen, childProbe('nginx', nginx.child), p.users1, pg, redis],
        });
      await measure({
        ...base,
        id: 'me.replyfrom',
        target: 'plain reply-from proxy, no auth',
        origin: replyFrom.url,
        probes: [loadgen, childProbe('proxy', replyFrom.child), p.users1, pg, redis],
      });
    }
    if (selected.has('proxy')) {
      const s = titles.proxy;
      log(`${s} (in front of the bare server)`);
      const base = { scenario: s, requests: requests.me(0), perConnection: requests.me };
      if (!selected.has('me'))
        await measure({
          ...base,
          id: 'me.bare',
          target: 'bare Fastify, same bytes',
          scenario: titles.me,
          origin: bare.url,
          perConnection: undefined,
          probes: [loadgen, p.bare],
        });
      await measure({
        ...base,
        id: 'proxy.gateway',
        target: 'the gateway (JWT, in-process rate limit)',
        origin: gatewayBare.url,
        probes: [loadgen, childProbe('gateway', gatewayBare.child), p.bare],
      });
      await measure({
        ...base,
        id: 'proxy.gateway-redis',
        target: 'the gateway (JWT, rate limit in Redis)',
        origin: gatewayBareRedis.url,
        probes: [loadgen, childProbe('gateway', gatewayBareRedis.child), p.bare, redis],
      });
      if (nginxBare)
        await measure({
          ...base,
          id: 'proxy.nginx',
          target: 'nginx-light, no auth',
          origin: nginxBare.url,
          probes: [loadgen, childProbe('nginx', nginxBare.child), p.bare],
        });
      await measure({
        ...base,
        id: 'proxy.replyfrom',
        target: 'plain reply-from proxy, no auth',
        origin: replyFromBare.url,
        probes: [loadgen, childProbe('proxy', replyFromBare.child), p.bare],
      });
      await measure({
        ...base,
        id: 'proxy.raw',
        target: 'node:http + undici, no framework, no auth (the floor of a Node proxy)',
        origin: rawProxyBare.url,
        probes: [loadgen, childProbe('proxy', rawProxyBare.child), p.bare],
      });
    }
    if (selected.has('product')) {
      const s = titles.product;
      log(s);
      const base = {
        scenario: s,
        requests: requests.product(0),
        perConnection: requests.product,
        before: refreshPg,
        cached: true,
      };
      await measure({
        ...base,
        id: 'product.bare',
        target: 'bare Fastify, same bytes',
        origin: bare.url,
        perConnection: undefined,
        probes: [loadgen, p.bare],
      });
      await measure({
        ...base,
        id: 'product.direct',
        target: 'orders service, direct',
        origin: orders1!,
        probes: [loadgen, p.orders1, pg, redis],
      });
      await measure({
        ...base,
        id: 'product.gateway',
        target: 'through the gateway',
        origin: gateway1.url,
        probes: [loadgen, p.gateway1, p.orders1, pg, redis],
      });
      await measure({
        ...base,
        id: 'product.gateway2',
        target: 'through the gateway, 2 orders instances',
        origin: gw2,
        probes: [loadgen, p.gateway2, p.orders1, p.orders2, pg, redis],
      });
    }
    if (selected.has('orders')) {
      const s = titles.orders;
      log(s);
      const base = {
        scenario: s,
        requests: requests.orders(0),
        perConnection: requests.orders,
        before: refreshPg,
      };
      await measure({
        ...base,
        id: 'orders.bare',
        target: 'bare Fastify, same bytes',
        origin: bare.url,
        perConnection: undefined,
        probes: [loadgen, p.bare],
      });
      await measure({
        ...base,
        id: 'orders.direct',
        target: 'orders service, direct',
        origin: orders1!,
        probes: [loadgen, p.orders1, pg, redis],
      });
      await measure({
        ...base,
        id: 'orders.gateway',
        target: 'through the gateway',
        origin: gateway1.url,
        probes: [loadgen, p.gateway1, p.orders1, pg, redis],
      });
      await measure({
        ...base,
        id: 'orders.gateway2',
        target: 'through the gateway, 2 orders instances',
        origin: gw2,
        probes: [loadgen, p.gateway2, p.orders1, p.orders2, pg, redis],
      });
    }
    if (selected.has('checkout')) {
      const s = titles.checkout;
      log(s);
      const base = {
        scenario: s,
        requests: requests.checkout(0),
        perConnection: requests.checkout,
        ownWarmupUsers: true,
        operationStatus: 201,
        before: refreshPg,
      };
      await measure({
        ...base,
        id: 'checkout.bare',
        target: 'bare Fastify, same bytes',
        origin: bare.url,
        perConnection: undefined,
        probes: [loadgen, p.bare],
      });
      const before = await orderCount(gateway1.url, fixture.adminToken);
      const counted: Row[] = [];
      counted.push(
        await measure({
          ...base,
          id: 'checkout.direct',
          target: 'orders service, direct',
          origin: orders1!,
          probes: [loadgen, p.orders1, pg, redis],
        }),
      );
      counted.push(
        await measure({
          ...base,
          id: 'checkout.gateway',
          target: 'through the gateway',
          origin: gateway1.url,
          probes: [loadgen, p.gateway1, p.orders1, pg, redis],
        }),
      );
      counted.push(
        await measure({
          ...base,
          id: 'checkout.gateway2',
          target: 'through the gateway, 2 orders instances',
          origin: gw2,
          probes: [loadgen, p.gateway2, p.orders1, p.orders2, pg, redis],
        }),
      );
      await checkOrders('scale-out', gateway1.url, fixture, before, counted);
    }
    if (selected.has('login')) {
      const s = titles.login;
      log(s);
      const base = {
        scenario: s,
        requests: requests.login(0),
        perConnection: requests.login,
        before: refreshPg,
      };
      await measure({
        ...base,
        id: 'login.bare',
        target: 'bare Fastify, same bytes',
        origin: bare.url,
        perConnection: undefined,
        probes: [loadgen, p.bare],
      });
      await measure({
        ...base,
        id: 'login.direct',
        target: 'users service, direct',
        origin: users1!,
        probes: [loadgen, p.users1, pg],
      });
      await measure({
        ...base,
        id: 'login.gateway',
        target: 'through the gateway',
        origin: gateway1.url,
        probes: [loadgen, p.gateway1, p.users1, pg, redis],
      });
      await measure({
        ...base,
        id: 'login.gateway2',
        target: 'through the gateway, 2 users instances',
        origin: gw2,
        probes: [loadgen, p.gateway2, p.users1, p.users2, pg, redis],
      });
      // Scaling out is adding instances that each bring their own CPU. On this machine one users
      // instance already hashes on both cores (Argon2id runs on libuv's thread pool), so a second one
      // adds no core. Pinned to one core each, as containers with a one-CPU limit would be, the same
      // two rows show what a second instance adds.
      const pinned = pinInstances([proc('users-1').pid, proc('users-2').pid]);
      if (pinned) {
        try {
          await measure({
            ...base,
            id: 'login.pinned',
            target: 'through the gateway, 1 users instance on one core',
            origin: gateway1.url,
            probes: [loadgen, p.gateway1, p.users1, pg, redis],
          });
          await measure({
            ...base,
            id: 'login.pinned2',
            target: 'through the gateway, 2 users instances on one core each',
            origin: gw2,
            probes: [loadgen, p.gateway2, p.users1, p.users2, pg, redis],
          });
        } finally {
          unpinInstances([proc('users-1').pid, proc('users-2').pid]);
        }
      } else {
        notes.push('no one-core-per-instance login rows: taskset is missing or there are fewer than 2 cores');
      }
      await measure({
        ...base,
        id: 'login.limited',
        target: 'through the gateway at the default login limit',
        note: '5 per minute per address and email; every connection logs in as one shopper',
        origin: gatewayLimits.url,
        perConnection: undefined,
        probes: [loadgen, childProbe('gateway', gatewayLimits.child), p.users1],
        expectsRefusals: true,
        seconds: Math.min(seconds, 3),
      });
    }
  } finally {
    await cleanUp();
  }
}

/**
 * Pins the i-th process (all its threads) to core i with `taskset`; false when it cannot (no
 * taskset, fewer cores than processes).
 */
function pinInstances(pids: Array<number | undefined>): boolean {
  if (cpus().length < pids.length || pids.some((pid) => pid === undefined)) return false;
  try {
    pids.forEach((pid, core) => {
      execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
    });
    return true;
  } catch {
    unpinInstances(pids);
    return false;
  }
}

/** Lets the processes run on every core again. */
function unpinInstances(pids: Array<number | undefined>): void {
  const all = `0-${cpus().length - 1}`;
  for (const pid of pids) {
    if (pid === undefined) continue;
    try {
      execFileSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
    } catch {
      // The process may be gone; nothing to undo then.
    }
  }
}

/** Every 201 of a checkout run must be one more order: compares the count before and after. */
async function checkOrders(
  topology: string,
  origin: string,
  fixture: Fixture,
  before: number,
  counted: Row[],
) {
  const after = await orderCount(origin, fixture.adminToken);
  // Warm-ups check out too; their 201s are not in the rows, so count what the rows do not explain.
  const measured = counted.reduce((sum, row) => sum + (row.statuses['201'] ?? 0), 0);
  const extra = after - before - measured;
  log(
    `  ${topology}: ${after - before} orders made, ${measured} of them in measured runs, ${extra} in warm-ups`,
  );
  if (extra < 0)
    notes.push(
      `${topology}: fewer orders in the database than 201 answers (${after - before} < ${measured})`,
    );
}

// ---------------------------------------------------------------- the embedded topology

async function embedded(): Promise<void> {
  const wanted = ['me', 'product', 'orders', 'checkout', 'login'].filter((key) => selected.has(key));
  if (wanted.length === 0) return;
  const port = await freePort();
  const urlsFile = join(dir, 'embedded-urls.json');
  const dataDir = join(dir, 'embedded-data');
  mkdirSync(dataDir);
  log('embedded: starting one process (PGlite, in-process cache, bus and rate limits)');
  const server = await startServer({
    name: 'embedded',
    script: 'bench/support/embedded-main.ts',
    env: {
      ...baseEnv(),
      ...commonEnv,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      BENCH_URLS_FILE: urlsFile,
    },
    url: `http://127.0.0.1:${port}`,
    readyPath: '/health/ready',
    // Creating two PGlite databases and migrating them takes a while on a busy machine.
    readyTimeoutMs: 300_000,
    logDir: dir,
  });
  servers.push(server);
  try {
    log('embedded: seeding');
    const fixture = await seed(server.url, {
      admin,
      products: 64,
      shoppers: 2 * Math.max(connections, 16),
      ordersPerShopper: quick ? 25 : 40,
      runId,
    });
    const requests = scenarioRequests(fixture);
    const probes = [loadgen, childProbe('embedded', server.child)];
    const target = 'embedded, through the gateway';
    if (selected.has('me'))
      await measure({
        id: 'me.embedded',
        scenario: titles.me,
        target,
        origin: server.url,
        requests: requests.me(0),
        perConnection: requests.me,
        probes,
        cached: true,
      });
    if (selected.has('product'))
      await measure({
        id: 'product.embedded',
        scenario: titles.product,
        target,
        origin: server.url,
        requests: requests.product(0),
        perConnection: requests.product,
        probes,
        cached: true,
      });
    if (selected.has('orders'))
      await measure({
        id: 'orders.embedded',
        scenario: titles.orders,
        target,
        origin: server.url,
        requests: requests.orders(0),
        perConnection: requests.orders,
        probes,
      });
    if (selected.has('checkout')) {
      const before = await orderCount(server.url, fixture.adminToken);
      const row = await measure({
        id: 'checkout.embedded',
        scenario: titles.checkout,
        target,
        origin: server.url,
        requests: requests.checkout(0),
        perConnection: requests.checkout,
        ownWarmupUsers: true,
        operationStatus: 201,
        probes,
      });
      await checkOrders('embedded', server.url, fixture, before, [row]);
    }
    if (selected.has('login'))
      await measure({
        id: 'login.embedded',
        scenario: titles.login,
        target,
        origin: server.url,
        requests: requests.login(0),
        perConnection: requests.login,
        probes,
      });
  } finally {
    await cleanUp();
  }
}

// ---------------------------------------------------------------- the report

const ratioSpecs: RatioSpec[] = [
  {
    name: 'me: gateway / direct, requests/s',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.direct',
    target: { op: '>=', threshold: 0.5 },
  },
  {
    name: 'me: gateway − direct, median latency',
    kind: 'p50-difference',
    a: 'me.gateway',
    b: 'me.direct',
    target: { op: '<', threshold: 1 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / nginx-light',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.nginx',
    target: { op: '>=', threshold: 0.6 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / plain reply-from',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.replyfrom',
    target: { op: '>=', threshold: 1.5 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / node:http + undici proxy',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.raw',
  },
  {
    name: 'proxy-bound: plain reply-from / node:http + undici proxy',
    kind: 'rate-ratio',
    a: 'proxy.replyfrom',
    b: 'proxy.raw',
  },
  {
    name: 'proxy-bound: gateway with Redis rate limits / nginx-light',
    kind: 'rate-ratio',
    a: 'proxy.gateway-redis',
    b: 'proxy.nginx',
  },
  {
    name: 'proxy-bound: gateway with Redis rate limits / plain reply-from',
    kind: 'rate-ratio',
    a: 'proxy.gateway-redis',
    b: 'proxy.replyfrom',
  },
  {
    name: 'me: gateway / nginx-light, in front of the users service',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.nginx',
  },
  {
    name: 'me: gateway / plain reply-from, in front of the users service',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.replyfrom',
  },
  {
    name: 'checkout, scale-out (2 orders instances)',
    kind: 'rate',
    a: 'checkout.gateway2',
    target: { op: '>=', threshold: 1000 },
    zeroErrors: true,
  },
  {
    name: 'checkout, scale-out (1 orders instance)',
    kind: 'rate',
    a: 'checkout.gateway',
    target: { op: '>=', threshold: 1000 },
    zeroErrors: true,
  },
  {
    name: 'checkout, embedded',
    kind: 'rate',
    a: 'checkout.embedded',
    target: { op: '>=', threshold: 300 },
    zeroErrors: true,
  },
  {
    name: 'list orders, scale-out (2 orders instances)',
    kind: 'rate',
    a: 'orders.gateway2',
    target: { op: '>=', threshold: 3000 },
    zeroErrors: true,
  },
  {
    name: 'list orders, scale-out (1 orders instance)',
    kind: 'rate',
    a: 'orders.gateway',
    target: { op: '>=', threshold: 3000 },
    zeroErrors: true,
  },
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: 2 instances / 1 instance, through the gateway`,
      kind: 'rate-ratio',
      a: `${key}.gateway2`,
      b: `${key}.gateway`,
      ...(key === 'login' ? { note: 'CPU-bound, instances share both cores' } : {}),
    }),
  ),
  {
    name: 'login: 2 instances / 1 instance, through the gateway, one core per instance',
    kind: 'rate-ratio',
    a: 'login.pinned2',
    b: 'login.pinned',
    target: { op: '>', threshold: 1 },
    note: 'CPU-bound',
  },
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: gateway / bare-Fastify ceiling`,
      kind: 'rate-ratio',
      a: `${key}.gateway`,
      b: `${key}.bare`,
    }),
  ),
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: embedded / scale-out`,
      kind: 'rate-ratio',
      a: `${key}.embedded`,
      b: `${key}.gateway`,
    }),
  ),
];

function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1]!.trim();
  } catch {
    // not Linux
  }
  return {
    nproc: cpus().length,
    cpu: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<void> {
  const started = new Date();
  const info = machine();
  const loadBefore = loadavg()[0]!;
  log(
    `Armature bench${quick ? ' (quick)' : ''}: ${connections} connections, ${seconds} s per row after ${warmupSeconds} s of warm-up`,
  );
  log(
    `machine: ${info.nproc} × ${info.cpu}, ${info.memoryGiB} GiB, Node ${info.node}; load average ${loadBefore.toFixed(2)}`,
  );
  log(
    `the load generator (autocannon) runs in this process and shares the ${info.nproc} cores with the servers; services log at warn`,
  );
  if (loadBefore > 1.5)
    notes.push(
      `the load average was ${loadBefore.toFixed(2)} when the run started: other work shared the machine`,
    );
  const nginx = ensureNginx(log);
  if (nginx.reason) {
    notes.push(`no nginx rows: ${nginx.reason}`);
    log(`nginx: ${nginx.reason}`);
  }
  try {
    if (topologies.has('scale-out')) await scaleOut(nginx.path);
    if (topologies.has('embedded')) await embedded();
  } finally {
    await cleanUp();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg()[0]!;
  const ratios = computeRatios(rows, ratioSpecs).filter((ratio) => Number.isFinite(ratio.value));
  for (const row of rowsWithErrors(rows))
    notes.push(`${row.id}: ${row.errors} errors (${JSON.stringify(row.statuses)})`);

  const table = resultsTable(rows);
  const ratioTable = ratiosTable(ratios);
  log(`\n${table}\n\n${ratioTable}\n`);
  for (const note of notes) log(`note: ${note}`);

  const report = {
    date: started.toISOString(),
    quick,
    settings: {
      connections,
      seconds,
      warmupSeconds,
      loadGenerator: 'autocannon (in the bench process)',
      logLevel: 'warn',
    },
    machine: { ...info, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
    rows,
    ratios,
    notes,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', quick || partial ? 'quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`written: ${file}`);
  if (quick || partial) return;

  const docPath = join(root, 'docs/benchmarks.md');
  let doc = readFileSync(docPath, 'utf8');
  doc = replaceSection(
    doc,
    'machine',
    [
      `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: ${info.nproc} cores (\`nproc\`) of an ${info.cpu},`,
      `${info.memoryGiB} GiB of memory, Node ${info.node}, ${info.platform}; load average ${loadBefore.toFixed(2)} at the start and`,
      `${loadAfter.toFixed(2)} at the end. ${connections} connections, ${seconds} s per row after ${warmupSeconds} s of warm-up; the load`,
      'generator runs on the same two cores as every server.',
    ].join('\n'),
  );
  doc = replaceSection(doc, 'results', table);
  doc = replaceSection(doc, 'ratios', ratioTable);
  doc = replaceSection(doc, 'notes', notes.length ? notes.map((note) => `- ${note}`).join('\n') : '- none');
  writeFileSync(docPath, doc);
  log(`updated: ${docPath}`);
}

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) process.exit(130);
  stopping = true;
  log('interrupted: stopping the servers and dropping the bench databases (again to force)');
  cleanUp().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
});

await main();
// Keep-alive sockets of the seeding fetches must not hold the process open.
process.exit(0);
