import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createServer } from '../server.ts';
import { MAX_JSON_DEPTH } from './json-body.ts';

let app: App;

beforeAll(async () => {
  app = createServer({ service: 'json-body-test', logLevel: 'silent' });
  app.post('/echo', { config: { public: true } }, async (request) => ({ body: request.body }));
  await app.ready();
});

afterAll(() => app?.close());

const post = (payload: string | Buffer, contentType = 'application/json') =>
  app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': contentType }, payload });

describe('JSON bodies', () => {
  it('parses ordinary JSON, escapes and unicode included', async () => {
    const body = {
      name: 'Zoë \u00e9\u0301 \u05e9\u05dc\u05d5\u05dd 😀',
      nested: { list: [1, { a: 'b' }] },
      'quo"te': 1,
    };
    const response = await post(JSON.stringify(body));
    expect(response.statusCode).toBe(200);
    expect(response.json().body).toEqual(body);
  });

  it('refuses a member name given twice, even when one is escaped, naming it', async () => {
    for (const [payload, field] of [
      ['{"email":"a@example.com","email":"b@example.com"}', 'email'],
      ['{"a":{"b":1,"\\u0062":2}}', 'a.b'],
      ['[{"x":1},{"y":{"z":1,"z":1}}]', 'y.z'],
    ]) {
      const response = await post(payload);
      expect(response.statusCode, payload).toBe(400);
      expect(response.json().error.details).toEqual([{ field, message: 'appears more than once' }]);
    }
    // The same name in sibling objects, or as a value, is fine.
    expect((await post('{"a":{"x":1},"b":{"x":1},"c":"a"}')).statusCode).toBe(200);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels, at any size`, async () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect((await post(nested(MAX_JSON_DEPTH))).statusCode).toBe(200);
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      const response = await post(nested(depth));
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('refuses bytes that are not UTF-8: overlong forms, encoded surrogates, stray bytes', async () => {
    for (const bytes of [
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong "/" in three bytes
      [0xed, 0xa0, 0x80], // a surrogate, CESU-8 style
      [0xff],
    ]) {
      const payload = Buffer.concat([Buffer.from('{"name":"'), Buffer.from(bytes), Buffer.from('"}')]);
      const response = await post(payload);
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('MALFORMED_JSON');
    }
  });

  it('refuses NUL and unpaired surrogates in names and values, naming the field', async () => {
    for (const [payload, field] of [
      ['{"name":"a\\u0000b"}', 'name'],
      ['{"user":{"name":"\\ud800"}}', 'user.name'],
      ['{"tags":["ok","\\udc00x"]}', 'tags'],
      ['{"a\\u0000":1}', 'body'],
    ]) {
      const response = await post(payload);
      expect(response.statusCode, payload).toBe(400);
      expect(response.json().error.details[0].field, payload).toBe(field);
    }
    expect((await post('{"emoji":"\\ud83d\\ude00"}')).json().body).toEqual({ emoji: '😀' });
  });

  it('refuses prototype poisoning, malformed and empty bodies, and charsets other than UTF-8', async () => {
    expect((await post('{"__proto__":{"isAdmin":true}}')).statusCode).toBe(400);
    expect((await post('{"constructor":{"prototype":{"isAdmin":true}}}')).statusCode).toBe(400);
    expect((await post('{"a":')).json().error.code).toBe('MALFORMED_JSON');
    expect((await post('')).json().error.code).toBe('MALFORMED_JSON');
    expect((await post('{}', 'application/json; charset=utf-16')).statusCode).toBe(415);
    expect((await post('{}', 'application/json; charset=UTF-8')).statusCode).toBe(200);
    expect((await post('{"a":1}', 'text/plain')).json().error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
