import { writeFileSync } from 'node:fs';
import { runMain } from '@armature/platform';
import { startEmbedded } from '../../packages/cli/src/embedded.ts';

/**
 * The embedded system (`npm start`: gateway, users and orders in one process on PGlite and the
 * in-process adapters) as a process of its own, so the bench measures it from outside. Writes the
 * three base URLs as JSON to `BENCH_URLS_FILE` once listening.
 */
await runMain(async () => {
  const system = await startEmbedded(process.env);
  writeFileSync(
    process.env.BENCH_URLS_FILE!,
    JSON.stringify({
      gateway: system.gateway.url,
      users: system.services.users.url,
      orders: system.services.orders.url,
    }),
  );
  return { close: system.close, log: system.gateway.app.log };
});
