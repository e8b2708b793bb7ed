import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childProbe, freePort, startServer } from '../lib/processes.ts';
import { orderCount, seed } from '../lib/seed.ts';
import { checkOrders } from './scale-out.ts';
import { scenarioRequests, titles } from './scenarios.ts';
import {
  admin,
  baseEnv,
  cleanUp,
  commonEnv,
  connections,
  dir,
  loadgen,
  log,
  measure,
  measurePair,
  quick,
  runId,
  selected,
  servers,
} from './setup.ts';

/** The embedded topology: one process on PGlite. */

// ---------------------------------------------------------------- the embedded topology

export async function embedded(): Promise<void> {
  const wanted = ['me', 'product', 'orders', 'checkout', 'login'].filter((key) => selected.has(key));
  if (wanted.length === 0) return;
  const port = await freePort();
  const urlsFile = join(dir, 'embedded-urls.json');
  const dataDir = join(dir, 'embedded-data');
  mkdirSync(dataDir);
  log('embedded: starting one process (PGlite, in-process cache, bus and rate limits)');
  const server = await startServer({
    name: 'embedded',
    script: 'bench/support/embedded-main.ts',
    env: {
      ...baseEnv(),
      ...commonEnv,
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      BENCH_URLS_FILE: urlsFile,
    },
    url: `http://127.0.0.1:${port}`,
    readyPath: '/health/ready',
    // Creating two PGlite databases and migrating them takes a while on a busy machine.
    readyTimeoutMs: 300_000,
    logDir: dir,
  });
  servers.push(server);
  try {
    log('embedded: seeding');
    const fixture = await seed(server.url, {
      admin,
      products: 64,
      shoppers: 2 * Math.max(connections, 16),
      ordersPerShopper: quick ? 25 : 40,
      runId,
    });
    const requests = scenarioRequests(fixture);
    const probes = [loadgen, childProbe('embedded', server.child)];
    const target = 'embedded, through the gateway';
    if (selected.has('me')) {
      // The users service of the same process on its own port: what the gateway's hop costs. Taken in
      // turns with the row through the gateway, so that other work on the machine falls on both alike.
      const { users } = JSON.parse(readFileSync(urlsFile, 'utf8')) as { users: string };
      const me = { scenario: titles.me, requests: requests.me(0), perConnection: requests.me, probes };
      await measurePair(
        { ...me, id: 'me.embedded-direct', target: 'embedded, users service on its own port', origin: users },
        { ...me, id: 'me.embedded', target, origin: server.url },
      );
    }
    if (selected.has('product'))
      await measure({
        id: 'product.embedded',
        scenario: titles.product,
        target,
        origin: server.url,
        requests: requests.product(0),
        perConnection: requests.product,
        probes,
        cached: true,
      });
    if (selected.has('orders'))
      await measure({
        id: 'orders.embedded',
        scenario: titles.orders,
        target,
        origin: server.url,
        requests: requests.orders(0),
        perConnection: requests.orders,
        probes,
      });
    if (selected.has('checkout')) {
      const before = await orderCount(server.url, fixture.adminToken);
      const row = await measure({
        id: 'checkout.embedded',
        scenario: titles.checkout,
        target,
        origin: server.url,
        requests: requests.checkout(0),
        perConnection: requests.checkout,
        ownWarmupUsers: true,
        operationStatus: 201,
        probes,
      });
      await checkOrders('embedded', server.url, fixture, before, [row]);
    }
    if (selected.has('login'))
      await measure({
        id: 'login.embedded',
        scenario: titles.login,
        target,
        origin: server.url,
        requests: requests.login(0),
        perConnection: requests.login,
        probes,
      });
  } finally {
    await cleanUp();
  }
}
