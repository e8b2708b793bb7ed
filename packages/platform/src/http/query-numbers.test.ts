import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createServer } from '../server.ts';

let app: App;

beforeAll(async () => {
  app = createServer({ service: 'query-numbers-test', logLevel: 'silent' });
  app.get(
    '/list',
    {
      config: { public: true },
      schema: {
        querystring: {
          type: 'object',
          properties: { page: { type: 'integer', minimum: 1, maximum: 1000 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => ({ query: request.query }),
  );
  await app.ready();
});

afterAll(() => app?.close());

describe('numbers in query strings', () => {
  it('refuses values that overflow to Infinity instead of letting them skip the range check', async () => {
    for (const page of ['1e309', '-1e309', 'Infinity']) {
      const response = await app.inject({ url: `/list?page=${page}` });
      expect(response.statusCode, page).toBe(400);
      expect(response.json().error.details[0].field).toBe('page');
    }
    expect((await app.inject({ url: '/list?page=2' })).json().query).toEqual({ page: 2 });
  });
});
