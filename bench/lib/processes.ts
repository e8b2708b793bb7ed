import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const root = fileURLToPath(new URL('../../', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether a TCP port on 127.0.0.1 can be listened on now. */
export async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const benchNodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
// The cluster's instances are spawned by `startCluster` with this process's environment, not by
// `startServer`: they get BENCH_NODE_ARGS through NODE_OPTIONS (Node 24 accepts `--cpu-prof` there).
if (benchNodeArgs.length > 0) {
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, ...benchNodeArgs].filter(Boolean).join(' ');
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second, the unit of CPU times in /proc/<pid>/stat. */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU time (user + system, all threads, ms) a process has used so far, from /proc (Linux); NaN if gone. */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: the fields after it start past the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** Pids of the processes whose command name is `name` (e.g. `redis-server`). */
export function pidsNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Something whose CPU time is read over a measurement: `start()` returns the reading at its end. */
export interface CpuProbe {
  name: string;
  /** Starts a reading; the function returns the CPU time used since, in ms. */
  start(): () => number;
}

export function childProbe(name: string, child: ChildProcess): CpuProbe {
  return {
    name,
    start() {
      const before = processCpuMs(child.pid);
      return () => processCpuMs(child.pid) - before;
    },
  };
}

/**
 * The sum over a set of processes (e.g. the PostgreSQL backends serving the bench's databases): the
 * processes listed when the reading starts, each still alive at its end.
 */
export function pidsProbe(name: string, pids: () => number[]): CpuProbe {
  return {
    name,
    start() {
      const before = new Map(pids().map((pid) => [pid, processCpuMs(pid)]));
      return () => {
        let total = 0;
        for (const [pid, then] of before) {
          const now = processCpuMs(pid);
          if (!Number.isNaN(now) && !Number.isNaN(then)) total += now - then;
        }
        return total;
      };
    },
  };
}

/** This process (the load generator). */
export function selfProbe(name: string): CpuProbe {
  return {
    name,
    start() {
      const before = process.cpuUsage();
      return () => {
        const used = process.cpuUsage(before);
        return (used.user + used.system) / 1000;
      };
    },
  };
}

export interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  log: string;
}

export interface SpawnOptions {
  name: string;
  /** A script, relative to the repository root, run with this Node. */
  script?: string;
  /** Or any command. */
  command?: string[];
  env: Record<string, string | undefined>;
  /** Where it answers once ready. */
  url: string;
  /** Path probed until it answers below 500. */
  readyPath?: string;
  /** How long it may take to answer (default 60 s). */
  readyTimeoutMs?: number;
  logDir: string;
}

/** Starts a server process logging to a file and waits until it answers. */
export async function startServer(options: SpawnOptions): Promise<Server> {
  const log = join(options.logDir, `${options.name}.log`);
  const fd = openSync(log, 'a');
  // BENCH_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`) goes to every Node server started
  // here; one that inherits them through NODE_OPTIONS (above) is not given them twice.
  const nodeArgs = benchNodeArgs.filter((arg) => !options.env.NODE_OPTIONS?.split(' ').includes(arg));
  const [command, ...args] = options.command ?? [process.execPath, ...nodeArgs, join(root, options.script!)];
  const child = spawn(command!, args, {
    cwd: root,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ['ignore', fd, fd],
  });
  const server = { name: options.name, url: options.url, child, log };
  const timeout = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeout;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${options.name} exited while starting:\n${tail(log)}`);
    }
    try {
      const response = await fetch(`${options.url}${options.readyPath ?? '/health/live'}`);
      await response.arrayBuffer();
      if (response.status < 500) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(
        `${options.name} did not answer at ${options.url} within ${timeout / 1000} s:\n${tail(log)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, then SIGKILL after 15 s; resolves when the process is gone. */
export async function stopServer(server: { child: ChildProcess }): Promise<void> {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
