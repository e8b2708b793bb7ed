/**
 * `node pglite-initdb.ts <folder>`: initialises an empty PGlite cluster in `folder`, then exits.
 * Run as a child process by `ensureClusters` so that initdb's memory leaves with it.
 */
import { PGlite } from '@electric-sql/pglite';

const [folder] = process.argv.slice(2);
if (!folder) {
  process.stderr.write('usage: pglite-initdb.ts <folder>\n');
  process.exit(2);
}
const client = await PGlite.create(folder);
await client.close();
