import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceNames } from '@armature/contracts/services';
import { type Cluster, startCluster } from '../../packages/cli/src/cluster.ts';
import { serviceVariables } from '../../packages/cli/src/services.ts';
import {
  cleanup,
  freePort,
  type OwnPostgres,
  type OwnServer,
  startOwnNats,
  startOwnPostgres,
  startOwnRedis,
} from '../faults/support.ts';
import { FaultProxy } from './fault-proxy.ts';

/**
 * The system a chaos run breaks: the scale-out topology (2 gateways, 2 instances of each service, the
 * payment provider simulator) on a PostgreSQL cluster, a Redis and a NATS of the run's own (free
 * ports, throwaway folders: nothing else on the machine is touched), with a fault proxy between the
 * services and each dependency: one per service's database (`users-db`, `orders-db`, …), one for Redis
 * and one for NATS.
 */

export interface Topology {
  cluster: Cluster;
  postgres: OwnPostgres;
  redis: OwnServer;
  nats: OwnServer;
  proxies: Map<string, FaultProxy>;
  gatewayUrls: string[];
  simulatorUrl: string;
  /** A service's database, straight to PostgreSQL (not through its proxy): what the invariants read. */
  databaseUrl(service: string): string;
  admin: { email: string; password: string };
  logDir: string;
  /** Stops everything the run started and removes its folders; safe to call twice. */
  close(): Promise<void>;
}

/** Whatever a topology being started has started so far: what an interrupt must stop. */
let closeStarted: (() => Promise<void>) | undefined;

/** Stops a topology still starting (or started); for Ctrl-C before `startTopology` has returned. */
export async function closeTopology(): Promise<void> {
  await closeStarted?.();
}

export const databaseName = (service: string) => `armature_${service.replaceAll('-', '_')}`;

/**
 * A base port whose gateway, service and sidecar ports are all free (the cluster's port layout),
 * reserved with a lock file so that two runs started together cannot both pick it (a port checked
 * free is not yet taken). A lock whose run is gone is taken over. Returns the base and its release.
 */
async function reserveBasePort(
  gateways: number,
  instances: number,
): Promise<{ base: number; release: () => Promise<void> }> {
  const { portIsFree } = await import('../../bench/lib/processes.ts');
  const span = 100 * (serviceNames.length + 1);
  const slots = Math.floor((32_000 - 10_000) / span);
  for (let attempt = 0; attempt < 100; attempt++) {
    // Below Linux's ephemeral range (32768 and up), where outgoing connections and port-0 listeners
    // would take them meanwhile; slots a whole layout apart, so two reservations never overlap.
    const base = 10_000 + Math.floor(Math.random() * slots) * span;
    const lock = join(tmpdir(), `armature-chaos-ports-${base}.lock`);
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
    } catch {
      const owner = Number(await readFile(lock, 'utf8').catch(() => '0'));
      if (owner > 0 && isAlive(owner)) continue;
      await writeFile(lock, String(process.pid));
    }
    const release = () => rm(lock, { force: true });
    const ports = [
      ...Array.from({ length: gateways }, (_, i) => base + i),
      ...serviceNames.flatMap((_, index) => [
        ...Array.from({ length: instances }, (_, i) => base + 100 * (index + 1) + i),
        base + 100 * (index + 1) + 50,
      ]),
    ];
    let free = true;
    for (const port of ports) if (!(await portIsFree(port))) free = false;
    if (free) return { base, release };
    await release();
  }
  throw new Error('no free range of ports for the cluster');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startTopology(options: {
  logDir?: string;
  env?: Record<string, string>;
  log: (line: string) => void;
}): Promise<Topology> {
  const ownLogDir = options.logDir === undefined;
  const logDir = options.logDir ?? (await mkdtemp(join(tmpdir(), 'armature-chaos-logs-')));
  const proxies = new Map<string, FaultProxy>();
  let cluster: Cluster | undefined;
  const children = new Set<ChildProcess>();
  let closed = false;
  let releasePorts = async () => {};
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const proxy of proxies.values()) proxy.set('pass');
    await cluster?.close().catch(() => undefined);
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const proxy of proxies.values()) await proxy.close().catch(() => undefined);
    await cleanup();
    await releasePorts();
    if (ownLogDir) await rm(logDir, { recursive: true, force: true });
  };
  closeStarted = close;
  try {
    const postgres = await startOwnPostgres({ maxConnections: 200, label: 'chaos-postgres' });
    const redis = await startOwnRedis();
    const nats = await startOwnNats();
    for (const name of serviceNames) await postgres.createDatabase(databaseName(name));
    const proxy = async (name: string, port: number) => {
      const created = new FaultProxy(name, port);
      await created.listen(await freePort());
      proxies.set(name, created);
      return created;
    };
    const env: Record<string, string> = {};
    for (const name of serviceNames) {
      const viaProxy = await proxy(`${name}-db`, postgres.port);
      env[serviceVariables(name).databaseUrl] =
        `postgres://postgres@127.0.0.1:${viaProxy.port}/${databaseName(name)}`;
    }
    env.REDIS_URL = `redis://127.0.0.1:${(await proxy('redis', redis.port)).port}`;
    env.NATS_URL = `nats://127.0.0.1:${(await proxy('nats', nats.port)).port}`;
    const admin = { email: 'chaos-admin@example.com', password: 'chaos admin password' };
    const reserved = await reserveBasePort(2, 2);
    releasePorts = reserved.release;
    const basePort = reserved.base;
    options.log(
      `topology: PostgreSQL :${postgres.port}, Redis :${redis.port}, NATS :${nats.port}, cluster ports from ${basePort}; logs in ${logDir}`,
    );
    cluster = await startCluster({
      gateways: 2,
      basePort,
      logDir,
      // A loaded machine can take minutes to start a dozen Node processes.
      readyTimeoutMs: 180_000,
      onSpawn: (_, child) => {
        children.add(child);
        // Spawned after an interrupt began closing: stopped at once.
        if (closed) child.kill('SIGKILL');
      },
      env: {
        ...process.env,
        ...env,
        LOG_LEVEL: 'warn',
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        RATE_LIMIT_MAX_REQUESTS: '10000000',
        LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
        ...options.env,
      },
    });
    const simulatorIndex = serviceNames.indexOf('payments');
    return {
      cluster,
      postgres,
      redis,
      nats,
      proxies,
      gatewayUrls: cluster.gatewayUrls,
      simulatorUrl: `http://127.0.0.1:${basePort + 100 * (simulatorIndex + 1) + 50}`,
      databaseUrl: (service) => postgres.url(databaseName(service)),
      admin,
      logDir,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
