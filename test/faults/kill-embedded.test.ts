import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type Child, cleanup, freePort, getJson, root, spawnOwned, tempDir, waitFor } from './support.ts';

/**
 * `kill -9` of the embedded server (what `npm start` runs: gateway, users and orders in one process
 * on PGlite) in the middle of a stream of writes, then a restart on the same DATA_DIR: every write
 * that was acknowledged with a 2xx is there afterwards. Writes in flight at the kill may or may not
 * have happened; none is half there.
 */

const admin = { email: 'fault-admin@example.com', password: 'fault admin password' };

afterAll(cleanup);

async function startEmbeddedProcess(dataDir: string, port: number): Promise<Child> {
  const server = spawnOwned(process.execPath, [join(root, 'packages/cli/src/armature.ts'), 'start'], {
    PORT: String(port),
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
      return (await getJson(`http://127.0.0.1:${port}/health/ready`))?.status === 200;
    },
    { timeoutMs: 150_000, intervalMs: 250 },
  );
  return server;
}

async function post(url: string, body: unknown, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  return { status: response.status, body: (await response.json().catch(() => undefined)) as any };
}

describe('kill -9 of the embedded server during writes', () => {
  it('keeps every write that was acknowledged before the kill', { timeout: 400_000 }, async () => {
    const dataDir = await tempDir('embedded');
    // Start from copies of an initialised empty cluster, as the test systems do (initdb is slow).
    const template = inject('pgliteTemplate');
    if (template) {
      await Promise.all(
        ['users', 'orders'].map((name) => cp(template, join(dataDir, name), { recursive: true })),
      );
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = await startEmbeddedProcess(dataDir, port);

    const login = async () => (await post(`${base}/v1/auth/login`, admin)).body.accessToken as string;
    const token = await login();
    const member = { email: 'survivor@example.com', name: 'Survivor', password: 'survivor password' };
    expect((await post(`${base}/v1/users`, member)).status).toBe(201);

    // A stream of writes from four clients; the server is killed once 40 have been acknowledged.
    const acknowledged = new Map<string, string>();
    let attempted = 0;
    let killed = false;
    const client = async (worker: number) => {
      for (let i = 0; i < 500 && !killed; i++) {
        const name = `Product ${worker}-${i}`;
        attempted++;
        try {
          const answer = await post(`${base}/v1/products`, { name, price: 1 + i, stock: 10 }, token);
          if (answer.status === 201) acknowledged.set(answer.body.id, name);
          else if (!killed)
            throw new Error(`write answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        } catch (error) {
          if (!killed) throw error;
        }
      }
    };
    const clients = [0, 1, 2, 3].map(client);
    await waitFor('40 acknowledged writes', () => acknowledged.size >= 40, {
      timeoutMs: 120_000,
      intervalMs: 5,
    });
    const acknowledgedAtKill = new Map(acknowledged);
    first.child.kill('SIGKILL');
    killed = true;
    await first.stop('SIGKILL');
    await Promise.all(clients);
    // Answers that raced the kill were acknowledged too: they must survive as well.
    const mustSurvive = new Map([...acknowledgedAtKill, ...acknowledged]);
    expect(attempted).toBeGreaterThan(mustSurvive.size);

    await startEmbeddedProcess(dataDir, port);
    const after = await login();
    const missing: string[] = [];
    for (const [id, name] of mustSurvive) {
      const read = await getJson(`${base}/v1/products/${id}`, { authorization: `Bearer ${after}` });
      if (read?.status !== 200 || read.body.name !== name) missing.push(`${id} (${read?.status})`);
    }
    expect(missing, `acknowledged writes lost after kill -9: ${missing.join(', ')}`).toEqual([]);
    const { name: _name, ...credentials } = member;
    expect((await post(`${base}/v1/auth/login`, credentials)).status).toBe(200);
    const list = await getJson(`${base}/v1/products?limit=1`, { authorization: `Bearer ${after}` });
    expect(list?.body.pagination.total).toBeGreaterThanOrEqual(mustSurvive.size);
  });
});
