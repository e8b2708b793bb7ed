import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { ConfigError, readInt } from '../config.ts';
import { type EmbeddedClient, openPgliteRemote } from './pglite-remote.ts';
import { ensureTemplate, initdbInChild, isCluster } from './pglite-template.ts';

export { isCluster } from './pglite-template.ts';

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
export function pgliteStartParams(defaults: readonly string[], env: Env = process.env): string[] {
  return [...defaults, '-c', `shared_buffers=${pgliteSharedBuffersMb(env)}MB`];
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

/**
 * Where the embedded databases run: `main` (the default), on the main thread, as PGlite runs;
 * `worker`, one thread beside the main one for all of them, so their start and their statements use
 * the machine's second core (not yet the default: the test suites do not run with it in CI yet).
 */
export function pgliteThread(env: Env = process.env): 'worker' | 'main' {
  const value = env.PGLITE_THREAD ?? 'main';
  if (value !== 'worker' && value !== 'main') {
    throw new ConfigError('PGLITE_THREAD', `must be "worker" or "main", got "${value}"`);
  }
  return value;
}

/** Opens the embedded database in `folder` (or in memory) with the settings every service uses. */
export async function createPglite(
  folder: string | undefined,
  env: Env = process.env,
): Promise<EmbeddedClient> {
  if (pgliteThread(env) === 'worker') return openPgliteRemote(folder, env);
  const [pglite, { withPreparedStatements }] = await Promise.all([
    openPgliteHere(folder, env),
    import('./pglite-prepared.ts'),
  ]);
  return withPreparedStatements(pglite);
}

/** Opens the embedded database in `folder` (or in memory) on this thread. */
export async function openPgliteHere(folder: string | undefined, env: Env = process.env): Promise<PGlite> {
  // Loaded here, not with this module: with the databases on their own thread, the main thread
  // never needs PGlite's code.
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create(folder, {
    parsers: { 20: (value: string) => Number(value) },
    startParams: pgliteStartParams(PGlite.defaultStartParams, env),
    pgliteWasmModule: await pgliteWasmModule(),
  });
}

/** Databases opened ahead of their service, by folder (see `openAhead`). */
const openedAhead = new Map<string, Promise<EmbeddedClient>>();

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
export function takeOpenedAhead(folder: string): Promise<EmbeddedClient> | undefined {
  const opening = openedAhead.get(resolve(folder));
  openedAhead.delete(resolve(folder));
  return opening;
}

async function isEmptyOrMissing(folder: string): Promise<boolean> {
  try {
    return (await readdir(folder)).length === 0;
  } catch {
    return true;
  }
}

/**
 * Copies the folder `source` to `target` (made with its parents), files and folders only, which is
 * all a cluster holds. A third less CPU than `fs.cp`, which also reads and sets every file's mode and
 * times: a cluster is about a thousand files, copied on the thread that is loading the modules.
 */
export async function copyTree(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  const entries = await readdir(source, { withFileTypes: true });
  await Promise.all(
    entries.map((entry) =>
      entry.isDirectory()
        ? copyTree(join(source, entry.name), join(target, entry.name))
        : copyFile(join(source, entry.name), join(target, entry.name), constants.COPYFILE_FICLONE),
    ),
  );
}

/** For a database folder, a cluster made ahead that holds its service's schema, if there is one. */
export type TemplateFor = (folder: string) => Promise<string | undefined>;

/**
 * Makes sure each of `folders` holds an initialised cluster. Each new one is a copy: of the cluster
 * `templateFor` gives it (its service's migrations already applied, see `pglite-migrated.ts`) when
 * there is one, else of the empty template cluster (`ensureTemplate`: made once per install, outside
 * `DATA_DIR`), so a first start costs a file copy per service instead of an initdb and, with the
 * migrated copy, the migrations as well. Without a template (a read-only install) one initdb runs in a
 * child process and is copied to the other folders. Each folder is filled under a temporary name and
 * renamed into place, so a start killed half-way never leaves a half-made cluster behind. A folder
 * that is neither a cluster nor empty is left alone (PGlite reports what it finds).
 */
export async function ensureClusters(
  folders: readonly string[],
  env: Env = process.env,
  templateFor: TemplateFor = async () => undefined,
): Promise<void> {
  const missing: string[] = [];
  for (const folder of folders) {
    if (!(await isCluster(folder)) && (await isEmptyOrMissing(folder))) missing.push(folder);
  }
  if (missing.length === 0) return;
  const migrated = await Promise.all(missing.map((folder) => templateFor(folder).catch(() => undefined)));
  let source: string | undefined;
  let made: string | undefined;
  if (migrated.some((template) => template === undefined)) {
    source = await ensureTemplate(env);
    if (!source) {
      made = `${missing[0]}.initdb-${process.pid}`;
      await rm(made, { recursive: true, force: true });
      await initdbInChild(made);
      source = made;
    }
  }
  try {
    await Promise.all(
      missing.map(async (folder, index) => {
        const copy = `${folder}.new-${process.pid}`;
        await rm(copy, { recursive: true, force: true });
        await copyTree((migrated[index] ?? source) as string, copy);
        await rm(folder, { recursive: true, force: true });
        await rename(copy, folder);
      }),
    );
  } finally {
    if (made) await rm(made, { recursive: true, force: true });
  }
}
