import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/index.ts';

let server: FastifyInstance;
let url: string;
const seen: { url: string; authorization?: string }[] = [];

beforeAll(async () => {
  server = Fastify();
  server.addHook('onRequest', async (request) => {
    seen.push({ url: request.url, authorization: request.headers.authorization });
  });
  server.get('/v1/users/:id', async (request) => ({ id: (request.params as { id: string }).id }));
  server.get('/health/live', async () => ({ status: 'up' }));
  url = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => server.close());

describe('the typed client', () => {
  it('calls the gateway by contract path, filling in path parameters', async () => {
    const client = createClient(url);
    const { data, response } = await client.GET('/health/live');
    expect(response.status).toBe(200);
    expect(data?.status).toBe('up');

    await client.GET('/v1/users/{id}', { params: { path: { id: 'me' } } });
    expect(seen.at(-1)?.url).toBe('/v1/users/me');
  });

  it('sends the access token as a bearer token, asking a token function before every request', async () => {
    let token: string | undefined;
    const client = createClient(url, { token: () => token });

    await client.GET('/health/live');
    expect(seen.at(-1)?.authorization).toBeUndefined();

    token = 'first';
    await client.GET('/health/live');
    expect(seen.at(-1)?.authorization).toBe('Bearer first');

    token = 'refreshed';
    await client.GET('/health/live');
    expect(seen.at(-1)?.authorization).toBe('Bearer refreshed');

    await createClient(url, { token: 'fixed' }).GET('/health/live');
    expect(seen.at(-1)?.authorization).toBe('Bearer fixed');
  });
});
