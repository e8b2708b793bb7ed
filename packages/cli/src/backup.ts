import { createWriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { serviceNames } from '@armature/contracts/services';
import { readCommonConfig } from '@armature/platform/config';
import { isCluster } from '@armature/platform/db/pglite';
import { manifestName, type SnapshotManifest } from '@armature/platform/db/snapshot';
import { create as createTar, extract } from 'tar';
import { findControl } from './control.ts';

type Env = Record<string, string | undefined>;

/** The embedded services (the contract's catalog), each with its folder in `DATA_DIR`. */
const services: string[] = serviceNames;

/**
 * `armature backup --out <file>`: a gzipped tar of every embedded database (`manifest`, `users/`,
 * `orders/`, … one folder per service). While Armature runs on `DATA_DIR`, the running process takes it (see
 * `snapshotEmbedded`: consistent to one point, writes wait a moment, nothing stops); when nothing
 * runs there, the folders are at rest and are copied as they are.
 */
export async function backup(args: string[], env: Env = process.env): Promise<string> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  if (!values.out) throw new Error('Usage: armature backup --out <file>');
  const out = resolve(values.out);
  const dataDir = readCommonConfig(env).dataDir;
  const partial = `${out}.partial`;
  try {
    const control = await findControl(dataDir);
    let manifest: SnapshotManifest;
    if (control) {
      const response = await fetch(`${control.url}/backup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${control.token}` },
      });
      if (response.status !== 200 || !response.body) {
        throw new Error(
          `the running server refused the backup (${response.status}): ${await response.text()}`,
        );
      }
      await pipeline(Readable.fromWeb(response.body as never), createWriteStream(partial));
      manifest = { format: 1, takenAt: response.headers.get('x-backup-taken-at') ?? '', services };
    } else {
      manifest = await offlineBackup(dataDir, partial);
    }
    await rename(partial, out);
    const { size } = await stat(out);
    return `${manifest.services.join(', ')} as of ${manifest.takenAt} (${control ? 'online' : 'offline: nothing was running'}): ${out}, ${(size / 1_048_576).toFixed(1)} MB`;
  } finally {
    await rm(partial, { force: true });
  }
}

async function offlineBackup(dataDir: string, file: string): Promise<SnapshotManifest> {
  const present: string[] = [];
  for (const service of services) if (await isCluster(join(dataDir, service))) present.push(service);
  if (present.length === 0) throw new Error(`no embedded database in ${resolve(dataDir)}`);
  await mkdir(dataDir, { recursive: true });
  const staging = await mkdtemp(join(resolve(dataDir), '.backup-'));
  try {
    for (const service of present) {
      await cp(join(dataDir, service), join(staging, service), {
        recursive: true,
        filter: (source) => basename(source) !== 'postmaster.pid',
      });
    }
    const manifest: SnapshotManifest = { format: 1, takenAt: new Date().toISOString(), services: present };
    await writeFile(join(staging, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
    await pipeline(
      createTar({ gzip: true, cwd: staging, portable: true }, [manifestName, ...present]),
      createWriteStream(file),
    );
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * `armature restore <file> [--force]`: puts a backup's databases into `DATA_DIR`. The folder must be
 * empty (or missing) unless `--force`, which replaces the databases the backup holds; never while
 * Armature runs on it. The backup is unpacked beside them first and checked, then moved into place.
 */
export async function restore(args: string[], env: Env = process.env): Promise<string> {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new Error('Usage: armature restore <file> [--force]');
  const dataDir = resolve(readCommonConfig(env).dataDir);
  if (await findControl(dataDir)) throw new Error(`Armature is running on ${dataDir}: stop it first`);
  const existing = await readdir(dataDir).catch(() => [] as string[]);
  if (existing.length > 0 && !values.force) {
    throw new Error(
      `${dataDir} is not empty: restore into an empty folder, or pass --force to replace its databases`,
    );
  }
  await stat(file);
  await mkdir(dataDir, { recursive: true });
  const staging = await mkdtemp(join(dataDir, '.restore-'));
  try {
    await extract({ file, cwd: staging, strict: true });
    const manifest = JSON.parse(await readFile(join(staging, manifestName), 'utf8')) as SnapshotManifest;
    if (manifest.format !== 1 || !Array.isArray(manifest.services)) {
      throw new Error(`${file} is not an Armature backup this version reads`);
    }
    for (const service of manifest.services) {
      if (!services.includes(service) || !(await isCluster(join(staging, service)))) {
        throw new Error(`${file} has no usable ${service} database`);
      }
    }
    for (const service of manifest.services) {
      await rm(join(dataDir, service), { recursive: true, force: true });
      await rename(join(staging, service), join(dataDir, service));
    }
    return `restored ${manifest.services.join(', ')} as of ${manifest.takenAt} into ${dataDir}`;
  } catch (error) {
    if (error instanceof SyntaxError || (error as { code?: string }).code === 'ENOENT') {
      throw new Error(`${file} is not an Armature backup (${(error as Error).message})`);
    }
    throw error;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
