import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ties everything a test run starts to the run, so that nothing outlives it.
 *
 * - Every temporary folder: the run points `TMPDIR` of its workers (and of everything they spawn) at
 *   a folder of its own, so `os.tmpdir()` anywhere in the run lands there; the folder goes at the end.
 * - Every process: the run marks its environment with `ARMATURE_TEST_RUN=<id>`, which every
 *   process it spawns inherits (NATS and Redis servers, PostgreSQL clusters, service processes,
 *   Chromium). On Linux, `/proc/<pid>/environ` then names every survivor, whoever spawned it and
 *   however it detached — no registry to forget to fill.
 *
 * `endRun` lists what is still there, fails the run if anything is, and removes it all. A run that
 * dies before its teardown (Ctrl-C, a crash) is cleaned on exit, and a run killed outright is swept
 * by the next run: its owner's pid is written in its folder.
 */

const runMarker = 'ARMATURE_TEST_RUN';
const runPrefix = 'armature-test-run-';
/** Vitest's own worker processes inherit the mark too; they are the runner, not a leak. */
const runnerProcess = /node_modules\/(vitest|tinypool)\//;

export interface TestRun {
  id: string;
  /** The run's own folder: `owner` (the pid of the run) and `tmp/` (its workers' TMPDIR). */
  folder: string;
  tmp: string;
}

export interface Leftovers {
  processes: { pid: number; command: string }[];
  paths: string[];
}

export function beginRun(): TestRun {
  const base = tmpdir();
  sweepAbandonedRuns(base);
  const id = `${runPrefix}${process.pid}-${randomBytes(4).toString('hex')}`;
  const folder = join(base, id);
  const tmp = join(folder, 'tmp');
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(folder, 'owner'), String(process.pid));
  process.env[runMarker] = id;
  process.env.TMPDIR = tmp;
  // Tools that cache compiled code (tsc enables Node's compile cache) would leave it in TMPDIR.
  process.env.NODE_COMPILE_CACHE = join(folder, 'compile-cache');
  const run = { id, folder, tmp };
  // Vitest exits through process.exit() on Ctrl-C and SIGTERM, so this also covers an interrupted run.
  process.once('exit', () => removeRun(run));
  return run;
}

/** What the run left behind: processes still alive with its mark, and entries in its temp folder. */
export function leftovers(run: TestRun): Leftovers {
  const processes = markedProcesses(run.id).filter(
    (found) => found.pid !== process.pid && !runnerProcess.test(found.command),
  );
  const paths = existsSync(run.tmp) ? readdirSync(run.tmp).map((name) => join(run.tmp, name)) : [];
  return { processes, paths };
}

/** Kills whatever the run left and removes its folder. */
export function removeRun(run: TestRun): void {
  for (const { pid } of markedProcesses(run.id)) {
    if (pid !== process.pid && pid !== process.ppid) kill(pid);
  }
  rmSync(run.folder, { recursive: true, force: true });
}

export function describeLeftovers({ processes, paths }: Leftovers): string {
  return [
    ...processes.map(({ pid, command }) => `  process ${pid}: ${command}`),
    ...paths.map((path) => `  folder: ${path}`),
  ].join('\n');
}

/** Runs whose owner is gone (killed outright, so no exit handler ran) are cleaned by the next one. */
export function sweepAbandonedRuns(base: string): void {
  for (const name of safeReaddir(base)) {
    if (!name.startsWith(runPrefix)) continue;
    const folder = join(base, name);
    const owner = Number(safeRead(join(folder, 'owner')));
    if (owner && isAlive(owner)) continue;
    for (const { pid } of markedProcesses(name)) kill(pid);
    rmSync(folder, { recursive: true, force: true });
  }
}

function markedProcesses(id: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  const needle = `${runMarker}=${id}\0`;
  for (const entry of safeReaddir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const environ = safeRead(`/proc/${pid}/environ`);
    if (!environ?.includes(needle)) continue;
    const command = (safeRead(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ').trim();
    if (command) found.push({ pid, command }); // an empty command line is a zombie: already gone
  }
  return found;
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
