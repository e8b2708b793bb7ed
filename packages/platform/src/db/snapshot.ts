import { cp, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { holdLocalRelayLock } from '../events/relay.ts';
import type { PGliteDialect } from './pglite-dialect.ts';

/** An embedded database open in this process. */
interface OpenEmbedded {
  service: string;
  /** Its cluster folder (`DATA_DIR/<service>`). */
  folder: string;
  /** The Kysely handle its outbox relay uses (the relay's in-process lock is keyed by it). */
  db: object;
  dialect: PGliteDialect;
}

/**
 * The embedded databases this process has open, by service. Only the process that opened a PGlite
 * cluster may read it while it runs, so a backup is taken here, by whoever holds them all.
 */
const open = new Map<string, OpenEmbedded>();

export function registerEmbedded(database: OpenEmbedded): () => void {
  open.set(database.service, database);
  return () => {
    if (open.get(database.service) === database) open.delete(database.service);
  };
}

export interface SnapshotManifest {
  format: 1;
  /** When every database was quiet at once: the point the backup is consistent to. */
  takenAt: string;
  services: string[];
}

/** The name of the manifest file at the top of a snapshot (and of a backup file). */
export const manifestName = 'armature-backup.json';

/**
 * Copies every embedded database open in this process into `target/<service>` at one point in time,
 * and writes the manifest. The point is a moment when no transaction is in progress in any of them
 * and no outbox relay is between publishing a batch and marking it published:
 *
 * 1. each relay's in-process lock is taken, waiting for a batch in progress (its events delivered
 *    and handled by the consumers) to be marked published;
 * 2. each database's one connection is taken, waiting for the statement or transaction in progress;
 * 3. each database is checkpointed (its dirty pages written to its files) and its folder copied;
 * 4. everything is released; writes waited meanwhile and go on.
 *
 * So every write acknowledged before the snapshot began is in it, and the databases agree with one
 * another: an event is either published and handled by its consumers, or still waiting in its
 * outbox and not handled anywhere. Relay locks come first: a relay batch holding one needs the
 * other databases' connections (its consumers' transactions), never another relay lock.
 */
export async function snapshotEmbedded(target: string): Promise<SnapshotManifest> {
  const databases = [...open.values()].sort((a, b) => a.service.localeCompare(b.service));
  if (databases.length === 0) throw new Error('no embedded database is open in this process');
  const releases: (() => Promise<void> | void)[] = [];
  try {
    for (const database of databases) releases.push(await holdLocalRelayLock(database.db));
    const held = [];
    for (const database of databases) {
      const hold = await database.dialect.hold();
      releases.push(hold.release);
      held.push({ database, client: hold.client });
    }
    const takenAt = new Date().toISOString();
    for (const { database, client } of held) {
      await client.exec('checkpoint');
      await cp(database.folder, join(target, database.service), {
        recursive: true,
        // The running server's lock file is not data: a restored cluster must not look in use.
        filter: (source) => basename(source) !== 'postmaster.pid',
      });
    }
    const manifest: SnapshotManifest = {
      format: 1,
      takenAt,
      services: databases.map((database) => database.service),
    };
    await writeFile(join(target, manifestName), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    for (const release of releases.reverse()) await release();
  }
}
