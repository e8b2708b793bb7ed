#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

// Modules compiled once (their types stripped, their code compiled) are kept on disk and loaded from
// there on the next start: a warm start spends much of its time loading modules. Node checks each
// entry against the source, so an edited file is compiled afresh. The cache sits with the installed
// dependencies (`node_modules/.cache`); where that folder is read-only Node goes on without it, and
// NODE_COMPILE_CACHE (another folder) or NODE_DISABLE_COMPILE_CACHE=1 take precedence. Commands
// import what they need only after this, and only what they need.
enableCompileCache(fileURLToPath(new URL('../../../node_modules/.cache/armature-compile', import.meta.url)));

const usage = `Usage: armature <command>

Commands:
  start      run the gateway, users and orders services in one process (embedded mode)
  migrate    apply pending database migrations for every service, then exit
  create-admin --email <email> (--password <password> | --password-stdin)
             make sure this admin exists in the users database (idempotent)
  rotate-keys
             add a new access-token signing key; the previous one verifies until its tokens expire
  seed       add the demo products to the catalog (idempotent; stop the embedded system first)
  backup --out <file>
             a consistent backup of every embedded database, taken while Armature runs (or not)
  restore <file> [--force]
             put a backup's databases into an empty DATA_DIR (--force: replace the ones there)
  prepare-embedded
             make the clusters new embedded databases are copied from: an empty one, and one per
             service with its migrations applied (npm install runs it; without it the first start
             makes the empty one and migrates each copy)
`;

const [command] = process.argv.slice(2);

/** Runs a one-shot command: its line on standard output, or its error on standard error and exit 1. */
async function oneShot(work: () => Promise<string | string[]>): Promise<void> {
  try {
    const lines = await work();
    for (const line of [lines].flat()) process.stdout.write(`${line}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

switch (command) {
  case 'start': {
    const { startEmbeddedProcess } = await import('./start.ts');
    await startEmbeddedProcess();
    break;
  }
  case 'migrate':
    await oneShot(async () => (await import('./migrate.ts')).migrateAll());
    break;
  case 'seed':
    await oneShot(async () => (await import('./orders-commands.ts')).seed());
    break;
  case 'create-admin':
    await oneShot(async () => (await import('./users-commands.ts')).createAdmin(process.argv.slice(3)));
    break;
  case 'rotate-keys':
    await oneShot(async () => (await import('./users-commands.ts')).rotateKeys());
    break;
  case 'backup':
    await oneShot(async () => (await import('./backup.ts')).backup(process.argv.slice(3)));
    break;
  case 'restore':
    await oneShot(async () => (await import('./backup.ts')).restore(process.argv.slice(3)));
    break;
  case 'prepare-embedded':
    await oneShot(async () => {
      const { ensureTemplate } = await import('@armature/platform/db/pglite-template');
      const { ensureMigratedTemplate } = await import('@armature/platform/db/pglite-migrated');
      const { serviceNames } = await import('@armature/contracts/services');
      const { migrationsFolderOf } = await import('./services.ts');
      const folder = await ensureTemplate();
      if (!folder) return 'no template cluster (PGLITE_TEMPLATE_DIR=off)';
      const lines = [`embedded template cluster ready in ${folder}`];
      for (const name of serviceNames) {
        const migrated = await ensureMigratedTemplate(name, await migrationsFolderOf(name));
        if (migrated) lines.push(`${name}: migrated template cluster ready in ${migrated}`);
      }
      return lines;
    });
    break;
  default:
    process.stderr.write(usage);
    process.exit(command ? 1 : 0);
}
