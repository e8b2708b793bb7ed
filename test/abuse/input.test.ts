import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { projectContract } from '@armature/testing/contract';
import { mode } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AbuseSystem,
  type Answer,
  expectClientError,
  expectRefused,
  type Member,
  startAbuseSystem,
} from './support.ts';

/**
 * Hostile input through the gateway: oversized, deeply nested and ambiguous JSON, wrong media types,
 * forged request ids, path traversal in ids, and unicode edge cases in names and emails. Each is a
 * 4xx in the error envelope (never a 5xx) and leaves everything as it was.
 */

let abuse: AbuseSystem;
let member: Member;
let product: string;

beforeAll(async () => {
  abuse = await startAbuseSystem();
  member = await abuse.member('input');
  product = await abuse.product();
});

afterAll(() => abuse?.close());

/** A request exactly as written: no URL normalisation (`%2e%2e` stays), checked against the contract. */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(abuse.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers, timeout: 10_000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const answer: Answer = {
            status: response.statusCode ?? 0,
            headers: new Headers(response.headers as Record<string, string>),
            body: text ? JSON.parse(text) : undefined,
          };
          projectContract().assert({
            method,
            path,
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
          });
          resolve(answer);
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path} timed out`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Bytes written on a socket as they are; resolves with the whole answer once the server closes. */
function rawSocket(bytes: string): Promise<string> {
  const url = new URL(abuse.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
    socket.write(bytes, 'latin1');
  });
}

describe(`request bodies (${mode})`, () => {
  it('answers an oversized body with 413 and a deeply nested one with 400, on both services', async () => {
    const before = await abuse.snapshot([member]);
    const huge = JSON.stringify({
      email: 'big@example.com',
      name: 'x'.repeat(2_000_000),
      password: 'long enough',
    });
    expectRefused(await abuse.call('POST', '/v1/users', { body: huge }), 413, 'PAYLOAD_TOO_LARGE');
    expectRefused(
      await abuse.call('PUT', `/v1/users/me/cart/items/${product}`, { token: member.token, body: huge }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    for (const depth of [64, 100_000]) {
      const deep = `{"email":"deep@example.com","password":"long enough","name":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      expectRefused(await abuse.call('POST', '/v1/users', { body: deep }), 400);
      const deepCart = `{"quantity":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
      expectRefused(
        await abuse.call('PUT', `/v1/users/me/cart/items/${product}`, {
          token: member.token,
          body: deepCart,
        }),
        400,
      );
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses duplicate member names with 400 rather than picking one, on every JSON media type', async () => {
    const before = await abuse.snapshot([member]);
    const { call, admin } = abuse;
    const twice = (json: string, contentType = 'application/json') => ({
      body: json,
      headers: { 'content-type': contentType },
    });
    expectRefused(
      await call(
        'POST',
        '/v1/users',
        twice('{"email":"one@example.com","name":"Dup","password":"long enough","email":"two@example.com"}'),
      ),
      400,
    );
    expectRefused(
      await call(
        'POST',
        '/v1/users',
        twice('{"email":"r@example.com","name":"R","password":"long enough","role":"member","role":"admin"}'),
      ),
      400,
    );
    expectRefused(
      await call('PUT', `/v1/users/me/cart/items/${product}`, {
        token: member.token,
        ...twice('{"quantity":1,"quantity":9}'),
      }),
      400,
    );
    for (const contentType of ['application/json', 'application/merge-patch+json']) {
      expectRefused(
        await call('PATCH', '/v1/users/me', {
          token: member.token,
          ...twice('{"name":"A","name":"B"}', contentType),
        }),
        400,
      );
      expectRefused(
        await call('PATCH', `/v1/products/${product}`, {
          token: admin.token,
          ...twice('{"stock":1,"stock":500}', contentType),
        }),
        400,
      );
    }
    expectRefused(
      await call(
        'POST',
        '/v1/auth/login',
        twice(`{"email":"${member.email}","password":"x","password":"${member.password}"}`),
      ),
      400,
    );
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('refuses prototype poisoning', async () => {
    const before = await abuse.snapshot([member]);
    const poisoned = '{"name":"P","__proto__":{"role":"admin"}}';
    expectRefused(await abuse.call('PATCH', '/v1/users/me', { token: member.token, body: poisoned }), 400);
    expectRefused(
      await abuse.call('POST', '/v1/users', {
        body: '{"email":"proto@example.com","name":"P","password":"long enough","constructor":{"prototype":{"role":"admin"}}}',
      }),
      400,
    );
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('answers bodies of other media types with 415', async () => {
    const before = await abuse.snapshot([member]);
    const json = JSON.stringify({ email: 'media@example.com', name: 'Media', password: 'long enough' });
    const targets: [string, string, string | undefined][] = [
      ['POST', '/v1/users', undefined],
      ['PATCH', '/v1/users/me', member.token],
      ['PUT', `/v1/users/me/cart/items/${product}`, member.token],
      ['POST', '/v1/users/me/orders', member.token],
    ];
    for (const [method, path, token] of targets) {
      for (const contentType of [
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'application/jsonp',
        'text/json',
        'application/octet-stream',
      ]) {
        expectRefused(
          await abuse.call(method, path, { token, body: json, headers: { 'content-type': contentType } }),
          415,
        );
      }
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });
});

describe(`request ids (${mode})`, () => {
  it('never echoes an unsafe X-Request-Id, and injects no header or log line', async () => {
    for (const given of [
      'abc%0d%0aSet-Cookie:%20session=stolen',
      '"},"level":60,"msg":"forged',
      '<script>alert(1)</script>',
      'a'.repeat(129),
      'ünïcödé',
      '../../etc/passwd',
      '',
    ]) {
      const answer = await abuse.call('GET', '/v1/products', { headers: { 'x-request-id': given } });
      expect(answer.status).toBe(200);
      const id = answer.headers.get('x-request-id');
      expect(id).not.toBe(given);
      expect(id).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
      expect(answer.headers.get('set-cookie')).toBeNull();
    }
    const safe = await abuse.call('GET', '/v1/users/me', {
      token: member.token,
      headers: { 'x-request-id': 'req-123.abc:9' },
    });
    expect(safe.headers.get('x-request-id')).toBe('req-123.abc:9');
  });

  it('refuses raw CR or LF inside a header at the HTTP layer, with no injected header', async () => {
    for (const value of ['abc\rSet-Cookie: a=b', 'abc\nSet-Cookie: a=b', 'abc\r\n Set-Cookie: a=b']) {
      const answer = await rawSocket(
        `GET /v1/products HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: ${value}\r\nConnection: close\r\n\r\n`,
      );
      const [statusLine, ...lines] = answer.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      expect(status, statusLine).toBeGreaterThanOrEqual(200);
      expect(status, statusLine).toBeLessThan(500);
      expect(lines.some((line) => /^set-cookie:/i.test(line))).toBe(false);
    }
  });
});

describe(`path traversal in ids (${mode})`, () => {
  it('answers dot segments, encoded slashes, NULs and long ids in any id position with 400 or 404', async () => {
    const before = await abuse.snapshot([member]);
    const ids = [
      '..%2F..%2Fhealth',
      '%2e%2e',
      '%2e%2e%2f%2e%2e%2fmetrics',
      '..%5C..%5Cusers',
      '%252e%252e%252f',
      `${member.id}%00`,
      `${member.id}%2F..%2F..%2Fusers`,
      'prd_%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '%c0%ae%c0%ae',
      'x'.repeat(5000),
    ];
    const token = abuse.admin.token;
    for (const id of ids) {
      for (const [method, path] of [
        ['GET', `/v1/users/${id}`],
        ['DELETE', `/v1/users/${id}`],
        ['GET', `/v1/users/${id}/cart`],
        ['GET', `/v1/users/${id}/orders`],
        ['GET', `/v1/orders/${id}`],
        ['GET', `/v1/orders/${id}/items`],
        ['GET', `/v1/products/${id}`],
        ['DELETE', `/v1/products/${id}`],
        ['DELETE', `/v1/users/me/cart/items/${id}`],
      ]) {
        const answer = await raw(method, path, { authorization: `Bearer ${token}` });
        expectClientError(answer, [400, 404]);
      }
    }
    // The same paths with a member's token: never someone else's data, never a 5xx.
    for (const id of ids) {
      expectClientError(
        await raw('GET', `/v1/users/${id}`, { authorization: `Bearer ${member.token}` }),
        [400, 403, 404],
      );
    }
    expect(await abuse.snapshot([member])).toEqual(before);
  });
});

describe(`unicode in names and emails (${mode})`, () => {
  const register = (name: string, email: string) =>
    abuse.call('POST', '/v1/users', { body: { email, name, password: 'unicode password' } });
  const bytes = (prefix: string, middle: number[], suffix: string) =>
    Buffer.concat([Buffer.from(prefix), Buffer.from(middle), Buffer.from(suffix)]);

  it('refuses NUL, bidi overrides, unpaired surrogates and overlong UTF-8 in names', async () => {
    const before = await abuse.snapshot([member]);
    for (const name of [
      'Nul\u0000l',
      'evil\u202Egnp.exe',
      '\u202Dforced',
      'iso\u2066late\u2069',
      'half \uD800',
    ]) {
      expectRefused(await register(name, `name-${name.length}-${Date.now()}@example.com`), 400);
      expectRefused(await abuse.call('PATCH', '/v1/users/me', { token: member.token, body: { name } }), 400);
      expectRefused(
        await abuse.call('PATCH', `/v1/products/${product}`, { token: abuse.admin.token, body: { name } }),
        400,
      );
    }
    const overlong = bytes(
      '{"email":"overlong@example.com","password":"unicode password","name":"',
      [0xc0, 0xaf],
      '"}',
    );
    expectRefused(await abuse.call('POST', '/v1/users', { body: overlong }), 400, 'MALFORMED_JSON');
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('keeps combining marks, right-to-left scripts and astral characters in names exactly as sent', async () => {
    for (const name of [
      'Zoe\u0308 Cafe\u0301', // decomposed: stored as sent, not normalised
      'Zoë Café',
      'שלום עולם',
      'مرحبا',
      '山田 太郎 😀',
      `Z${'\u0301'.repeat(99)}`,
    ]) {
      const email = `ok-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
      const created = await register(name, email);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.name).toBe(name);
      const read = await abuse.call('GET', `/v1/users/${created.body.id}`, { token: abuse.admin.token });
      expect(read.body.name).toBe(name);
    }
  });

  it('refuses emails with NUL, bidi controls, non-ASCII look-alikes, combining marks or overlong bytes', async () => {
    const before = await abuse.snapshot([member]);
    for (const email of [
      'nul\u0000@example.com',
      '\u202Emoc.elpmaxe@a',
      'аdmin@example.com', // Cyrillic а
      'ａdmin@example.com', // fullwidth
      'e\u0301@example.com',
      'user@exa\u200Bmple.com',
      'a@b',
      `${'a'.repeat(250)}@example.com`,
    ]) {
      expectRefused(await register('Email', email), 400);
      expectRefused(await abuse.call('PATCH', '/v1/users/me', { token: member.token, body: { email } }), 400);
    }
    const overlong = bytes(
      '{"name":"O","password":"unicode password","email":"',
      [0xc1, 0x81],
      '@example.com"}',
    );
    expectRefused(await abuse.call('POST', '/v1/users', { body: overlong }), 400, 'MALFORMED_JSON');
    expect(await abuse.snapshot([member])).toEqual(before);
  });

  it('treats an email that differs only in case as taken', async () => {
    const answer = await register('Shouting', member.email.toUpperCase());
    expectRefused(answer, 409, 'EMAIL_TAKEN');
  });
});
