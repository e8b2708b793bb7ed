#!/usr/bin/env node
/**
 * `npm run soak`: the embedded server (`npm start`, in a child process of its own on fresh data) under
 * mixed traffic at a fixed rate through the gateway for a while (5 minutes by default):
 * registrations, logins, reads, cart changes, checkouts and lists. It reports the answers by status,
 * the server's heap at the start and the end (and its trend), and whether the outbox is drained at the
 * end; it exits 1 on any 5xx, a growing heap, or an outbox left behind.
 *
 *   npm run soak -- --duration 60 --rate 40
 *
 * The rate is open-loop (requests start on schedule whether or not earlier ones have answered, at
 * most `--max-in-flight` at once), so a slow server shows up as latency, not as less load. Traffic goes
 * only to 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    rate: { type: 'string', default: '40' },
    'max-in-flight': { type: 'string', default: '64' },
    'sample-every': { type: 'string', default: '10' },
  },
});

function positive(flag: string, raw: string, max: number): number {
  const value = Number(raw.replace(/s$/, ''));
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    process.stderr.write(`--${flag} must be a number between 1 and ${max}, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}

const durationS = raw(values.duration).endsWith('m')
  ? positive('duration', values.duration.slice(0, -1), 600) * 60
  : positive('duration', values.duration, 36_000);
const rate = positive('rate', values.rate, 2000);
const maxInFlight = positive('max-in-flight', values['max-in-flight'], 1000);
const sampleEveryS = positive('sample-every', values['sample-every'], 600);

function raw(value: string): string {
  return value.trim();
}

const admin = { email: 'soak-admin@example.com', password: 'soak admin password' };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Server {
  child: ChildProcess;
  gateway: string;
  services: Record<string, string>;
  output: () => string;
}

/** Starts `armature start` and learns the services' internal URLs from their "listening" log lines. */
async function startServer(dataDir: string): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'packages/cli/src/armature.ts'), 'start'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      RATE_LIMIT_MAX_REQUESTS: '10000000',
      LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const services: Record<string, string> = {};
  const read = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-50_000);
    for (const line of text.split('\n')) {
      const match = /"service":"(\w+)".*"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/.exec(line);
      if (match) services[match[1]] = match[2];
    }
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const gateway = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited while starting:\n${output}`);
    const ready = await fetch(`${gateway}/health/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready && services.users && services.orders) return { child, gateway, services, output: () => output };
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`the server was not ready within 180 s:\n${output}`);
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  return response.text();
}

function metric(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

// ------------------------------------------------------------------------------------------------

interface Account {
  email: string;
  password: string;
  token?: string;
}

const counts = new Map<string, Map<number, number>>();
const latencies: number[] = [];
let inFlight = 0;
let skipped = 0;

function record(step: string, status: number, ms: number) {
  let byStatus = counts.get(step);
  if (!byStatus) {
    byStatus = new Map();
    counts.set(step, byStatus);
  }
  byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  latencies.push(ms);
}

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'armature-soak-'));
  process.stdout.write(`Starting the embedded server on fresh data (${dataDir})…\n`);
  const server = await startServer(dataDir);
  const stop = async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await soak(server);
  } finally {
    await stop();
  }
}

