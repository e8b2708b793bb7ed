import { execFile, spawn } from 'node:child_process';
import { access, chmod, chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A throwaway PostgreSQL primary and a real streaming replica of it (`pg_basebackup -R`), each in its
 * own temporary folder on its own free loopback port, never the machine's shared server. Made for
 * the read-replica suites: they pause WAL replay to make the replica lag, and stop and start it to
 * make it go away and come back. Needs the PostgreSQL server binaries (initdb, pg_ctl,
 * pg_basebackup); without them `startReplicaCluster` fails, saying so.
 */
export interface ReplicaCluster {
  /** `postgres://postgres@127.0.0.1:<primary port>/<database>`. */
  primaryUrl(database: string): string;
  /** The same database on the replica. */
  replicaUrl(database: string): string;
  /** Creates a database on the primary and waits until the replica has it. */
  createDatabase(name: string): Promise<void>;
  /** Runs one statement on the primary or the replica and returns its rows. */
  query<Row = Record<string, unknown>>(
    server: 'primary' | 'replica',
    database: string,
    text: string,
    values?: unknown[],
  ): Promise<Row[]>;
  /** Replica lag, made on purpose: WAL still arrives, none of it is applied until `resumeReplay`. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the replica has applied everything the primary has written so far. */
  caughtUp(): Promise<void>;
  /** Kills the replica (`pg_ctl stop -m immediate`): an outage, not a shutdown. */
  stopReplica(): Promise<void>;
  /** Starts the replica again; resolves once it accepts read-only connections. */
  startReplica(): Promise<void>;
  /** Stops both servers and removes their folders. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** The newest PostgreSQL server binaries: `PG_BIN`, else the highest `/usr/lib/postgresql/<n>/bin`. */
async function serverBinaries(): Promise<string> {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const versions = await readdir('/usr/lib/postgresql').catch(() => [] as string[]);
  for (const version of versions.sort((a, b) => Number(b) - Number(a)))
    candidates.push(`/usr/lib/postgresql/${version}/bin`);
  for (const bin of candidates) {
    const found = await Promise.all(
      ['initdb', 'pg_ctl', 'pg_basebackup'].map((tool) =>
        access(join(bin, tool)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (found.every(Boolean)) return bin;
  }
  throw new Error(
    'The read-replica suites start their own PostgreSQL primary and streaming replica and need the ' +
      'PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup). None found in PG_BIN or ' +
      '/usr/lib/postgresql/<version>/bin: install the PostgreSQL server package (e.g. postgresql-15) ' +
      'or set PG_BIN to the folder that holds them.',
  );
}

/** PostgreSQL refuses to run as root: as root, its tools run as the `postgres` user. */
async function tool(bin: string, name: string, args: string[]): Promise<void> {
  const command = join(bin, name);
  try {
    if (isRoot) await run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 90_000 });
    else await run(command, args, { timeout: 90_000 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${name} ${args.join(' ')} failed: ${stderr || String(error)}`, { cause: error });
  }
}

async function ownedFolder(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `armature-${label}-`));
  await chmod(dir, 0o700);
  if (isRoot) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    await chown(dir, uid, gid);
  }
  return dir;
}

function freePort(): Promise<number> {
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startReplicaCluster(): Promise<ReplicaCluster> {
  const bin = await serverBinaries();
  const folders: string[] = [];
  const started = new Set<string>();
  const primaryDir = await ownedFolder('primary');
  folders.push(primaryDir);
  const replicaDir = await ownedFolder('replica');
  folders.push(replicaDir);
  const primaryData = join(primaryDir, 'data');
  const replicaData = join(replicaDir, 'data');
  const primaryPort = await freePort();
  const replicaPort = await freePort();
  const settings = (port: number, socketDir: string) =>
    `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 ` +
    '-c wal_level=replica -c max_wal_senders=5 -c hot_standby=on';
  const start = async (data: string, dir: string, port: number) => {
    await tool(
      bin,
      'pg_ctl',
      ['-D', data, 'start', '-w', '-t', '60', '-l', join(dir, 'server.log')].concat([
        '-o',
        settings(port, dir),
      ]),
    );
    started.add(data);
  };
  const stop = async (data: string, mode: 'fast' | 'immediate') => {
    await tool(bin, 'pg_ctl', ['-D', data, 'stop', '-m', mode, '-w', '-t', '60']);
    started.delete(data);
  };
  const url = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;

  const query = async <Row>(
    server: 'primary' | 'replica',
    database: string,
    text: string,
    values?: unknown[],
  ) => {
    const client = new pg.Client({
      connectionString: url(server === 'primary' ? primaryPort : replicaPort, database),
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  };

  const cluster: ReplicaCluster = {
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    query,
    async createDatabase(name) {
      await query('primary', 'postgres', `create database ${name}`);
      await cluster.caughtUp();
    },
    async pauseReplay() {
      await query('replica', 'postgres', 'select pg_wal_replay_pause()');
    },
    async resumeReplay() {
      await query('replica', 'postgres', 'select pg_wal_replay_resume()');
    },
    async caughtUp() {
      const [{ lsn }] = await query<{ lsn: string }>(
        'primary',
        'postgres',
        'select pg_current_wal_lsn() as lsn',
      );
      const deadline = Date.now() + 30_000;
      for (;;) {
        const [{ behind }] = await query<{ behind: boolean }>(
          'replica',
          'postgres',
          'select coalesce(pg_last_wal_replay_lsn() < $1::pg_lsn, true) as behind',
          [lsn],
        );
        if (!behind) return;
        if (Date.now() > deadline) throw new Error(`the replica did not replay up to ${lsn} within 30 s`);
        await sleep(50);
      }
    },
    stopReplica: () => stop(replicaData, 'immediate'),
    startReplica: () => start(replicaData, replicaDir, replicaPort),
    async close() {
      for (const data of [...started].reverse()) await stop(data, 'immediate').catch(() => undefined);
      for (const folder of folders) await rm(folder, { recursive: true, force: true });
    },
  };

  try {
    await tool(bin, 'initdb', [
      '-D',
      primaryData,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await start(primaryData, primaryDir, primaryPort);
    await tool(bin, 'pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaData,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    await start(replicaData, replicaDir, replicaPort);
    const [{ standby }] = await query<{ standby: boolean }>(
      'replica',
      'postgres',
      'select pg_is_in_recovery() as standby',
    );
    if (!standby) throw new Error('the replica is not in recovery: it is not a streaming standby');
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

export interface ReadRoutingFigures {
  /** `db_reads_total` by target. */
  replica: number;
  primary: number;
  /** `db_read_fallbacks_total` by reason. */
  fallbacks: Record<string, number>;
}

/** A service's read-routing counters, as its `/metrics` shows them. */
export async function readRoutingFigures(serviceUrl: string): Promise<ReadRoutingFigures> {
  const response = await fetch(`${serviceUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const figures: ReadRoutingFigures = { replica: 0, primary: 0, fallbacks: {} };
  for (const line of text.split('\n')) {
    const reads = /^db_reads_total\{[^}]*target="(\w+)"[^}]*\} (\d+)/.exec(line);
    if (reads?.[1] === 'replica' || reads?.[1] === 'primary') figures[reads[1]] = Number(reads[2]);
    const fallback = /^db_read_fallbacks_total\{[^}]*reason="(\w+)"[^}]*\} (\d+)/.exec(line);
    if (fallback) figures.fallbacks[fallback[1]!] = Number(fallback[2]);
  }
  return figures;
}

/** Polls `check` until it returns something other than undefined or false (30 s at most). */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(50);
  }
}

export interface ThrowawayRedis {
  url: string;
  close(): Promise<void>;
}

/**
 * A Redis server of the suite's own (`redis-server` on a free port, nothing saved), for suites that
 * need several instances to share a cache in both test passes.
 */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (error) => reject(new Error(`redis-server could not be started: ${error.message}`))),
  );
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const listening = eventually(`redis-server to listen on ${port}`, () => {
    return new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
  });
  try {
    await Promise.race([listening, failed]);
  } catch (error) {
    await close();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, close };
}
