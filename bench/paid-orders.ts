#!/usr/bin/env node
/**
 * `npm run bench:payments -- [--mode embedded|scale-out|both] [--seconds 15] [--connections 16]`:
 * paid orders per second end to end (PUT cart + checkout with `pm_card_visa` through the gateway,
 * until the order is `paid`), and the latency from checkout to `paid` (p50, p99), beside the plain
 * checkout (no payment method) measured in the same run on the same system.
 *
 * Embedded runs `npm start`'s code in a child process; scale-out runs `start:cluster` (1 gateway,
 * 1 instance of each service, the provider simulator as its own process) on the machine's
 * PostgreSQL, Redis and NATS, on throwaway databases.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startCluster } from '../packages/cli/src/cluster.ts';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '16' },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const admin = { email: `bench-admin-${randomUUID()}@example.com`, password: 'bench admin password' };

interface Shopper {
  token: string;
  product: string;
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function shoppers(base: string, count: number): Promise<Shopper[]> {
  const login = await call(base, 'POST', '/v1/auth/login', undefined, admin);
  const adminToken = login.body.accessToken as string;
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const email = `bench-payer-${index}-${randomUUID()}@example.com`;
      await call(base, 'POST', '/v1/users', undefined, {
        email,
        name: 'Bench',
        password: 'bench password 1',
      });
      const token = (
        await call(base, 'POST', '/v1/auth/login', undefined, { email, password: 'bench password 1' })
      ).body.accessToken as string;
      const product = (
        await call(base, 'POST', '/v2/products', adminToken, {
          name: `Bench ${index} ${randomUUID().slice(0, 6)}`,
          price: { amount: 1000, currency: 'USD' },
          stock: 1_000_000_000,
        })
      ).body.id as string;
      return { token, product };
    }),
  );
}

/**
 * Checkouts for `seconds` from every shopper at once, each shopper one after the other. With a
 * payment method, a shopper waits for its order to be `paid` (polling it every 10 ms) before the
 * next: the figure is then paid orders per second, and the latency is from sending the checkout to
 * seeing the order paid.
 */
async function load(base: string, people: Shopper[], paymentMethod: string | undefined) {
  const stopAt = Date.now() + seconds * 1000;
  let completed = 0;
  let errors = 0;
  const latencies: number[] = [];
  await Promise.all(
    people.map(async (shopper) => {
      while (Date.now() < stopAt) {
        const began = performance.now();
        const put = await call(base, 'PUT', `/v1/users/me/cart/items/${shopper.product}`, shopper.token, {
          quantity: 1,
        });
        const out = await call(
          base,
          'POST',
          '/v1/users/me/orders',
          shopper.token,
          paymentMethod ? { paymentMethod } : {},
        );
        if (put.status !== 200 || out.status !== 201) {
          errors++;
          continue;
        }
        if (paymentMethod) {
          const deadline = Date.now() + 30_000;
          let status = out.body.status as string;
          while (status !== 'paid' && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            status = (await call(base, 'GET', `/v1/orders/${out.body.id}`, shopper.token)).body.status;
          }
          if (status !== 'paid') {
            errors++;
            continue;
          }
        }
        latencies.push(performance.now() - began);
        completed++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    completed,
    errors,
    perSecond: completed / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} never became ready`);
}

async function measure(label: string, base: string) {
  const people = await shoppers(base, connections);
  const plain = await load(base, people, undefined);
  const paid = await load(base, people, 'pm_card_visa');
  const line = (name: string, value: string) =>
    process.stdout.write(`${label.padEnd(10)} ${name.padEnd(46)} ${value}\n`);
  line(
    'checkout, no payment method (orders/s)',
    `${plain.perSecond.toFixed(0)}, p50 ${plain.p50.toFixed(0)} ms, p99 ${plain.p99.toFixed(0)} ms, errors ${plain.errors}`,
  );
  line(
    'paid orders/s (checkout with pm_card_visa → paid)',
    `${paid.perSecond.toFixed(0)}, errors ${paid.errors}`,
  );
  line('checkout → paid latency', `p50 ${paid.p50.toFixed(0)} ms, p99 ${paid.p99.toFixed(0)} ms`);
  line('paid / plain checkout', (paid.perSecond / plain.perSecond).toFixed(2));
}

async function embedded(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'armature-bench-paid-'));
  const port = 18_500 + Math.floor(Math.random() * 500);
  const child = spawn(process.execPath, ['packages/cli/src/armature.ts', 'start'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      RATE_LIMIT_MAX_REQUESTS: '10000000',
    },
    stdio: 'inherit',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base);
    await measure('embedded', base);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function scaleOut(): Promise<void> {
  const suffix = randomUUID().slice(0, 8);
  const names = ['users', 'orders', 'payments'].map((service) => `armature_bench_${suffix}_${service}`);
  const server = 'postgres://postgres@127.0.0.1:5432';
  const basePort = 19_000 + Math.floor(Math.random() * 500);
  const cluster = await startCluster({
    instances: { users: 1, orders: 1, payments: 1 },
    gateways: 1,
    basePort,
    stdio: 'ignore',
    env: {
      ...process.env,
      USERS_DATABASE_URL: `${server}/${names[0]}`,
      ORDERS_DATABASE_URL: `${server}/${names[1]}`,
      PAYMENTS_DATABASE_URL: `${server}/${names[2]}`,
      REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
      NATS_URL: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
      EVENTS_STREAM: `EVENTS_BENCH_${suffix.toUpperCase()}`,
      LOG_LEVEL: 'error',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      RATE_LIMIT_MAX_REQUESTS: '10000000',
      RATE_LIMIT_KEY_PREFIX: `armature:bench:${suffix}:`,
    },
  });
  try {
    await measure('scale-out', cluster.gatewayUrls[0]!);
  } finally {
    await cluster.close();
    const adminPool = new pg.Pool({ connectionString: `${server}/postgres`, max: 1 });
    for (const name of names) await adminPool.query(`drop database if exists ${name} with (force)`);
    await adminPool.end();
  }
}

process.stdout.write(
  `paid orders: ${seconds} s per phase, ${connections} shoppers, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}\n`,
);
if (values.mode === 'embedded' || values.mode === 'both') await embedded();
if (values.mode === 'scale-out' || values.mode === 'both') await scaleOut();
