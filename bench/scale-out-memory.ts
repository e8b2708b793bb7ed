/**
 * `npm run bench:scale-out-memory`: the resident size of each process of the scale-out topology
 * (`start:cluster` with one instance of each service and one gateway, on the machine's PostgreSQL,
 * Redis and NATS), at idle and after a mixed load, so that each can be sized on its own. Fresh
 * databases, stream and rate-limit keys of its own, dropped at the end.
 *
 *   npm run bench:scale-out-memory [-- --quick]
 *
 * Settings: BENCH_IDLE_SECONDS (default 10), BENCH_LOAD_SECONDS (60), BENCH_CONNECTIONS (8),
 * BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL, BENCH_NATS_URL.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from '../packages/cli/src/cluster.ts';
import { mixedLoad } from './lib/mixed-load.ts';
import { freePort } from './lib/processes.ts';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const idleSeconds = flags.quick ? 3 : Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const loadSeconds = flags.quick ? 5 : Number(process.env.BENCH_LOAD_SECONDS ?? 60);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const admin = { email: 'bench-admin@example.com', password: 'bench admin password' };
const server = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function statusMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return Number(match?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

const suffix = randomUUID().slice(0, 8);
const services = ['users', 'orders', 'payments'];
const databases = services.map((service) => `armature_bench_${suffix}_${service}`);
const basePort = await freePort().then((port) => 20_000 + (port % 20_000));
const loadAtStart = loadavg()[0]!;
log(`${cpus().length} cores, Node ${process.version}, load average ${loadAtStart.toFixed(2)}`);
const cluster = await startCluster({
  instances: { users: 1, orders: 1, payments: 1 },
  gateways: 1,
  basePort,
  stdio: 'ignore',
  env: {
    ...process.env,
    USERS_DATABASE_URL: `${server}/${databases[0]}`,
    ORDERS_DATABASE_URL: `${server}/${databases[1]}`,
    PAYMENTS_DATABASE_URL: `${server}/${databases[2]}`,
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    NATS_URL: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    EVENTS_STREAM: `EVENTS_BENCH_${suffix.toUpperCase()}`,
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    RATE_LIMIT_MAX_REQUESTS: '10000000',
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
    RATE_LIMIT_KEY_PREFIX: `armature:bench:${suffix}:`,
  },
});
try {
  await sleep(idleSeconds * 1000);
  const idle = new Map([...cluster.processes].map(([name, child]) => [name, statusMb(child.pid, 'VmRSS')]));
  const result = await mixedLoad(cluster.gatewayUrls[0]!, { admin, connections, seconds: loadSeconds });
  log(`${loadSeconds} s mixed load: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.errors} errors`);
  log('');
  log(`| process | idle RSS | RSS after ${loadSeconds} s of mixed load (peak) |`);
  log('|---|---:|---:|');
  for (const [name, child] of cluster.processes) {
    log(
      `| ${name} | ${idle.get(name)!.toFixed(0)} MB | ${statusMb(child.pid, 'VmRSS').toFixed(0)} MB (${statusMb(child.pid, 'VmHWM').toFixed(0)} MB) |`,
    );
  }
  log('');
  log(`load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`);
} finally {
  await cluster.close();
  const adminPool = new pg.Pool({ connectionString: `${server}/postgres`, max: 1 });
  for (const name of databases) await adminPool.query(`drop database if exists ${name} with (force)`);
  await adminPool.end();
}
