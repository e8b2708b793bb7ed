import { type Database, newUuid, openDatabase } from '@armature/platform';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCustomer, DeletedCustomers } from './customers.ts';
import { migrationsFolder } from './migrations.ts';
import type { OrdersDatabase } from './schema.ts';

let store: TestStore;
let database: Database<OrdersDatabase>;

beforeAll(async () => {
  store = await freshStore('orders');
  database = await openDatabase<OrdersDatabase>({
    service: 'orders',
    url: store.url,
    dataDir: store.dataDir,
    migrationsFolder,
  });
});
afterAll(async () => {
  await database.close();
  await store.drop();
});

async function customer(): Promise<string> {
  const id = newUuid();
  await applyCustomer(database.db, { id, email: 'c@example.com', name: 'C', status: 'active', version: 1 });
  return id;
}

const deleteInProjection = (id: string) =>
  applyCustomer(database.db, { id, email: null, name: null, status: 'deleted', version: 2 });

describe(`deleted customers, remembered (${mode})`, () => {
  it('knows a deletion applied by another instance once "not deleted" has run out', async () => {
    const id = await customer();
    const remembered = new DeletedCustomers(database.db, { activeTtlMs: 60_000 });
    const forgetful = new DeletedCustomers(database.db, { activeTtlMs: 0 });
    expect(await remembered.has(id)).toBe(false);
    expect(await forgetful.has(id)).toBe(false);
    await deleteInProjection(id);
    // Within its bound, "not deleted" still holds; past it, the projection is read again.
    expect(await remembered.has(id)).toBe(false);
    expect(await forgetful.has(id)).toBe(true);
  });

  it('refuses at once a user whose deletion this instance applied', async () => {
    const id = await customer();
    const memo = new DeletedCustomers(database.db, { activeTtlMs: 60_000 });
    expect(await memo.has(id)).toBe(false);
    await deleteInProjection(id);
    memo.noteDeleted(id);
    expect(await memo.has(id)).toBe(true);
  });

  it('keeps a deletion: it is final', async () => {
    const id = await customer();
    await deleteInProjection(id);
    const memo = new DeletedCustomers(database.db, { activeTtlMs: 0, maxEntries: 2 });
    expect(await memo.has(id)).toBe(true);
    // A user the projection has not heard of is not deleted.
    expect(await memo.has(newUuid())).toBe(false);
    expect(await memo.has(id)).toBe(true);
  });
});
