import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { serviceNames } from '@armature/contracts/services';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { cleanup, freePort, getJson, root, spawnOwned, tempDir, waitFor } from '../faults/support.ts';

/**
 * An API key's secret is shown once, to its owner, and nowhere else: not in any log line of the
 * running system (at `debug`, the most it logs), not in its events. The system runs as `npm start`
 * runs it, in its own process, so that everything it writes to its output is seen.
 */

const admin = { email: 'secrets-admin@example.com', password: 'secrets admin password' };

afterAll(cleanup);

async function send(
  base: string,
  method: string,
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as any };
}

describe('API key secrets', () => {
  it('appear in no log line and no event of the running system', { timeout: 240_000 }, async () => {
    const dataDir = await tempDir('key-secrets');
    const template = inject('pgliteTemplate');
    if (template) {
      await Promise.all(serviceNames.map((name) => cp(template, join(dataDir, name), { recursive: true })));
    }
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server = spawnOwned(process.execPath, [join(root, 'packages/cli/src/armature.ts'), 'start'], {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      USERS_DATABASE_URL: undefined,
      ORDERS_DATABASE_URL: undefined,
      PAYMENTS_DATABASE_URL: undefined,
      REDIS_URL: undefined,
      NATS_URL: undefined,
    });
    await waitFor(
      'the system to be ready',
      async () => {
        if (server.child.exitCode !== null) throw new Error(`it exited:\n${server.output()}`);
        return (await getJson(`${base}/health/ready`))?.status === 200;
      },
      { timeoutMs: 150_000, intervalMs: 250 },
    );

    const member = { email: 'keeper@example.com', name: 'Keeper', password: 'keeper password 1' };
    const created = await send(base, 'POST', '/v1/users', { body: member });
    expect(created.status).toBe(201);
    const login = await send(base, 'POST', '/v1/auth/login', {
      body: { email: member.email, password: member.password },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const token = login.body.accessToken as string;
    const owner = { authorization: `Bearer ${token}` };

    const secrets: string[] = [];
    const key = await send(base, 'POST', '/v1/users/me/api-keys', {
      body: { name: 'ci', scopes: ['users:read'] },
      headers: owner,
    });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
    secrets.push(key.body.key);
    expect((await send(base, 'GET', '/v1/users/me', { headers: { 'x-api-key': key.body.key } })).status).toBe(
      200,
    );
    expect(
      (await send(base, 'GET', '/v1/users/me', { headers: { authorization: `Bearer ${key.body.key}` } }))
        .status,
    ).toBe(200);
    // Refused where it lacks the scope, and exchanged by hand.
    expect(
      (await send(base, 'GET', '/v1/users/me/cart', { headers: { 'x-api-key': key.body.key } })).status,
    ).toBe(403);
    expect((await send(base, 'POST', '/v1/auth/api-keys', { body: { key: key.body.key } })).status).toBe(200);
    const rotated = await send(base, 'POST', `/v1/users/me/api-keys/${key.body.id}/rotations`, {
      body: { graceSeconds: 0 },
      headers: owner,
    });
    expect(rotated.status).toBe(201);
    secrets.push(rotated.body.key);
    expect(
      (await send(base, 'GET', '/v1/users/me', { headers: { 'x-api-key': rotated.body.key } })).status,
    ).toBe(200);
    // A key that is not one: refused, and not written down either.
    const unknown = `ak_${'x'.repeat(43)}`;
    secrets.push(unknown);
    expect((await send(base, 'GET', '/v1/users/me', { headers: { 'x-api-key': unknown } })).status).toBe(401);

    const adminLogin = await send(base, 'POST', '/v1/auth/login', { body: admin });
    const events = await send(base, 'GET', `/v1/events?aggregateId=${created.body.id}`, {
      headers: { authorization: `Bearer ${adminLogin.body.accessToken}` },
    });
    expect(events.status).toBe(200);
    expect(events.body.data.length).toBeGreaterThan(0);

    const output = server.output();
    // The log holds these requests (so a secret written with them would be seen)…
    expect(output).toContain('/v1/users/me/api-keys');
    expect(output).toContain('/v1/auth/api-keys');
    // …and none of the secrets, nor any part of them past the prefix lists show.
    for (const secret of secrets) {
      expect(output).not.toContain(secret.slice(10));
      expect(JSON.stringify(events.body)).not.toContain(secret.slice(10));
    }
  });
});
