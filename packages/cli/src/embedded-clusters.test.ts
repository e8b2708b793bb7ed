import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest } from '@armature/platform';
import { createPglite, ensureClusters } from '@armature/platform/db/pglite';
import { PGliteDialect } from '@armature/platform/db/pglite-dialect';
import { ensureMigratedTemplate, existingMigratedTemplate } from '@armature/platform/db/pglite-migrated';
import type { EmbeddedClient } from '@armature/platform/db/pglite-remote';
import { initdbInChild } from '@armature/platform/db/pglite-template';
import { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServices } from './services.ts';

/** Every table, column, type, default, index and constraint of the public schema, in a stable order. */
async function schemaOf(client: EmbeddedClient): Promise<unknown[]> {
  const { rows: columns } = await client.query(
    `select table_name, column_name, data_type, is_nullable, column_default
       from information_schema.columns where table_schema = 'public' order by 1, 2`,
  );
  const { rows: indexes } = await client.query(
    `select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2`,
  );
  const { rows: constraints } = await client.query(
    `select conrelid::regclass::text as on_table, conname, pg_get_constraintdef(oid) as definition
       from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`,
  );
  const { rows: functions } = await client.query(
    `select proname, pg_get_function_identity_arguments(oid) as args
       from pg_proc where pronamespace = 'public'::regnamespace order by 1, 2`,
  );
  return [columns, indexes, constraints, functions];
}

async function migrated(folder: string, migrationsFolder: string) {
  const client = await createPglite(folder);
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(client) });
  const applied = await migrateToLatest(db, migrationsFolder);
  return { client, applied, close: () => db.destroy() };
}

const systemIdentifier = async (client: EmbeddedClient) =>
  (await client.query<{ id: string }>('select system_identifier::text as id from pg_control_system()'))
    .rows[0]!.id;

describe('embedded databases made from the template cluster', () => {
  let root = '';
  const env = () => ({ PGLITE_TEMPLATE_DIR: join(root, 'template') });
  const data = (service: string) => join(root, 'data', service);
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'armature-clusters-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it("hold, after each service's migrations, the same schema as a database made by initdb", async () => {
    const services = await loadServices();
    await ensureClusters(
      services.map((service) => data(service.name)),
      env(),
    );
    const fromInitdb = join(root, 'initdb');
    await initdbInChild(fromInitdb);
    for (const service of services) {
      const reference = join(root, `initdb-${service.name}`);
      await cp(fromInitdb, reference, { recursive: true });
      const copy = await migrated(data(service.name), service.migrationsFolder);
      const direct = await migrated(reference, service.migrationsFolder);
      try {
        expect(copy.applied.length).toBeGreaterThan(0);
        expect(copy.applied).toEqual(direct.applied);
        expect(await schemaOf(copy.client)).toEqual(await schemaOf(direct.client));
      } finally {
        await copy.close();
        await direct.close();
      }
    }
  }, 180_000); // six databases migrated from scratch: minutes on a busy two-core machine

  it('are copies of one cluster made once, not an initdb per folder', async () => {
    await ensureClusters([data('first'), data('second')], env());
    const [first, second] = [await createPglite(data('first')), await createPglite(data('second'))];
    try {
      expect(await systemIdentifier(first)).toBe(await systemIdentifier(second));
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('keep their data when the next start finds them in place (a warm start)', async () => {
    await ensureClusters([data('kept')], env());
    const before = await createPglite(data('kept'));
    await before.exec(
      `create table notes (body text); insert into notes values ('written before the restart')`,
    );
    await before.close();
    await ensureClusters([data('kept')], env());
    const after = await createPglite(data('kept'));
    try {
      expect((await after.query('select body from notes')).rows).toEqual([
        { body: 'written before the restart' },
      ]);
    } finally {
      await after.close();
    }
  });

  it('leave a folder that holds something else alone', async () => {
    const folder = data('not-a-cluster');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'notes.txt'), 'mine');
    await ensureClusters([folder], env());
    expect(await readdir(folder)).toEqual(['notes.txt']);
  });

  it("start a new service database from the service's migrated cluster, with no migration left to apply", async () => {
    const [orders] = (await loadServices()).filter((service) => service.name === 'orders');
    const template = await ensureMigratedTemplate('orders', orders!.migrationsFolder, env());
    expect(template).toBeDefined();
    const folder = data('orders-from-migrated');
    await ensureClusters([folder], env(), async () =>
      existingMigratedTemplate('orders', orders!.migrationsFolder, env()),
    );
    const copy = await migrated(folder, orders!.migrationsFolder);
    const reference = join(root, 'initdb-orders-reference');
    await initdbInChild(reference);
    const direct = await migrated(reference, orders!.migrationsFolder);
    try {
      expect(copy.applied).toEqual([]);
      expect(direct.applied.length).toBeGreaterThan(0);
      expect(await schemaOf(copy.client)).toEqual(await schemaOf(direct.client));
      // Schema only: no row of any install is in it.
      const { rows } = await copy.client.query<{ n: number }>(
        'select (select count(*) from orders) + (select count(*) from products) as n',
      );
      expect(rows).toEqual([{ n: 0 }]);
    } finally {
      await copy.close();
      await direct.close();
    }
  }, 180_000);

  it('make another migrated cluster when the migrations change, and apply a new one on top of an older copy', async () => {
    const migrations = join(root, 'migrations');
    await mkdir(migrations, { recursive: true });
    await writeFile(join(migrations, '0001_notes.sql'), 'create table notes (body text);');
    const first = await ensureMigratedTemplate('notes', migrations, env());
    await writeFile(join(migrations, '0002_more.sql'), 'alter table notes add column at timestamptz;');
    expect(await existingMigratedTemplate('notes', migrations, env())).toBeUndefined();
    const folder = data('notes-from-older');
    // An older copy (0001 only), as a start made before the new migration would have.
    await ensureClusters([folder], env(), async () => first);
    const started = await migrated(folder, migrations);
    try {
      expect(started.applied).toEqual(['0002_more']);
    } finally {
      await started.close();
    }
    const second = await ensureMigratedTemplate('notes', migrations, env());
    expect(second).not.toBe(first);
  }, 120_000);
});
