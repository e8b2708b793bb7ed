import { execFile } from 'node:child_process';
import { access, cp, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { readInt } from '../config.ts';

type Env = Record<string, string | undefined>;

/**
 * PostgreSQL's shared buffers in each embedded database, in MB. The cluster's own `postgresql.conf`
 * says 128 MB, and PGlite allocates and touches all of it at start, inside its WebAssembly memory,
 * which never shrinks: 128 MB resident per service before the first query. The data pages a small
 * install works on fit in far less; pages beyond it are read from the operating system's file cache.
 * Durability does not depend on it: a commit is in the WAL file whatever the buffer size.
 */
export function pgliteSharedBuffersMb(env: Env = process.env): number {
  return readInt(env, 'PGLITE_SHARED_BUFFERS_MB', 16, { min: 1, max: 4096 });
}

/** The server settings an embedded database starts with: PGlite's own, then ours. */
export function pgliteStartParams(env: Env = process.env): string[] {
  return [...PGlite.defaultStartParams, '-c', `shared_buffers=${pgliteSharedBuffersMb(env)}MB`];
}

/**
 * PGlite's PostgreSQL, compiled once per process and shared by every embedded database: PGlite keeps
 * the module it compiled, but only once compiled, so databases opened at the same time would each
 * compile their own.
 */
type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;
// The project's types leave out the DOM library that declares WebAssembly; Node has it.
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> };
let compiled: Promise<WasmModule> | undefined;
function pgliteWasmModule(): Promise<WasmModule> {
  compiled ??= readFile(
    join(createRequire(import.meta.url).resolve('@electric-sql/pglite'), '..', 'pglite.wasm'),
  ).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

/** Opens the embedded database in `folder` (or in memory) with the settings every service uses. */
export async function createPglite(folder: string | undefined, env: Env = process.env): Promise<PGlite> {
  return PGlite.create(folder, {
    parsers: { 20: (value: string) => Number(value) },
    startParams: pgliteStartParams(env),
    pgliteWasmModule: await pgliteWasmModule(),
  });
}

/** Databases opened ahead of their service, by folder (see `openAhead`). */
const openedAhead = new Map<string, Promise<PGlite>>();

/**
 * Starts opening the embedded database in each of `folders` now, all at once, for the services that
 * will ask for them later (`takeOpenedAhead`): `armature start` does this while it is still loading
 * the system's modules, so PostgreSQL's start overlaps the modules' instead of following it. Each
 * folder must already hold a cluster (`ensureClusters`). A failure is reported to the service that
 * takes the database.
 */
export function openAhead(folders: readonly string[], env: Env = process.env): void {
  for (const folder of folders) {
    const opening = createPglite(resolve(folder), env);
    opening.catch(() => undefined);
    openedAhead.set(resolve(folder), opening);
  }
}

/** The database opened ahead for `folder` (once), or undefined. */
export function takeOpenedAhead(folder: string): Promise<PGlite> | undefined {
  const opening = openedAhead.get(resolve(folder));
  openedAhead.delete(resolve(folder));
  return opening;
}

const run = promisify(execFile);
const initdbScript = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url));

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Whether `folder` holds an initialised cluster. */
export function isCluster(folder: string): Promise<boolean> {
  return exists(join(folder, 'PG_VERSION'));
}

async function isEmptyOrMissing(folder: string): Promise<boolean> {
  try {
    return (await readdir(folder)).length === 0;
  } catch {
    return true;
  }
}

/**
 * Makes sure each of `folders` holds an initialised (empty) cluster. A new cluster is made once, by
 * initdb in a short-lived child process, and copied to each folder that needs one: initdb runs a
 * second WebAssembly PostgreSQL and tars its result in memory, and memory a process has touched is
 * rarely given back to the system, so done in the server it would stay in the server's resident
 * size for good. Each folder is filled under a temporary name and renamed into place, so a start
 * killed half-way never leaves a half-made cluster behind. A folder that is neither a cluster nor
 * empty is left alone (PGlite reports what it finds there).
 */
export async function ensureClusters(folders: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const folder of folders) {
    if (!(await isCluster(folder)) && (await isEmptyOrMissing(folder))) missing.push(folder);
  }
  const [first] = missing;
  if (first === undefined) return;
  const staging = `${first}.new-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    await run(process.execPath, [initdbScript, staging], { timeout: 120_000 });
    for (const folder of missing.slice(1)) {
      const copy = `${folder}.new-${process.pid}`;
      await rm(copy, { recursive: true, force: true });
      await cp(staging, copy, { recursive: true });
      await rm(folder, { recursive: true, force: true });
      await rename(copy, folder);
    }
    await rm(first, { recursive: true, force: true });
    await rename(staging, first);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
