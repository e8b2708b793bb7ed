import { execFile } from 'node:child_process';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serviceNames } from '@armature/contracts/services';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  type Child,
  cleanup,
  freePort,
  getJson,
  metricValue,
  root,
  spawnOwned,
  tempDir,
  waitFor,
} from '../faults/support.ts';

/**
 * `npm run backup` while shoppers check out on the embedded server, then `npm run restore` into a
 * new folder and a start there: every order acknowledged before the backup began is there, the stock
 * agrees with the orders, and the outboxes go on from where the backup left them, publishing each
 * waiting event once and none a second time.
 */

const run = promisify(execFile);
const cli = join(root, 'packages/cli/src/armature.ts');
const admin = { email: 'backup-admin@example.com', password: 'backup admin password' };
const initialStock = 1_000_000;

afterAll(cleanup);

interface Ports {
  gateway: number;
  users: number;
  orders: number;
}

async function startServer(dataDir: string, ports: Ports): Promise<Child> {
  const server = spawnOwned(process.execPath, [cli, 'start'], {
    PORT: String(ports.gateway),
    USERS_PORT: String(ports.users),
    ORDERS_PORT: String(ports.orders),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    RATE_LIMIT_MAX_REQUESTS: '1000000',
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '1000000',
    USERS_DATABASE_URL: undefined,
    ORDERS_DATABASE_URL: undefined,
    REDIS_URL: undefined,
    NATS_URL: undefined,
  });
  await waitFor(
    'the embedded server to be ready',
    async () => {
      if (server.child.exitCode !== null) throw new Error(`it exited:\n${server.output()}`);
      return (await getJson(`http://127.0.0.1:${ports.gateway}/health/ready`))?.status === 200;
    },
    { timeoutMs: 150_000, intervalMs: 100 },
  );
  return server;
}

async function armature(args: string[], dataDir: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir },
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function call(base: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
}

/** The outbox rows not yet published and the inbox entries of one restored, not yet started, database. */
async function eventState(folder: string) {
  const client = await PGlite.create(folder);
  try {
    const unpublished = await client.query<{ id: string }>(
      'select id::text from outbox where published_at is null',
    );
    const handled = await client.query<{ event_id: string }>('select event_id::text from inbox');
    return {
      unpublished: unpublished.rows.map((row) => row.id),
      handled: handled.rows.map((row) => row.event_id),
    };
  } finally {
    await client.close();
  }
}

