import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type Cluster, startCluster } from '../../packages/cli/src/cluster.ts';
import { startNginx } from '../lib/nginx.ts';
import { pgbenchAvailable, runPgbench } from '../lib/pgbench.ts';
import { BenchDatabases, deleteRedisKeys } from '../lib/postgres.ts';
import {
  childProbe,
  freePort,
  pidsNamed,
  pidsProbe,
  portIsFree,
  type Server,
  startServer,
} from '../lib/processes.ts';
import type { Row } from '../lib/report.ts';
import { createApiKeys, type Fixture, orderCount, seed } from '../lib/seed.ts';
import { recordResponses, scenarioRequests, titles } from './scenarios.ts';
import {
  admin,
  baseEnv,
  cleanUp,
  cleanups,
  commonEnv,
  connections,
  dir,
  loadgen,
  log,
  measure,
  measurePair,
  notes,
  quick,
  rows,
  runId,
  seconds,
  selected,
  servers,
} from './setup.ts';

/** The scale-out topology: separate processes on the machine's PostgreSQL, Redis and NATS, with its baselines. */

// ---------------------------------------------------------------- the scale-out topology

export async function clusterBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = [base, base + 100, base + 101, base + 200, base + 201];
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error('no free ports for the cluster');
}

export async function scaleOut(nginxBinary: string | undefined): Promise<void> {
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
      instances: { users: 2, orders: 2 },
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
    const [users1] = cluster.serviceUrls.users!;
    const [orders1] = cluster.serviceUrls.orders!;
    // Every gateway needs an address for each service of the catalog; no row calls payments.
    const payments1 = cluster.serviceUrls.payments?.[0] ?? 'http://127.0.0.1:9';
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
        PAYMENTS_SERVICE_URLS: payments1,
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
    const bare = await start('bare', 'bench/support/bare-server.ts', {
      BARE_RESPONSES: responsesFile,
      BARE_KEY_EXCHANGE_URL: users1!,
    });
    // An API key per shopper, for the row that authenticates with keys instead of tokens.
    const apiKeys = await createApiKeys(gateway1.url, fixture);
    // In front of the bare server, one gateway with in-process rate limits (what a single gateway
    // runs with) and one with the shared Redis buckets of the scale-out topology.
    const gatewayBare = await start('gateway-bare', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: bare.url,
      ORDERS_SERVICE_URLS: bare.url,
      PAYMENTS_SERVICE_URLS: payments1,
      REDIS_URL: '',
    });
    // The same gateway with the console's span store off: what the store costs a request.
    const gatewayBareUntraced = await start('gateway-bare-untraced', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: bare.url,
      ORDERS_SERVICE_URLS: bare.url,
      PAYMENTS_SERVICE_URLS: payments1,
      REDIS_URL: '',
      CONSOLE_TRACES: 'false',
    });
    const gatewayBareRedis = await start('gateway-bare-redis', 'services/gateway/src/main.ts', {
      USERS_SERVICE_URLS: bare.url,
      ORDERS_SERVICE_URLS: bare.url,
      PAYMENTS_SERVICE_URLS: payments1,
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
      PAYMENTS_SERVICE_URLS: payments1,
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
      // The console's span store on and off, in turns: the ratio must be read to a few per cent.
      await measurePair(
        {
          ...base,
          id: 'proxy.gateway',
          target: 'the gateway (JWT, in-process rate limit)',
          origin: gatewayBare.url,
          probes: [loadgen, childProbe('gateway', gatewayBare.child), p.bare],
        },
        {
          ...base,
          id: 'proxy.gateway-untraced',
          target: 'the gateway (JWT, in-process rate limit), console span store off',
          origin: gatewayBareUntraced.url,
          probes: [loadgen, childProbe('gateway', gatewayBareUntraced.child), p.bare],
        },
      );
      const withKeys = (i: number) => [
        { path: '/v1/users/me', headers: { 'x-api-key': apiKeys[i % apiKeys.length]! } },
      ];
      await measure({
        ...base,
        id: 'proxy.gateway-apikey',
        target: 'the gateway (API key, in-process rate limit)',
        origin: gatewayBare.url,
        requests: withKeys(0),
        perConnection: withKeys,
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
      // The database's own ceiling, on the same server in the same run: what a checkout is held to.
      if (pgbenchAvailable()) {
        const row = await runPgbench({
          adminUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
          database: `armature_bench_pgbench_${runId.replace(/\W/g, '_').toLowerCase()}`,
          connections,
          seconds,
          scenario: s,
        });
        rows.push(row);
        log(
          `  ${row.id.padEnd(20)} ${Math.round(row.rate).toString().padStart(7)}/s  latency ${row.p50.toFixed(2)} ms (average)`,
        );
      } else {
        notes.push(
          'pgbench is not installed (Debian: postgresql-client): the checkout rows have no database baseline',
        );
      }
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
export function pinInstances(pids: Array<number | undefined>): boolean {
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
export function unpinInstances(pids: Array<number | undefined>): void {
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
export async function checkOrders(
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
