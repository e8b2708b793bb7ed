/**
 * `npm run bench:embedded`: what the embedded mode costs on this machine, measured from outside as a
 * user meets it: `npm start`'s command (the `start` script of package.json, with its Node flags).
 *
 * Each round: a cold start (an empty DATA_DIR) and two warm starts (the same folder again), each
 * timed from spawning the process to `/health/ready` answering 200, and the resident size (VmRSS)
 * after `BENCH_IDLE_SECONDS` (default 10) of idling. Then, on the last warm start, a mixed load for
 * `BENCH_LOAD_SECONDS` (default 60): every connection is its own shopper reading the catalog, its own
 * user and its order history, filling its cart and checking out; RSS is read at the end, with the
 * peak (VmHWM). Medians over `BENCH_ROUNDS` (default 3) rounds; the load average is printed at the
 * start and the end (the machine may be shared).
 *
 *   npm run bench:embedded [-- --quick]
 *
 * `BENCH_EMBEDDED_ROOT` measures another checkout of Armature instead of this one (e.g. an earlier
 * commit unpacked with `git archive`, its node_modules linked to these): before and after, one script.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { mixedLoad } from './lib/mixed-load.ts';
import { freePort, root } from './lib/processes.ts';
import { percentile } from './lib/report.ts';

const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const rounds = flags.quick ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const idleSeconds = flags.quick ? 3 : Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const loadSeconds = flags.quick ? 5 : Number(process.env.BENCH_LOAD_SECONDS ?? 60);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const admin = { email: 'bench-admin@example.com', password: 'bench admin password' };
const log = (line: string) => process.stdout.write(`${line}\n`);
const folders: string[] = [];
let running: ChildProcess | undefined;

const appRoot = process.env.BENCH_EMBEDDED_ROOT ?? root;
/** `npm start` without npm: the start script's Node flags, then the CLI. */
const startScript = (
  JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts.start!;
const nodeFlags = startScript.split(' ').filter((word) => word.startsWith('--'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (kb: number) => kb / 1024;

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN);
}

async function start(dataDir: string, port: number): Promise<{ child: ChildProcess; seconds: number }> {
  const began = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeFlags, join(appRoot, 'packages/cli/src/armature.ts'), 'start'],
    {
      cwd: appRoot,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
        RATE_LIMIT_MAX_REQUESTS: '10000000',
        LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  running = child;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) while starting`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      await response.arrayBuffer();
      if (response.status === 200) return { child, seconds: (performance.now() - began) / 1000 };
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  running = undefined;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  log(
    `${cpus().length} cores, Node ${process.version}, load average ${loadAtStart.toFixed(2)}; start command: node ${nodeFlags.join(' ')} packages/cli/src/armature.ts start in ${appRoot}`,
  );
  const cold: { seconds: number; rss: number }[] = [];
  const warm: { seconds: number; rss: number }[] = [];
  const loaded: { rss: number; peak: number; rate: number; errors: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const dataDir = mkdtempSync(join(tmpdir(), 'armature-bench-embedded-'));
    folders.push(dataDir);
    const port = await freePort();
    for (let attempt = 0; attempt < 3; attempt++) {
      const { child, seconds } = await start(dataDir, port);
      await sleep(idleSeconds * 1000);
      const rss = mb(statusKb(child.pid!, 'VmRSS'));
      (attempt === 0 ? cold : warm).push({ seconds, rss });
      log(
        `round ${round}, ${attempt === 0 ? 'cold' : 'warm'} start: ready in ${seconds.toFixed(2)} s, idle RSS ${rss.toFixed(0)} MB`,
      );
      if (attempt === 2) {
        const result = await mixedLoad(`http://127.0.0.1:${port}`, {
          admin,
          connections,
          seconds: loadSeconds,
        });
        const after = { rss: mb(statusKb(child.pid!, 'VmRSS')), peak: mb(statusKb(child.pid!, 'VmHWM')) };
        loaded.push({ ...after, rate: result.requestsPerSecond, errors: result.errors });
        log(
          `round ${round}, ${loadSeconds} s mixed load: ${result.requestsPerSecond.toFixed(0)} req/s, ${result.errors} errors, RSS ${after.rss.toFixed(0)} MB (peak ${after.peak.toFixed(0)} MB)`,
        );
      }
      await stop(child);
    }
  }
  const loadAtEnd = loadavg()[0]!;
  log('');
  log(`| measure (median of ${rounds}) | value |`);
  log('|---|---:|');
  log(`| cold start to ready (empty DATA_DIR) | ${median(cold.map((c) => c.seconds)).toFixed(2)} s |`);
  log(`| warm start to ready (existing DATA_DIR) | ${median(warm.map((w) => w.seconds)).toFixed(2)} s |`);
  log(`| idle RSS after a cold start | ${median(cold.map((c) => c.rss)).toFixed(0)} MB |`);
  log(`| idle RSS after a warm start | ${median(warm.map((w) => w.rss)).toFixed(0)} MB |`);
  log(
    `| RSS after ${loadSeconds} s of mixed load (peak) | ${median(loaded.map((l) => l.rss)).toFixed(0)} MB (${median(loaded.map((l) => l.peak)).toFixed(0)} MB) |`,
  );
  log(
    `| mixed load, requests/s (${connections} connections; errors) | ${median(loaded.map((l) => l.rate)).toFixed(0)} (${loaded.reduce((sum, l) => sum + l.errors, 0)}) |`,
  );
  log('');
  log(`load average ${loadAtStart.toFixed(2)} at the start, ${loadAtEnd.toFixed(2)} at the end`);
}

function cleanUp(): void {
  if (running && running.exitCode === null) running.kill('SIGKILL');
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
}

process.once('SIGINT', () => {
  cleanUp();
  process.exit(130);
});
try {
  await main();
} finally {
  cleanUp();
}
