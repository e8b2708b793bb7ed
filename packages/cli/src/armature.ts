#!/usr/bin/env node
import { readCommonConfig, runMain } from '@armature/platform';
import { startEmbedded } from './embedded.ts';
import { migrateAll } from './migrate.ts';
import { seed } from './orders-commands.ts';
import { createAdmin, rotateKeys } from './users-commands.ts';

const usage = `Usage: armature <command>

Commands:
  start      run the gateway, users and orders services in one process (embedded mode)
  migrate    apply pending database migrations for every service, then exit
  create-admin --email <email> (--password <password> | --password-stdin)
             make sure this admin exists in the users database (idempotent)
  rotate-keys
             add a new access-token signing key; the previous one verifies until its tokens expire
  seed       add the demo products to the catalog (idempotent; stop the embedded system first)
`;

const [command] = process.argv.slice(2);

switch (command) {
  case 'start':
    await runMain(async () => {
      const system = await startEmbedded();
      system.gateway.app.log.info({ url: system.gateway.url }, 'Armature is serving');
      return {
        close: system.close,
        log: system.gateway.app.log,
        shutdownTimeoutMs: readCommonConfig().shutdownTimeoutMs,
      };
    });
    break;
  case 'migrate':
    try {
      for (const line of await migrateAll()) process.stdout.write(`${line}\n`);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
    break;
  case 'seed':
    try {
      process.stdout.write(`${await seed()}\n`);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
    break;
  case 'create-admin':
  case 'rotate-keys':
    try {
      const line = command === 'create-admin' ? await createAdmin(process.argv.slice(3)) : await rotateKeys();
      process.stdout.write(`${line}\n`);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    }
    break;
  default:
    process.stderr.write(usage);
    process.exit(command ? 1 : 0);
}
