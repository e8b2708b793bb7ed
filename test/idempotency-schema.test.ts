import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServices } from '@armature/cli/services';
import { openDatabase } from '@armature/platform';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The platform's idempotency store is written against one `idempotency_keys` table. Each service makes
 * that table with its own migrations (orders reached it through a later one), so this pins that every
 * service ends up with the same columns, key and index.
 */
describe('the idempotency_keys table of each service', () => {
  const folders: string[] = [];
  afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

  const shapeOf = async (service: string, migrations: string) => {
    const dataDir = await mkdtemp(join(tmpdir(), `armature-idempotency-${service}-`));
    folders.push(dataDir);
    const database = await openDatabase({ service, dataDir, inMemory: true, migrationsFolder: migrations });
    try {
      const columns = await sql<{ column_name: string; data_type: string; is_nullable: string }>`
        select column_name, data_type, is_nullable from information_schema.columns
        where table_name = 'idempotency_keys' order by column_name`.execute(database.db);
      const indexes = await sql<{ indexname: string; indexdef: string }>`
        select indexname, indexdef from pg_indexes where tablename = 'idempotency_keys' order by indexname`.execute(
        database.db,
      );
      return { columns: columns.rows, indexes: indexes.rows };
    } finally {
      await database.close();
    }
  };

  it('has the same columns, primary key and index in every service', async () => {
    const [first, ...others] = await Promise.all(
      (await loadServices()).map(async (service) => ({
        name: service.name,
        shape: await shapeOf(service.name, service.migrationsFolder),
      })),
    );
    expect(first!.shape.columns.map((column) => column.column_name)).toEqual([
      'caller',
      'created_at',
      'fingerprint',
      'key',
      'response',
    ]);
    for (const other of others) expect({ [other.name]: other.shape }).toEqual({ [other.name]: first!.shape });
  });
});
