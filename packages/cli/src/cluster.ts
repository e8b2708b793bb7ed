#!/usr/bin/env node
/**
 * The scale-out topology on one machine: N instances of each service of the contract's catalog and M
 * gateway processes on PostgreSQL (one database per service), Redis and NATS.
 * `npm run start:cluster -- --users 2 --orders 2 --gateways 2` (a service not named gets 2).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serviceNames } from '@armature/contracts/services';
import pg from 'pg';
import { loadServices, serviceVariables } from './services.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

export interface ClusterOptions {
  /** Instances of each service, by name; a service not named gets 2. */
  instances?: Partial<Record<string, number>>;
  gateways: number;
  /** Gateways listen on basePort, basePort+1, …; the catalog's first service on basePort+100…, its second on basePort+200…, and so on. */
  basePort: number;
  env: Record<string, string | undefined>;
  /** Where child output goes; default: inherited. */
  stdio?: 'inherit' | 'ignore';
  /** When set, each process's output is appended to `<logDir>/<name>.log` instead. */
  logDir?: string;
  /** How long a process may take to be ready (default 60 s). */
  readyTimeoutMs?: number;
  /** Told of every process as it is spawned (so a caller interrupted mid-start can stop them). */
  onSpawn?: (name: string, child: ChildProcess) => void;
}

export interface Cluster {
  gatewayUrls: string[];
  /** Each service's instances, by name. */
  serviceUrls: Record<string, string[]>;
  processes: Map<string, ChildProcess>;
  /** Kills one instance (e.g. `orders-1`) with a signal, for fault tests. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a killed instance again on the same port. */
  restart(name: string): Promise<void>;
  close(): Promise<void>;
}

const defaults: Record<string, string> = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  NATS_URL: 'nats://127.0.0.1:4222',
  ...Object.fromEntries(
    serviceNames.map((name) => [
      serviceVariables(name).databaseUrl,
      `postgres://postgres@127.0.0.1:5432/armature_${name.replaceAll('-', '_')}`,
    ]),
  ),
};
const defaultInstances = 2;

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

async function waitReady(url: string, child: ChildProcess, name: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
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
  throw new Error(`${name} was not ready at ${url} within ${timeoutMs / 1000} s`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const env: Record<string, string | undefined> = {
    ...defaults,
    ...Object.fromEntries(Object.entries(options.env).filter(([, v]) => v !== undefined)),
  };
  const modules = await loadServices();
  for (const module of modules) await ensureDatabase(env[serviceVariables(module.name).databaseUrl]!);
  const processes = new Map<string, ChildProcess>();
  const specs = new Map<string, { script: string; env: Record<string, string | undefined>; url: string }>();

  const spawnInstance = async (name: string) => {
    const spec = specs.get(name)!;
    const log = options.logDir ? openSync(join(options.logDir, `${name}.log`), 'a') : undefined;
    const child = spawn(process.execPath, [spec.script], {
      cwd: root,
      env: { ...env, ...spec.env },
      stdio: log === undefined ? (options.stdio ?? 'inherit') : ['ignore', log, log],
    });
    if (log !== undefined) closeSync(log);
    processes.set(name, child);
    options.onSpawn?.(name, child);
    await waitReady(spec.url, child, name, options.readyTimeoutMs);
  };

  const url = (port: number) => `http://127.0.0.1:${port}`;
  const serviceUrls: Record<string, string[]> = {};
  const portsOf: Record<string, number[]> = {};
  modules.forEach((module, index) => {
    const count = options.instances?.[module.name] ?? defaultInstances;
    portsOf[module.name] = Array.from({ length: count }, (_, i) => options.basePort + 100 * (index + 1) + i);
    serviceUrls[module.name] = portsOf[module.name]!.map(url);
  });
  // Every process learns where every service is (`USERS_SERVICE_URLS`, `ORDERS_SERVICE_URLS`, …).
  const everyService = Object.fromEntries(
    modules.map((module) => [serviceVariables(module.name).serviceUrls, serviceUrls[module.name]!.join(',')]),
  );
  const gatewayUrls = Array.from({ length: options.gateways }, (_, i) => url(options.basePort + i));

  for (const [index, module] of modules.entries()) {
    const sidecar = module.sidecar;
    if (sidecar && !env[sidecar.urlVariable]) {
      // One per service, on the service's port range + 50, reached by every instance.
      const port = options.basePort + 100 * (index + 1) + 50;
      specs.set(sidecar.name, {
        script: sidecar.main,
        env: sidecar.env({ port, gatewayUrl: url(options.basePort) }),
        url: url(port),
      });
      everyService[sidecar.urlVariable] = url(port);
    }
    portsOf[module.name]!.forEach((port, i) => {
      specs.set(`${module.name}-${i + 1}`, {
        script: module.main,
        env: { ...everyService, [serviceVariables(module.name).port]: String(port) },
        url: url(port),
      });
    });
  }
  gatewayUrls.forEach((gatewayUrl, i) => {
    specs.set(`gateway-${i + 1}`, {
      script: 'services/gateway/src/main.ts',
      env: {
        ...everyService,
        PORT: String(options.basePort + i),
        HOST: '127.0.0.1',
        // Each gateway knows the others, so that the console's map shows them all.
        GATEWAY_PEER_URLS: gatewayUrls.filter((other) => other !== gatewayUrl).join(','),
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
    // In the catalog's order (the users service first: the others fetch its keys), then the
    // gateways; the instances of one service in parallel.
    const sidecars = modules.flatMap((module) =>
      module.sidecar && specs.has(module.sidecar.name) ? [module.sidecar.name] : [],
    );
    await Promise.all(sidecars.map(spawnInstance));
    for (const group of [...modules.map((module) => `${module.name}-`), 'gateway-']) {
      await Promise.all([...specs.keys()].filter((name) => name.startsWith(group)).map(spawnInstance));
    }
  } catch (error) {
    await close();
    throw error;
  }

  return {
    gatewayUrls,
    serviceUrls,
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
      ...Object.fromEntries(serviceNames.map((name) => [name, { type: 'string' as const }])),
      gateways: { type: 'string', default: '1' },
      'base-port': { type: 'string', default: '9000' },
    },
  });
  const flags = values as Record<string, string | undefined>;
  const count = (flag: string, raw: string, max: number) => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      process.stderr.write(`--${flag} must be an integer between 1 and ${max}, got "${raw}"\n`);
      process.exit(1);
    }
    return value;
  };
  const cluster = await startCluster({
    instances: Object.fromEntries(
      serviceNames.map((name) => [name, count(name, flags[name] ?? String(defaultInstances), 16)]),
    ),
    gateways: count('gateways', flags.gateways!, 16),
    basePort: count('base-port', flags['base-port']!, 65_000),
    env: process.env,
  });
  const services = Object.entries(cluster.serviceUrls).map(([name, urls]) => `${name} ${urls.join(' ')}`);
  process.stdout.write(
    `Armature cluster: gateways ${cluster.gatewayUrls.join(' ')}; ${services.join('; ')}\n`,
  );
  const stop = async () => {
    await cluster.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