describe('backup and restore of the embedded databases', () => {
  it('restores every order acknowledged before the backup, consistent stock and outboxes', {
    timeout: 600_000,
  }, async () => {
    const source = await tempDir('backup-source');
    const template = inject('pgliteTemplate');
    if (template) {
      await Promise.all(serviceNames.map((name) => cp(template, join(source, name), { recursive: true })));
    }
    const ports = { gateway: await freePort(), users: await freePort(), orders: await freePort() };
    const base = `http://127.0.0.1:${ports.gateway}`;
    const first = await startServer(source, ports);

    const login = async (credentials: { email: string; password: string }) =>
      (await call(base, 'POST', '/v1/auth/login', credentials)).body.accessToken as string;
    const adminToken = await login(admin);
    const product = await call(
      base,
      'POST',
      '/v1/products',
      { name: 'Spare part', price: 5, stock: initialStock },
      adminToken,
    );
    expect(product.status).toBe(201);
    const productId = product.body.id as string;

    const shoppers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const member = {
        email: `shopper-${i}@example.com`,
        name: `Shopper ${i}`,
        password: `shopper password ${i}`,
      };
      expect((await call(base, 'POST', '/v1/users', member)).status).toBe(201);
      shoppers.push(await login({ email: member.email, password: member.password }));
    }

    // Checkouts from every shopper and new registrations (user events for the orders service) until
    // told to stop; each acknowledged order is noted with whether the backup had begun by then.
    const acknowledged: { id: string; beforeBackup: boolean }[] = [];
    let backupBegun = false;
    let stop = false;
    const shopper = async (token: string) => {
      for (let i = 0; !stop; i++) {
        const quantity = 1 + (i % 3);
        const put = await call(base, 'PUT', `/v1/users/me/cart/items/${productId}`, { quantity }, token);
        expect(put.status).toBe(200);
        const begunBefore = backupBegun;
        const order = await call(base, 'POST', '/v1/users/me/orders', undefined, token);
        expect(order.status, JSON.stringify(order.body)).toBe(201);
        acknowledged.push({ id: order.body.id, beforeBackup: !begunBefore && !backupBegun });
      }
    };
    const registrar = async () => {
      for (let i = 0; !stop; i++) {
        const member = {
          email: `newcomer-${i}@example.com`,
          name: `Newcomer ${i}`,
          password: `newcomer password ${i}`,
        };
        expect((await call(base, 'POST', '/v1/users', member)).status).toBe(201);
      }
    };
    const load = Promise.all([...shoppers.map(shopper), registrar()]);
    let failure: unknown;
    const settled = load.catch((error: unknown) => {
      failure = error;
      return error;
    });
    /** Waits for `condition`, or stops at once with the load's own failure. */
    const duringLoad = async (what: string, condition: () => boolean) => {
      await waitFor(what, () => failure !== undefined || condition(), { timeoutMs: 120_000, intervalMs: 10 });
      if (failure !== undefined) throw failure;
    };

    await duringLoad('30 acknowledged orders', () => acknowledged.length >= 30);
    const backupFile = join(await tempDir('backup-file'), 'armature.tar.gz');
    backupBegun = true;
    const backup = await armature(['backup', '--out', backupFile], source);
    expect(backup.code, backup.output).toBe(0);
    expect(backup.output).toMatch(/online/);
    const afterBackup = acknowledged.length;
    await duringLoad('orders acknowledged after the backup', () => acknowledged.length >= afterBackup + 10);
    stop = true;
    await settled;
    expect(failure).toBeUndefined();
    await first.stop();

    // A folder that is not empty is refused, and left as it was.
    const before = await readdir(source);
    const refused = await armature(['restore', backupFile], source);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/not empty/);
    expect(await readdir(source)).toEqual(before);

    const target = join(await tempDir('backup-target'), 'data');
    await mkdir(target);
    const restored = await armature(['restore', backupFile], target);
    expect(restored.code, restored.output).toBe(0);

    // At the backup's point no event was both handled by the orders service and still waiting in
    // the users outbox: nothing can be delivered twice once the relays start again.
    const users = await eventState(join(target, 'users'));
    const orders = await eventState(join(target, 'orders'));
    expect(users.unpublished.filter((id) => orders.handled.includes(id))).toEqual([]);

    const second = await startServer(target, ports);
    const token = await login(admin);
    const missing: string[] = [];
    for (const { id } of acknowledged.filter((order) => order.beforeBackup)) {
      const read = await call(base, 'GET', `/v1/orders/${id}`, undefined, token);
      if (read.status !== 200) missing.push(`${id} (${read.status})`);
    }
    expect(missing, `orders acknowledged before the backup, missing after the restore: ${missing}`).toEqual(
      [],
    );

    // Stock: what was there at first, less every unit ordered in the restored database.
    let ordered = 0;
    let count = 0;
    for (let cursor: string | undefined, more = true; more; ) {
      const page = await call(
        base,
        'GET',
        `/v2/orders?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        token,
      );
      expect(page.status).toBe(200);
      for (const order of page.body.data) {
        count++;
        if (order.status !== 'cancelled') ordered += order.total.amount / 500;
      }
      more = page.body.pagination.hasMore;
      cursor = page.body.pagination.nextCursor;
    }
    expect(count).toBeGreaterThanOrEqual(acknowledged.filter((order) => order.beforeBackup).length);
    const stocked = await call(base, 'GET', `/v1/products/${productId}`, undefined, token);
    expect(stocked.body.stock).toBe(initialStock - ordered);

    // The outboxes resume: each event waiting at the backup is published once, none again.
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await waitFor(
      'both outboxes drained',
      async () =>
        metricValue(await scrape(ports.users), 'events_outbox_backlog') === 0 &&
        metricValue(await scrape(ports.orders), 'events_outbox_backlog') === 0,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const published = (text: string) => metricValue(text, 'events_published_total') || 0;
    expect(published(await scrape(ports.users))).toBe(users.unpublished.length);
    expect(published(await scrape(ports.orders))).toBe(orders.unpublished.length);
    expect(
      metricValue(await scrape(ports.orders), 'events_consumed_total', { outcome: 'duplicate' }) || 0,
    ).toBe(0);
    await second.stop();
  });
});
