import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Kysely } from 'kysely';
import { migrateToLatest } from './migrate.ts';
import { copyTree, openPgliteHere } from './pglite.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { ensureTemplate, isCluster, templateFolder } from './pglite-template.ts';

type Env = Record<string, string | undefined>;

/**
 * A fingerprint of a service's migrations: every SQL file's name and contents. A migration added or
 * changed gives another fingerprint, so a cluster migrated ahead is never used for other migrations.
 */
async function migrationsFingerprint(migrationsFolder: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(migrationsFolder)).filter((file) => file.endsWith('.sql')).sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(migrationsFolder, file)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Where the cluster with `service`'s migrations already applied is kept: next to the empty template
 * (one per PGlite version), named by the service and its migrations' fingerprint. Undefined when
 * templates are off (`PGLITE_TEMPLATE_DIR=off`).
 */
export async function migratedTemplateFolder(
  service: string,
  migrationsFolder: string,
  env: Env = process.env,
): Promise<string | undefined> {
  const empty = await templateFolder(env);
  if (!empty) return undefined;
  const version = empty.slice(empty.lastIndexOf('cluster-') + 'cluster-'.length);
  return join(dirname(empty), `${service}-${version}-${await migrationsFingerprint(migrationsFolder)}`);
}

/**
 * The migrated cluster for `service` if it was made (by `ensureMigratedTemplate`), for
 * `ensureClusters`: a first start copies it and finds no migration left to apply.
 */
export async function existingMigratedTemplate(
  service: string,
  migrationsFolder: string,
  env: Env = process.env,
): Promise<string | undefined> {
  const folder = await migratedTemplateFolder(service, migrationsFolder, env);
  return folder && (await isCluster(folder)) ? folder : undefined;
}

/**
 * Makes, once per install and per version of the service's migrations, a copy of the empty template
 * with the service's migrations applied (`armature prepare-embedded`, run by `npm install` and the
 * image's build). It holds the schema only: migrations create tables and functions, never data of an
 * install. Written under a temporary name and renamed into place. Undefined when templates are off
 * or cannot be kept (a read-only install).
 */
export async function ensureMigratedTemplate(
  service: string,
  migrationsFolder: string,
  env: Env = process.env,
): Promise<string | undefined> {
  const folder = await migratedTemplateFolder(service, migrationsFolder, env);
  if (!folder) return undefined;
  if (await isCluster(folder)) return folder;
  const empty = await ensureTemplate(env);
  if (!empty) return undefined;
  const staging = `${folder}.new-${process.pid}`;
  try {
    await rm(staging, { recursive: true, force: true });
    await copyTree(empty, staging);
    const client = await openPgliteHere(staging, env);
    const db = new Kysely<unknown>({ dialect: new PGliteDialect(client) });
    try {
      await migrateToLatest(db, migrationsFolder);
    } finally {
      await db.destroy();
    }
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    if (await isCluster(folder)) return folder;
    const code = (error as { code?: string }).code;
    if (code === 'EACCES' || code === 'EROFS') return undefined;
    throw error;
  }
  return folder;
}
