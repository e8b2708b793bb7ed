#!/usr/bin/env node
/**
 * The scale-out topology on one machine: N users, N orders and M gateway processes on PostgreSQL
 * (one database per service), Redis and NATS. `npm run start:cluster -- --users 2 --orders 2 --gateways 2`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface ClusterOptions {
  users: number;
  orders: number;
  gateways: number;
  /** Gateways listen on basePort, basePort+1, …; services on basePort+100… and basePort+200…. */
  basePort: number;
  env: Record<string, string | undefined>;
  /** Where child output goes; default: inherited. */
  stdio?: 'inherit' | 'ignore';
}

export interface Cluster {
  gatewayUrls: string[];
  usersUrls: string[];
  ordersUrls: string[];
  processes: Map<string, ChildProcess>;
  /** Kills one instance (e.g. `orders-1`) with a signal, for fault tests. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed instance again on the same port. */
  restart(name: string): Promise<void>;
  close(): Promise<void>;
}

const defaults = {
  USERS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/armature_users',
  ORDERS_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/armature_orders',
  REDIS_URL: 'redis://127.0.0.1:6379',
  NATS_URL: 'nats://127.0.0.1:4222',
};

/** Creates a service's database when the server has none of that name (first start). */
async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database "${name.replaceAll('"', '""')}"`);
  } catch (error) {
    // Two starts racing to create it: the loser sees a duplicate, which is fine.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode} while starting`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} was not ready at ${url} within 60 s`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const env = {
    ...defaults,
    ...Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)),
  };
  await ensureDatabase(env.USERS_DATABASE_URL!);
  await ensureDatabase(env.ORDERS_DATABASE_URL!);
  const processes = new Map<string, ChildProcess>();
  const specs = new Map<string, { script: string; env: Record<string, string | undefined>; url: string }>();

  const spawnInstance = async (name: string) => {
    const spec = specs.get(name)!;
    const child = spawn(process.execPath, [spec.script], {
      cwd: root,
      env: { ...env, ...spec.env },
      stdio: options.stdio ?? 'inherit',
    });
    processes.set(name, child);
    await waitReady(spec.url, child, name);
  };

  const url = (port: number) => `http://127.0.0.1:${port}`;
  const usersUrls = Array.from({ length: options.users }, (_, i) => url(options.basePort + 100 + i));
  const ordersUrls = Array.from({ length: options.orders }, (_, i) => url(options.basePort + 200 + i));
  const gatewayUrls = Array.from({ length: options.gateways }, (_, i) => url(options.basePort + i));

  usersUrls.forEach((serviceUrl, i) => {
    specs.set(`users-${i + 1}`, {
      script: 'services/users/src/main.ts',
      env: { USERS_PORT: String(options.basePort + 100 + i) },
      url: serviceUrl,
    });
  });
  ordersUrls.forEach((serviceUrl, i) => {
    specs.set(`orders-${i + 1}`, {
      script: 'services/orders/src/main.ts',
      env: { ORDERS_PORT: String(options.basePort + 200 + i), USERS_SERVICE_URLS: usersUrls.join(',') },
      url: serviceUrl,
    });
  });
  gatewayUrls.forEach((gatewayUrl, i) => {
    specs.set(`gateway-${i + 1}`, {
      script: 'services/gateway/src/main.ts',
      env: {
        PORT: String(options.basePort + i),
        HOST: '127.0.0.1',
        USERS_SERVICE_URLS: usersUrls.join(','),
        ORDERS_SERVICE_URLS: ordersUrls.join(','),
      },
      url: gatewayUrl,
    });
  });

  const close = async () => {
    const running = [...processes.values()].filter(
      (child) => child.exitCode === null && child.signalCode === null,
    );
    await Promise.all(
      running.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
  };

  try {
    // Users first (the others fetch its keys), then orders, then the gateways; each group in parallel.
    for (const group of ['users-', 'orders-', 'gateway-']) {
      await Promise.all([...specs.keys()].filter((name) => name.startsWith(group)).map(spawnInstance));
    }
  } catch (error) {
    await close();
    throw error;
  }

  return {
    gatewayUrls,
    usersUrls,
    ordersUrls,
    processes,
    async kill(name, signal = 'SIGKILL') {
      const child = processes.get(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
    restart: spawnInstance,
    close,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '2' },
      orders: { type: 'string', default: '2' },
      gateways: { type: 'string', default: '1' },
      'base-port': { type: 'string', default: '9000' },
    },
  });
  const count = (flag: string, raw: string, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      process.stderr.write(`--${flag} must be an integer between 1 and ${max}, got "${raw}"\n`);
      process.exit(1);
    }
    return value;
  };
  const cluster = await startCluster({
    users: count('users', values.users, 16),
    orders: count('orders', values.orders, 16),
    gateways: count('gateways', values.gateways, 16),
    basePort: count('base-port', values['base-port'], 65_000),
    env: process.env,
  });
  process.stdout.write(
    `Armature cluster: gateways ${cluster.gatewayUrls.join(' ')}; users ${cluster.usersUrls.join(' ')}; orders ${cluster.ordersUrls.join(' ')}\n`,
  );
  const stop = async () => {
    await cluster.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
