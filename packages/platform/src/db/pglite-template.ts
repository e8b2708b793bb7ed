import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

type Env = Record<string, string | undefined>;

const run = promisify(execFile);
const initdbScript = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url));
const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/** Whether `folder` holds an initialised cluster. */
export function isCluster(folder: string): Promise<boolean> {
  return exists(join(folder, 'PG_VERSION'));
}

/**
 * Runs initdb into `folder` (empty or missing) in a short-lived child process: initdb runs a second
 * WebAssembly PostgreSQL and touches about a gigabyte at its peak, and memory a process has touched is
 * rarely given back to the system, so done in the server it would stay in the server's resident size.
 */
export async function initdbInChild(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  await run(process.execPath, [initdbScript, folder], { timeout: 120_000 });
}

/**
 * Where the empty cluster that new embedded databases are copied from is kept: with the installed
 * dependencies (like the compile cache), outside any `DATA_DIR`, one per PGlite version (a cluster is
 * tied to the PostgreSQL that made it). `PGLITE_TEMPLATE_DIR` puts it elsewhere; `off` disables it.
 */
export async function templateFolder(env: Env = process.env): Promise<string | undefined> {
  const configured = env.PGLITE_TEMPLATE_DIR;
  if (configured === 'off') return undefined;
  const { version } = JSON.parse(
    await readFile(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  const parent =
    configured || fileURLToPath(new URL('../../../../node_modules/.cache/armature-pglite', import.meta.url));
  return join(parent, `cluster-${version}`);
}

/**
 * The empty cluster to copy new databases from, made now (initdb, several seconds) if it is not there
 * yet: `npm install` makes it (the `prepare` script), and so does the image's build, so a first start
 * on an empty `DATA_DIR` only copies it. It is written under a temporary name and renamed into place,
 * so a half-made one is never used. Undefined when it cannot be kept (a read-only install): the
 * caller then runs initdb itself.
 */
export async function ensureTemplate(env: Env = process.env): Promise<string | undefined> {
  const folder = await templateFolder(env);
  if (!folder) return undefined;
  if (await isCluster(folder)) return folder;
  const staging = `${folder}.new-${process.pid}`;
  try {
    await rm(staging, { recursive: true, force: true });
    await initdbInChild(staging);
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    // Another process may have put one in place meanwhile; otherwise there is none to be had.
    if (await isCluster(folder)) return folder;
    if ((error as { code?: string }).code === 'EACCES' || (error as { code?: string }).code === 'EROFS')
      return undefined;
    throw error;
  }
  return folder;
}
