import { createServer, type Server } from 'node:http';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { createTokenMinter } from '@armature/testing/tokens';
import { afterAll, describe, expect, it } from 'vitest';
import { type OrdersService, startOrdersService } from '../app.ts';
import { readOrdersConfig } from '../config.ts';

/**
 * The orders service verifies access tokens with the users service's published keys. With two users
 * instances and the first one down, a freshly started orders instance must still fetch the keys (from
 * the second) and accept tokens, not answer 503 to everyone until the first one is back.
 */

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
};

describe(`token keys (${mode})`, () => {
  let service: OrdersService | undefined;
  let usersTwo: Server | undefined;
  let store: TestStore | undefined;

  afterAll(async () => {
    await service?.close();
    usersTwo?.close();
    await store?.drop();
  });

  it('come from another users instance when the first is down', async () => {
    const minter = await createTokenMinter();
    let asked = 0;
    usersTwo = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      asked++;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(minter.jwks));
    });
    const live = await listen(usersTwo);
    // The first users instance: a port nothing listens on any more (connection refused).
    const gone = createServer();
    const dead = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));

    store = await freshStore('orders-token-keys');
    service = await startOrdersService(
      readOrdersConfig({
        DATA_DIR: store.dataDir,
        ...(store.url ? { ORDERS_DATABASE_URL: store.url } : {}),
        ORDERS_PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        USERS_SERVICE_URLS: `${dead},${live}`,
      }),
    );
    const member = await minter.user();
    const response = await fetch(`${service.url}/v1/users/me/cart`, {
      headers: { authorization: `Bearer ${member.token}` },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { userId: string }).userId).toBe(member.id);
    expect(asked).toBe(1);
  });
});
