import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createServer } from './server.ts';

let app: App;
let onRequestCalls = 0;

beforeAll(async () => {
  app = createServer({ service: 'bad-paths-test', logLevel: 'silent' });
  app.addHook('onRequest', async () => {
    onRequestCalls++;
  });
  app.get(
    '/things/:id',
    {
      config: { public: true },
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 10 } }, required: ['id'] },
      },
    },
    async (request) => ({ id: (request.params as { id: string }).id }),
  );
  await app.ready();
});

afterAll(() => app?.close());

describe('paths the router cannot take as they are', () => {
  it('answers an id that is not valid percent-encoded UTF-8 like any bad id: 404 in the envelope, hooks run', async () => {
    const before = onRequestCalls;
    const response = await app.inject({ url: '/things/%c0%ae%c0%ae' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('NOT_FOUND');
    expect(response.headers['x-request-id']).toBe(response.json().requestId);
    expect(onRequestCalls).toBe(before + 1);
    const unknown = await app.inject({ url: '/nowhere/%ff?x=%ff' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('ROUTE_NOT_FOUND');
  });

  it('answers an id longer than its schema allows, however long, with 404 rather than 400', async () => {
    for (const length of [11, 150, 2000, 5000]) {
      const response = await app.inject({ url: `/things/${'x'.repeat(length)}` });
      expect(response.statusCode, String(length)).toBe(404);
      expect(response.json().error.code).toBe('NOT_FOUND');
      expect(response.headers['x-request-id']).toEqual(expect.any(String));
    }
    expect((await app.inject({ url: '/things/%41bc' })).json()).toEqual({ id: 'Abc' });
  });
});
