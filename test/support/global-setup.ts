import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/**
 * Initialising a PGlite cluster (initdb) takes seconds; copying a closed one takes a fraction of
 * that. Make one empty cluster per test run; `freshStore` copies it for every embedded database.
 */
export async function setup({ provide }: { provide: (key: 'pgliteTemplate', value: string) => void }) {
  const folder = await mkdtemp(join(tmpdir(), 'armature-pglite-template-'));
  const template = join(folder, 'cluster');
  const client = await PGlite.create(template);
  await client.close();
  provide('pgliteTemplate', template);
  return () => rm(folder, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
