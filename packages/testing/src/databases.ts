import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceNames } from '@armature/contracts/services';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * Where the suites keep their data. With `TEST_POSTGRES_URL` set (CI's scale-out pass) every call
 * makes a fresh PostgreSQL database; otherwise a fresh temporary folder for PGlite.
 */
export const postgresAdminUrl = process.env.TEST_POSTGRES_URL;
export const redisUrl = process.env.TEST_REDIS_URL;
export const natsUrl = process.env.TEST_NATS_URL;
export const mode = postgresAdminUrl ? 'postgres' : 'pglite';

/**
 * Options for a suite that needs PostgreSQL (several processes on one database, server features):
 * in the embedded pass it is skipped, and the run's list of skipped tests says why.
 */
export const needsPostgres = {
  skip: mode !== 'postgres',
  meta: {
    skipReason:
      'needs PostgreSQL: runs in the scale-out pass (TEST_POSTGRES_URL=postgres://…; see docs/development.md)',
  },
};

export interface TestStore {
  /** `*_DATABASE_URL` to pass, or undefined in PGlite mode. */
  url?: string;
  /** `DATA_DIR` to pass (always a fresh folder). */
  dataDir: string;
  drop(): Promise<void>;
}

export async function freshStore(label: string): Promise<TestStore> {
  const dataDir = await mkdtemp(join(tmpdir(), `armature-${label}-`));
  if (!postgresAdminUrl) {
    // Start every embedded database from a copy of an initialised, empty cluster (see global-setup).
    const template = inject('pgliteTemplate');
    if (template) {
      await Promise.all(
        [...new Set([...serviceNames, label])].map((service) =>
          cp(template, join(dataDir, service), { recursive: true }),
        ),
      );
    }
    return { dataDir, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `armature_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    async drop() {
      await adminQuery(`drop database if exists ${name} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresAdminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