async function soak(server: Server) {
  const base = server.gateway;
  const call = async (step: string, method: string, path: string, token?: string, body?: unknown) => {
    const started = performance.now();
    let status = 0;
    // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
    let json: any;
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
      status = response.status;
      json = await response.json().catch(() => undefined);
    } catch {
      status = 0;
    }
    record(step, status, performance.now() - started);
    return { status, json };
  };

  // Set-up: an admin, a catalogue with deep stock, and a first pool of members.
  const adminToken = (await call('setup', 'POST', '/v1/auth/login', undefined, admin)).json?.accessToken;
  if (!adminToken) throw new Error(`the admin could not log in:\n${server.output()}`);
  const products: string[] = [];
  for (let i = 0; i < 20; i++) {
    const created = await call('setup', 'POST', '/v1/products', adminToken, {
      name: `Soak product ${i}`,
      price: 1 + i,
      stock: 100_000_000,
    });
    products.push(created.json.id);
  }
  const accounts: Account[] = [];
  let registered = 0;
  const register = async (step: string) => {
    const account: Account = {
      email: `soak-${registered++}-${Date.now()}@example.com`,
      password: 'soak member password',
    };
    const created = await call(step, 'POST', '/v1/users', undefined, { ...account, name: 'Soak member' });
    if (created.status === 201) accounts.push(account);
    return account;
  };
  const login = async (step: string, account: Account) => {
    const answer = await call(step, 'POST', '/v1/auth/login', undefined, {
      email: account.email,
      password: account.password,
    });
    if (answer.status === 200) account.token = answer.json.accessToken;
  };
  for (let i = 0; i < 10; i++) await login('setup', await register('setup'));

  const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)];
  const member = () => pick(accounts.filter((account) => account.token));
  /** The mix, by weight: mostly reads, some cart changes and checkouts, a few registrations and logins. */
  const steps: [weight: number, name: string, run: () => Promise<unknown>][] = [
    [2, 'register', () => register('register')],
    [4, 'login', () => login('login', pick(accounts))],
    [22, 'read product', () => call('read product', 'GET', `/v1/products/${pick(products)}`)],
    [12, 'list products', () => call('list products', 'GET', '/v1/products?limit=20&sort=-price')],
    [14, 'read me', () => call('read me', 'GET', '/v1/users/me', member().token)],
    [
      16,
      'cart',
      () =>
        call('cart', 'PUT', `/v1/users/me/cart/items/${pick(products)}`, member().token, {
          quantity: 1 + Math.floor(Math.random() * 3),
        }),
    ],
    [6, 'checkout', () => call('checkout', 'POST', '/v1/users/me/orders', member().token)],
    [12, 'list orders', () => call('list orders', 'GET', '/v1/users/me/orders?limit=10', member().token)],
    [6, 'read cart', () => call('read cart', 'GET', '/v1/users/me/cart', member().token)],
    [
      6,
      'list all orders (admin)',
      () => call('list all orders (admin)', 'GET', '/v1/orders?limit=20', adminToken),
    ],
  ];
  const totalWeight = steps.reduce((sum, [weight]) => sum + weight, 0);
  const choose = () => {
    let roll = Math.random() * totalWeight;
    for (const step of steps) {
      roll -= step[0];
      if (roll < 0) return step;
    }
    return steps[0];
  };

  const heap: { at: number; bytes: number }[] = [];
  const sampleHeap = async () => {
    const text = await scrape(base).catch(() => '');
    const bytes = metric(text, 'nodejs_heap_size_used_bytes');
    if (bytes !== undefined) heap.push({ at: (Date.now() - started) / 1000, bytes });
  };

  process.stdout.write(`Soaking: ${rate} requests/s for ${durationS} s through ${base}…\n`);
  const started = Date.now();
  await sampleHeap();
  const intervalMs = 1000 / rate;
  const endAt = started + durationS * 1000;
  const pending = new Set<Promise<unknown>>();
  let nextSample = started + sampleEveryS * 1000;
  let sent = 0;
  const maxRequests = Math.ceil(rate * durationS) + 1;
  for (let due = started; due < endAt && sent < maxRequests; due += intervalMs) {
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    if (Date.now() >= nextSample) {
      nextSample += sampleEveryS * 1000;
      void sampleHeap();
    }
    if (inFlight >= maxInFlight) {
      skipped++;
      continue;
    }
    sent++;
    inFlight++;
    const run = choose()[2]()
      .catch(() => undefined)
      .finally(() => {
        inFlight--;
        pending.delete(run);
      });
    pending.add(run);
  }
  await Promise.all(pending);
  const elapsedS = (Date.now() - started) / 1000;
  await sampleHeap();

  // The outbox: every event written must have been published once the traffic stops.
  let outbox: Record<string, number | undefined> = {};
  const outboxDeadline = Date.now() + 60_000;
  for (;;) {
    outbox = {};
    for (const [name, url] of Object.entries(server.services)) {
      outbox[name] = metric(await scrape(url).catch(() => ''), 'events_outbox_backlog');
    }
    const values = Object.values(outbox);
    if (values.every((value) => value === undefined || value === 0) || Date.now() > outboxDeadline) break;
    await sleep(1000);
  }

  report({ elapsedS, sent, heap, outbox });
  if (server.child.exitCode !== null || server.child.signalCode !== null) {
    process.stdout.write(
      `\nThe server exited during the soak (${server.child.exitCode ?? server.child.signalCode}); its last output:\n${server.output().slice(-4000)}\n`,
    );
    process.exitCode = 1;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(result: {
  elapsedS: number;
  sent: number;
  heap: { at: number; bytes: number }[];
  outbox: Record<string, number | undefined>;
}) {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const lines: string[] = [];
  let fiveHundreds = 0;
  let errors = 0;
  let total = 0;
  lines.push('', 'step                         answers by status');
  for (const [step, byStatus] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    const parts = [...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status || 'no answer'}×${count}`);
    for (const [status, count] of byStatus) {
      total += count;
      if (status >= 500) fiveHundreds += count;
      if (status === 0) errors += count;
    }
    lines.push(`${step.padEnd(28)} ${parts.join('  ')}`);
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const first = result.heap[0];
  const last = result.heap.at(-1);
  // Least-squares slope of heap over time, per minute: a leak shows as a steady climb.
  let slopePerMinute = 0;
  if (result.heap.length >= 3) {
    const n = result.heap.length;
    const meanX = result.heap.reduce((sum, s) => sum + s.at, 0) / n;
    const meanY = result.heap.reduce((sum, s) => sum + s.bytes, 0) / n;
    const num = result.heap.reduce((sum, s) => sum + (s.at - meanX) * (s.bytes - meanY), 0);
    const den = result.heap.reduce((sum, s) => sum + (s.at - meanX) ** 2, 0);
    slopePerMinute = den === 0 ? 0 : (num / den) * 60;
  }
  const maxHeap = Math.max(...result.heap.map((s) => s.bytes));
  const heapGrowth = first && last ? last.bytes - first.bytes : 0;
  // Flat: the end within 50% (and 64 MB) of the start, or no steady climb.
  const flat = !first || !last || heapGrowth < Math.max(64 * 1024 * 1024, first.bytes * 0.5);
  const drained = Object.values(result.outbox).every((value) => value === undefined || value === 0);
  lines.push(
    '',
    `duration            ${result.elapsedS.toFixed(0)} s at ${rate}/s (${result.sent} started, ${skipped} skipped at the in-flight cap)`,
    `answers             ${total} (${fiveHundreds} 5xx, ${errors} without an answer)`,
    `latency             p50 ${percentile(sorted, 50).toFixed(1)} ms  p95 ${percentile(sorted, 95).toFixed(1)} ms  p99 ${percentile(sorted, 99).toFixed(1)} ms  max ${percentile(sorted, 100).toFixed(0)} ms`,
    `server heap         start ${first ? mb(first.bytes) : 'n/a'}  end ${last ? mb(last.bytes) : 'n/a'}  max ${mb(maxHeap)}  trend ${(slopePerMinute / 1024 / 1024).toFixed(2)} MB/min over ${result.heap.length} samples`,
    `outbox backlog      ${Object.entries(result.outbox)
      .map(([name, value]) => `${name} ${value ?? 'n/a (no events)'}`)
      .join('  ')}`,
    '',
    `verdict             ${fiveHundreds === 0 && errors === 0 ? 'zero 5xx' : 'FAILED: 5xx or unanswered requests'}; heap ${flat ? 'flat' : 'GROWING'}; outbox ${drained ? 'drained' : 'NOT drained'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      durationS: Math.round(result.elapsedS),
      rate,
      answers: total,
      fiveHundreds,
      unanswered: errors,
      p50Ms: Number(percentile(sorted, 50).toFixed(1)),
      p99Ms: Number(percentile(sorted, 99).toFixed(1)),
      heapStartMb: first ? Number((first.bytes / 1048576).toFixed(1)) : null,
      heapEndMb: last ? Number((last.bytes / 1048576).toFixed(1)) : null,
      heapTrendMbPerMin: Number((slopePerMinute / 1048576).toFixed(2)),
      outbox: result.outbox,
    })}\n`,
  );
  if (fiveHundreds > 0 || errors > 0 || !flat || !drained) process.exitCode = 1;
}

await main();
