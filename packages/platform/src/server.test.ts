import { Writable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from './errors.ts';
import { createServer } from './server.ts';
import { listen, type StartedService } from './service.ts';

const logLines: string[] = [];
let service: StartedService;

beforeAll(async () => {
  // Capture the log so tests can see what is written there (and what is not sent to clients).
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const app = createServer({ service: 'test', bodyLimit: 2048, logStream });
  const body = Type.Object(
    { email: Type.String({ format: 'email' }), age: Type.Integer() },
    { additionalProperties: false },
  );
  app.post('/things', { schema: { body } }, async (_request, reply) => reply.code(201).send({ ok: true }));
  app.get('/things', async () => ({ data: [] }));
  app.get('/boom', async () => {
    throw new Error('secret detail: database password is hunter2');
  });
  app.get('/conflict', async () => {
    throw new ApiError('VERSION_CONFLICT');
  });
  service = await listen(app, { host: '127.0.0.1', port: 0 });
});

afterAll(() => service.close());

async function call(path: string, init?: RequestInit) {
  const response = await fetch(`${service.url}${path}`, init);
  const text = await response.text();
  return { response, body: text ? JSON.parse(text) : undefined };
}

function expectEnvelope(body: { error: { code: string; message: string }; requestId: string }, code: string) {
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(body.requestId).toMatch(/^[\w.:-]+$/);
}

describe('the server factory turns every failure into the error envelope', () => {
  it('answers an unknown route with 404 ROUTE_NOT_FOUND', async () => {
    const { response, body } = await call('/nowhere');
    expect(response.status).toBe(404);
    expectEnvelope(body, 'ROUTE_NOT_FOUND');
    expect(response.headers.get('x-request-id')).toBe(body.requestId);
  });

  it('answers a wrong method with 405 and an Allow header listing the right ones', async () => {
    const { response, body } = await call('/things', { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, POST');
    expectEnvelope(body, 'METHOD_NOT_ALLOWED');
  });

  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    const { response, body } = await call('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"email": "a@b.co",',
    });
    expect(response.status).toBe(400);
    expectEnvelope(body, 'MALFORMED_JSON');
  });

  it('answers invalid fields with 400 VALIDATION_ERROR and one detail per field', async () => {
    const { response, body } = await call('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'not-an-email', age: 'old', extra: 1 }),
    });
    expect(response.status).toBe(400);
    expectEnvelope(body, 'VALIDATION_ERROR');
    const fields = body.error.details.map((detail: { field: string }) => detail.field).sort();
    expect(fields).toEqual(['age', 'email', 'extra']);
  });

  it('gives one detail per field even when a value breaks several rules', async () => {
    const { response, body } = await call('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@b.co', age: null }),
    });
    expect(response.status).toBe(400);
    expect(body.error.details.map((detail: { field: string }) => detail.field)).toEqual(['age']);
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const { response, body } = await call('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@b.co', age: 1, padding: 'x'.repeat(4096) }),
    });
    expect(response.status).toBe(413);
    expectEnvelope(body, 'PAYLOAD_TOO_LARGE');
  });

  it('answers a wrong content type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const { response, body } = await call('/things', {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: '<thing/>',
    });
    expect(response.status).toBe(415);
    expectEnvelope(body, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a thrown error with 500 and a generic message, never the details', async () => {
    const { response, body } = await call('/boom');
    expect(response.status).toBe(500);
    expectEnvelope(body, 'INTERNAL_ERROR');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const logged = logLines
      .map((line) => JSON.parse(line))
      .find((line) => line.requestId === body.requestId && line.err);
    expect(logged.err.message).toContain('hunter2');
  });

  it('answers a named domain error with its status and code', async () => {
    const { response, body } = await call('/conflict');
    expect(response.status).toBe(409);
    expectEnvelope(body, 'VERSION_CONFLICT');
  });
});

describe('request ids', () => {
  it('echoes a caller-supplied X-Request-Id in the header, the envelope and the log lines', async () => {
    const { response, body } = await call('/nowhere', { headers: { 'x-request-id': 'trace-123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-123');
    expect(body.requestId).toBe('trace-123');
    const lines = logLines.map((line) => JSON.parse(line)).filter((line) => line.url === '/nowhere');
    expect(lines.some((line) => line.requestId === 'trace-123' && line.statusCode === 404)).toBe(true);
  });

  it('replaces an unsafe X-Request-Id with a generated one', async () => {
    const { response } = await call('/nowhere', {
      headers: { 'x-request-id': 'evil id with spaces and "quotes"' },
    });
    const id = response.headers.get('x-request-id');
    expect(id).not.toContain('evil');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('generates an id when none is given, different per request', async () => {
    const first = (await call('/nowhere')).body.requestId;
    const second = (await call('/nowhere')).body.requestId;
    expect(first).not.toBe(second);
  });
});
