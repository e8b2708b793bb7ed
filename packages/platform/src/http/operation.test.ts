import { defineOperations } from '@armature/contracts';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { listen, type StartedService } from '../service.ts';
import { registerOperation } from './operation.ts';

const Note = Type.Object({ id: Type.String(), text: Type.String() }, { additionalProperties: false });
const operations = defineOperations({
  createNote: {
    operationId: 'createNote',
    service: 'users',
    method: 'POST',
    path: '/notes',
    summary: 'Create a note',
    tags: ['Notes'],
    access: 'public',
    body: Type.Object({ text: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    responses: { 201: Note },
    errors: [400],
  },
  getNote: {
    operationId: 'getNote',
    service: 'users',
    method: 'GET',
    path: '/notes/{id}',
    summary: 'Read a note',
    tags: ['Notes'],
    access: 'public',
    params: Type.Object({ id: Type.String() }),
    responses: { 200: Note },
    errors: [404],
  },
});

let service: StartedService;

beforeAll(async () => {
  const app = createServer({ service: 'test', logLevel: 'silent' });
  registerOperation(app, operations.createNote, async (request, reply, version) =>
    // `request.body.text` is a string by the contract; no cast.
    reply.code(201).send({ id: `v${version}`, text: request.body.text }),
  );
  registerOperation(app, operations.getNote, async (request) => ({ id: request.params.id, text: 'hello' }));
  service = await listen(app, { host: '127.0.0.1', port: 0 });
});

afterAll(() => service.close());

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: { code: string } } & Record<string, unknown>,
  };
}

describe('registerOperation', () => {
  it('serves an operation under every API version, and tells the handler which', async () => {
    expect(await call('POST', '/v1/notes', { text: 'a' })).toEqual({
      status: 201,
      body: { id: 'v1', text: 'a' },
    });
    expect(await call('POST', '/v2/notes', { text: 'b' })).toEqual({
      status: 201,
      body: { id: 'v2', text: 'b' },
    });
    expect((await call('GET', '/v2/notes/n1')).body).toEqual({ id: 'n1', text: 'hello' });
  });

  it('refuses a body the contract does not allow before the handler runs', async () => {
    const { status, body } = await call('POST', '/v1/notes', { text: '', extra: true });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('VALIDATION_ERROR');
  });

  it('types handlers from the contract: a wrong reply or an unknown body field fails the compiler', async () => {
    const app = createServer({ service: 'test', logLevel: 'silent' });
    // @ts-expect-error `text` must be a string
    registerOperation(app, operations.getNote, async () => ({ id: 'x', text: 1 }));
    registerOperation(app, operations.createNote, async (request) => ({
      id: 'x',
      // @ts-expect-error the body has no `title`
      text: request.body.title,
    }));
    await app.ready();
    expect(app.hasRoute({ method: 'GET', url: '/v1/notes/:id' })).toBe(true);
    await app.close();
  });
});
