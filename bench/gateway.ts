/**
 * The gateway's cost: the same authenticated `GET /v1/users/me` sent straight to the users service
 * and through the gateway (JWT check, rate limit, proxy), in one run, plus a plain
 * Fastify + @fastify/reply-from proxy (no auth, no limits) as an anchor. Every server runs as its own
 * process, as in production, logging at `info` to a file; the load generator (autocannon) runs here.
 *
 *   npx node bench/gateway.ts
 *
 * BENCH_DURATION (s per target, default 12), BENCH_ROUNDS (turns the targets take, default 3),
 * BENCH_CONNECTIONS (default 16), BENCH_WARMUP (s, default 3).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const duration = Number(process.env.BENCH_DURATION ?? 12);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const root = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every process started, stopped at the end whatever happened. */
const children: ChildProcess[] = [];

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
}

/** Starts a server process logging to a file and waits until it answers. */
async function startServer(
  name: string,
  entry: string,
  env: Record<string, string>,
  port: number,
  dir: string,
) {
  const log = openSync(join(dir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [join(root, entry)], {
    env: { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', ...env },
    stdio: ['ignore', log, log],
  });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited:\n${readFileSync(join(dir, `${name}.log`), 'utf8')}`);
    try {
      const response = await fetch(`${url}/health/live`);
      await response.arrayBuffer();
      if (response.status < 500) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { name, url, child } satisfies Server;
}

/** CPU time (user + system, ms) a process has used, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return Number.NaN;
  }
}

function gatewayEnv(upstream: string, port: number): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    USERS_SERVICE_URLS: upstream,
    // Only users routes are measured; the other entries just have to name a live service.
    ORDERS_SERVICE_URLS: upstream,
    PAYMENTS_SERVICE_URLS: upstream,
    RATE_LIMIT_MAX_REQUESTS: '10000000',
  };
}

interface Measured {
  target: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  non2xx: number;
  cpuPerRequestUs: Record<string, number>;
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

interface Slice {
  requests: number;
  seconds: number;
  latencies: number[];
  errors: number;
  non2xx: number;
  cpuMs: Record<string, number>;
}

/** One stretch of load on one URL, with the CPU time each watched process spent meanwhile. */
async function load(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  watch: Server[],
): Promise<Slice> {
  const before = watch.map((server) => cpuMs(server.child.pid));
  // autocannon's own histogram has 1 ms steps; keep every latency, in fractions of a ms, for percentiles.
  const latencies: number[] = [];
  const instance = autocannon({ url, headers, connections, duration: seconds, pipelining: 1 });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
  });
  const result = await instance;
  const after = watch.map((server) => cpuMs(server.child.pid));
  const spent: Record<string, number> = {};
  watch.forEach((server, index) => {
    spent[server.name] = after[index] - before[index];
  });
  return {
    requests: result.requests.total,
    seconds,
    latencies,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    cpuMs: spent,
  };
}

function summarise(slices: Slice[]): Omit<Measured, 'target'> {
  const requests = slices.reduce((sum, slice) => sum + slice.requests, 0);
  const seconds = slices.reduce((sum, slice) => sum + slice.seconds, 0);
  const sorted = Float64Array.from(slices.flatMap((slice) => slice.latencies)).sort();
  const cpuPerRequestUs: Record<string, number> = {};
  for (const slice of slices) {
    for (const [name, ms] of Object.entries(slice.cpuMs)) {
      cpuPerRequestUs[name] = (cpuPerRequestUs[name] ?? 0) + (ms * 1000) / Math.max(1, requests);
    }
  }
  return {
    requestsPerSecond: requests / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    errors: slices.reduce((sum, slice) => sum + slice.errors, 0),
    non2xx: slices.reduce((sum, slice) => sum + slice.non2xx, 0),
    cpuPerRequestUs,
  };
}

const dir = await mkdtemp(join(tmpdir(), 'armature-bench-'));
try {
  const [usersPort, gatewayPort, proxyPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const users = await startServer(
    'users',
    'services/users/src/main.ts',
    { USERS_HOST: '127.0.0.1', USERS_PORT: String(usersPort), DATA_DIR: dir },
    usersPort,
    dir,
  );
  const [gateway, proxy] = await Promise.all([
    startServer(
      'gateway',
      'services/gateway/src/main.ts',
      gatewayEnv(users.url, gatewayPort),
      gatewayPort,
      dir,
    ),
    startServer(
      'plain-proxy',
      'bench/support/plain-proxy.ts',
      { UPSTREAM_URL: users.url, PORT: String(proxyPort) },
      proxyPort,
      dir,
    ),
  ]);

  const email = `bench-${Date.now()}@example.com`;
  const password = 'bench password 123';
  const json = { 'content-type': 'application/json' };
  const registered = await fetch(`${gateway.url}/v1/users`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, name: 'Bench', password }),
  });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
  const login = await fetch(`${gateway.url}/v1/auth/login`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email, password }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  const headers = { authorization: `Bearer ${accessToken}` };

  // The same bytes /users/me answers, from a stub that costs next to nothing: in front of it, what is
  // measured is the proxy itself.
  const sample = await fetch(`${users.url}/v1/users/me`, { headers });
  const jwks = await (await fetch(`${users.url}/.well-known/jwks.json`)).text();
  const [stubPort, stubGatewayPort, stubProxyPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const stub = await startServer(
    'stub',
    'bench/support/stub-upstream.ts',
    { PORT: String(stubPort), STUB_BODY: await sample.text(), STUB_JWKS: jwks },
    stubPort,
    dir,
  );
  const [stubGateway, stubProxy] = await Promise.all([
    startServer(
      'gateway-stub',
      'services/gateway/src/main.ts',
      gatewayEnv(stub.url, stubGatewayPort),
      stubGatewayPort,
      dir,
    ),
    startServer(
      'plain-proxy-stub',
      'bench/support/plain-proxy.ts',
      { UPSTREAM_URL: stub.url, PORT: String(stubProxyPort) },
      stubProxyPort,
      dir,
    ),
  ]);

  const scenarios: Array<{ title: string; processes: Server[]; targets: Array<[string, string]> }> = [
    {
      title: 'GET /v1/users/me, authenticated, real users service',
      processes: [users, gateway, proxy],
      targets: [
        ['users service, direct', `${users.url}/v1/users/me`],
        ['through the gateway', `${gateway.url}/v1/users/me`],
        ['plain reply-from proxy (no auth)', `${proxy.url}/v1/users/me`],
      ],
    },
    {
      title: 'the same request and bytes, from a bare Fastify stub (the proxy is what costs)',
      processes: [stub, stubGateway, stubProxy],
      targets: [
        ['stub, direct', `${stub.url}/v1/users/me`],
        ['through the gateway', `${stubGateway.url}/v1/users/me`],
        ['plain reply-from proxy (no auth)', `${stubProxy.url}/v1/users/me`],
      ],
    },
  ];

  const fixed = (value: number, digits = 2) => value.toFixed(digits);
  console.log(
    `\n${connections} connections, ${duration} s per target in ${rounds} turns, after ${warmup} s of warm-up`,
  );
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`);
  for (const scenario of scenarios) {
    // Targets take turns, a slice each per round, so a change in the machine's load touches all alike.
    for (const [, url] of scenario.targets) await load(url, headers, warmup, []);
    const slices: Slice[][] = scenario.targets.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [index, [, url]] of scenario.targets.entries()) {
        slices[index].push(await load(url, headers, duration / rounds, scenario.processes));
      }
    }
    const results: Measured[] = scenario.targets.map(([target], index) => ({
      target,
      ...summarise(slices[index]),
    }));
    const names = scenario.processes.map((server) => server.name);
    console.log(`\n${scenario.title}\n`);
    console.log(
      `| target | req/s | p50 ms | p99 ms | p99.9 ms | errors | non-2xx | CPU µs/req (${names.join(' / ')}) |`,
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---|');
    for (const result of results) {
      const cpu = names.map((name) => fixed(result.cpuPerRequestUs[name] ?? 0, 0)).join(' / ');
      console.log(
        `| ${result.target} | ${fixed(result.requestsPerSecond, 0)} | ${fixed(result.p50)} | ${fixed(result.p99)} | ${fixed(result.p999)} | ${result.errors} | ${result.non2xx} | ${cpu} |`,
      );
    }
    const [direct, through, plain] = results;
    console.log('');
    console.log(
      `gateway / direct, requests/s:       ${fixed(through.requestsPerSecond / direct.requestsPerSecond)}`,
    );
    console.log(`gateway - direct, median latency:   ${fixed(through.p50 - direct.p50)} ms`);
    console.log(
      `gateway / plain proxy, requests/s:  ${fixed(through.requestsPerSecond / plain.requestsPerSecond)}`,
    );
  }
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve),
        ),
    ),
  );
  await rm(dir, { recursive: true, force: true });
}
