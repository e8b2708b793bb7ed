import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * What the fault suites share: real processes of our own (PostgreSQL, Redis, NATS, the embedded
 * server) on free loopback ports and throwaway folders, never the machine's shared services; every
 * wait bounded by a deadline; and one `cleanup` that kills whatever a suite started, even after a
 * failure (call it from `afterAll`; it also runs if the test process exits).
 */

const run = promisify(execFile);
export const root = fileURLToPath(new URL('../../', import.meta.url));

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void>)[] = [];

process.once('exit', () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Kills every process the suite started and removes its folders. */
export async function cleanup(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  for (const step of pending) await step().catch(() => undefined);
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

export function onCleanup(step: () => Promise<void>): void {
  cleanups.push(step);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `armature-fault-${label}-`));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}

export interface Child {
  child: ChildProcess;
  output(): string;
  /** Signals the process and waits (at most 15 s) for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a process the suite owns: killed by `cleanup`, output kept for failure messages. */
export function spawnOwned(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Child {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** GET as JSON; undefined when nothing answers. */
export async function getJson(url: string, headers: Record<string, string> = {}) {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: whatever the endpoint answers.
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: a throwaway cluster of our own, owned by the postgres user, on its own port.

export interface OwnPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database: string): string;
  createDatabase(name: string): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
}

async function postgresBin(): Promise<string> {
  const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

const asPostgres = (bin: string, args: string[]) =>
  run('runuser', ['-u', 'postgres', '--', bin, ...args], { timeout: 60_000 });

export async function startOwnPostgres(
  options: { maxConnections?: number; label?: string } = {},
): Promise<OwnPostgres> {
  const bin = await postgresBin();
  const dir = await tempDir(options.label ?? 'postgres');
  await chmod(dir, 0o700);
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  const data = join(dir, 'data');
  await asPostgres(`${bin}/initdb`, [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const port = await freePort();
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${options.maxConnections ?? 60}`;
  const ctl = (args: string[]) => asPostgres(`${bin}/pg_ctl`, ['-D', data, ...args]);
  const postgres: OwnPostgres = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      await run(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          `${bin}/psql`,
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-c',
          `create database ${name}`,
        ],
        {
          timeout: 30_000,
        },
      );
    },
    async stop(mode = 'fast') {
      await ctl(['stop', '-m', mode, '-w', '-t', '30']);
    },
    async start() {
      await ctl(['start', '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', serverOptions]);
    },
  };
  await postgres.start();
  onCleanup(async () => {
    await ctl(['stop', '-m', 'immediate', '-w', '-t', '30']).catch(() => undefined);
  });
  return postgres;
}

// ---------------------------------------------------------------------------------------------
// Redis and NATS: our own servers on free ports.

export interface OwnServer {
  port: number;
  url: string;
  start(): Promise<void>;
  /** Kills the server (SIGKILL by default: an outage, not a shutdown). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function waitListening(port: number, what: string): Promise<void> {
  await waitFor(
    `${what} to listen on ${port}`,
    () => {
      return new Promise<boolean>((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.connect(port, '127.0.0.1');
      });
    },
    { timeoutMs: 20_000 },
  );
}

export async function startOwnRedis(): Promise<OwnServer> {
  const port = await freePort();
  let current: Child | undefined;
  const server: OwnServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      current = spawnOwned('redis-server', [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ]);
      await waitListening(port, 'redis-server');
    },
    async stop(signal = 'SIGKILL') {
      await current?.stop(signal);
      current = undefined;
    },
  };
  await server.start();
  return server;
}

export async function startOwnNats(): Promise<OwnServer> {
  const port = await freePort();
  const store = await tempDir('nats');
  let current: Child | undefined;
  const server: OwnServer = {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      current = spawnOwned('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store]);
      await waitListening(port, 'nats-server');
    },
    async stop(signal = 'SIGKILL') {
      await current?.stop(signal);
      current = undefined;
    },
  };
  await server.start();
  return server;
}

/** Reads one sample of a Prometheus text scrape: the sum over series matching `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = match[3] ?? '';
    if (Object.entries(labels).every(([key, value]) => series.includes(`${key}="${value}"`))) {
      total += Number(match[4]);
      found = true;
    }
  }
  return found ? total : Number.NaN;
}
