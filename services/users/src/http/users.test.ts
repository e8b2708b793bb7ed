import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Member, startTestUsers, type TestUsers } from '../testing.ts';

let users: TestUsers;
let admin: string;

beforeAll(async () => {
  users = await startTestUsers('users-http');
  admin = await users.adminToken();
});
afterAll(() => users?.close());

const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}@example.com`;
const newUser = (overrides: Record<string, unknown> = {}) => ({
  email: unique('new'),
  name: 'New User',
  password: 'correct horse battery',
  ...overrides,
});
const fieldsOf = (body: { error: { details?: { field: string }[] } }) =>
  (body.error.details ?? []).map((detail) => detail.field).sort();

describe('POST /v1/users registers a user', () => {
  it('answers 201 with Location, ETag and the user, never the password or its hash', async () => {
    const body = newUser({ name: 'Ada Lovelace' });
    const reply = await users.call('POST', '/v1/users', { body });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({
      id: expect.stringMatching(/^usr_[0-7][0-9a-hjkmnp-tv-z]{25}$/),
      email: body.email,
      name: 'Ada Lovelace',
      role: 'member',
      emailVerifiedAt: null,
      version: 1,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(reply.headers.get('location')).toBe(`/v1/users/${reply.body.id}`);
    expect(reply.headers.get('etag')).toBe('"1"');
    expect(JSON.stringify(reply.body)).not.toMatch(/password|argon2/i);

    const fetched = await users.call('GET', reply.headers.get('location')!, { token: admin });
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(reply.body);
  });

  it('answers the same under /v2, with a /v2 Location', async () => {
    const reply = await users.call('POST', '/v2/users', { body: newUser() });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('location')).toBe(`/v2/users/${reply.body.id}`);
    const fetched = await users.call('GET', `/v2/users/${reply.body.id}`, { token: admin });
    expect(fetched.body).toEqual(reply.body);
  });

  it('refuses an email already registered, whatever its case, with 409 EMAIL_TAKEN', async () => {
    const body = newUser();
    expect((await users.call('POST', '/v1/users', { body })).status).toBe(201);
    const again = await users.call('POST', '/v1/users', {
      body: { ...body, email: body.email.toUpperCase() },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('EMAIL_TAKEN');
    expect(fieldsOf(again.body)).toEqual(['email']);
  });

  it('answers 400 VALIDATION_ERROR with one detail per bad field, unknown fields included', async () => {
    const reply = await users.call('POST', '/v1/users', {
      body: { email: 'not-an-email', name: 'X', password: 'short', isAdmin: true },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('VALIDATION_ERROR');
    expect(fieldsOf(reply.body)).toEqual(['email', 'isAdmin', 'password']);
    expect(reply.body.error.details.find((d: { field: string }) => d.field === 'isAdmin').message).toBe(
      'is not an allowed field',
    );
  });

  it('refuses a name that is blank or holds control characters', async () => {
    for (const name of ['', '   ', 'Robert\u0000; drop table', 'two\nlines', null]) {
      const reply = await users.call('POST', '/v1/users', { body: newUser({ name }) });
      expect(reply.status, JSON.stringify(name)).toBe(400);
      expect(fieldsOf(reply.body)).toEqual(['name']);
    }
  });

  it('gives one detail for an empty email', async () => {
    const reply = await users.call('POST', '/v1/users', { body: newUser({ email: '' }) });
    expect(reply.status).toBe(400);
    expect(fieldsOf(reply.body)).toEqual(['email']);
  });

  it('refuses an overlong password, a missing name and a wrong type', async () => {
    const reply = await users.call('POST', '/v1/users', {
      body: { email: unique('long'), password: 'x'.repeat(129), role: 'owner' },
    });
    expect(reply.status).toBe(400);
    expect(fieldsOf(reply.body)).toEqual(['name', 'password', 'role']);
  });

  it('answers 400 MALFORMED_JSON to a body that is not JSON, and 415 to another media type', async () => {
    const malformed = await users.call('POST', '/v1/users', { raw: '{"email": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    const text = await users.call('POST', '/v1/users', {
      raw: 'email=a@b.co',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('lets only an admin create an admin: anonymous or member → 403, admin → 201', async () => {
    const anonymous = await users.call('POST', '/v1/users', { body: newUser({ role: 'admin' }) });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.error.code).toBe('FORBIDDEN');

    const member = await users.member();
    const byMember = await users.call('POST', '/v1/users', {
      token: member.accessToken,
      body: newUser({ role: 'admin' }),
    });
    expect(byMember.status).toBe(403);

    const forged = await users.call('POST', '/v1/users', {
      token: 'not.a.token',
      body: newUser({ role: 'admin' }),
    });
    expect(forged.status).toBe(403);

    const byAdmin = await users.call('POST', '/v1/users', { token: admin, body: newUser({ role: 'admin' }) });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.role).toBe('admin');
  });

  describe('with an Idempotency-Key', () => {
    const key = () => `key-${Math.random().toString(36).slice(2)}`;
    const post = (body: object, idempotencyKey: string, token?: string) =>
      users.call('POST', '/v1/users', { body, token, headers: { 'idempotency-key': idempotencyKey } });
    const countOf = async (email: string) =>
      (await users.call('GET', `/v1/users?email=${encodeURIComponent(email)}`, { token: admin })).body
        .pagination.total;

    it('answers a retry with the first response and creates nothing twice', async () => {
      const [body, idempotencyKey] = [newUser(), key()];
      const first = await post(body, idempotencyKey);
      const retry = await post(body, idempotencyKey);
      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      expect(await countOf(body.email)).toBe(1);
    });

    it('creates one user for concurrent requests with the same key', async () => {
      const [body, idempotencyKey] = [newUser(), key()];
      const replies = await Promise.all([post(body, idempotencyKey), post(body, idempotencyKey)]);
      expect(replies.map((reply) => reply.status)).toEqual([201, 201]);
      expect(replies[0]!.body.id).toBe(replies[1]!.body.id);
      expect(await countOf(body.email)).toBe(1);
    });

    it('refuses the same key for another request with 409 IDEMPOTENCY_CONFLICT', async () => {
      const idempotencyKey = key();
      expect((await post(newUser(), idempotencyKey)).status).toBe(201);
      const other = await post(newUser(), idempotencyKey);
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('keeps the keys of different callers apart, and frees a key whose request failed', async () => {
      const idempotencyKey = key();
      const member = await users.member();
      expect((await post(newUser(), idempotencyKey)).status).toBe(201);
      expect((await post(newUser(), idempotencyKey, member.accessToken)).status).toBe(201);

      const taken = await post({ ...newUser(), email: member.email }, `${idempotencyKey}-failed`);
      expect(taken.status).toBe(409);
      expect(taken.body.error.code).toBe('EMAIL_TAKEN');
      expect((await post(newUser(), `${idempotencyKey}-failed`)).status).toBe(201);
    });
  });

  it('registers, deletes, then registers the same email again', async () => {
    const body = newUser();
    const first = await users.call('POST', '/v1/users', { body });
    expect(first.status).toBe(201);
    expect((await users.call('DELETE', `/v1/users/${first.body.id}`, { token: admin })).status).toBe(204);
    const second = await users.call('POST', '/v1/users', { body });
    expect(second.status).toBe(201);
    expect(second.body.id).not.toBe(first.body.id);
    const tokens = await users.login(body.email, body.password);
    const me = await users.call('GET', '/v1/users/me', { token: tokens.accessToken });
    expect(me.body.id).toBe(second.body.id);
  });
});

describe('GET /v1/users lists users for admins', () => {
  const label = `list${Date.now()}`;
  const emails: string[] = [];

  beforeAll(async () => {
    // Seven members named out of order, plus one admin, all tagged with the label in their email.
    const names = ['Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Claude'];
    for (const [index, name] of names.entries()) {
      const email = `${label}-${index}@example.com`;
      emails.push(email);
      const reply = await users.call('POST', '/v1/users', {
        token: admin,
        body: { email, name, password: 'a good password', role: index === 3 ? 'admin' : 'member' },
      });
      expect(reply.status).toBe(201);
    }
  });

  const list = (query: string, token = admin) => users.call('GET', `/v1/users?${query}`, { token });

  it('refuses members with 403 and anonymous callers with 401 and WWW-Authenticate', async () => {
    const member = await users.member();
    const forbidden = await list('', member.accessToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('FORBIDDEN');
    const anonymous = await users.call('GET', '/v1/users');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('pages by offset with total, page, limit and hasMore', async () => {
    const first = await list('limit=5&page=1');
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(5);
    expect(first.body.pagination).toMatchObject({ page: 1, limit: 5, hasMore: true });
    const total = first.body.pagination.total;
    expect(total).toBeGreaterThanOrEqual(8);
    const lastPage = Math.ceil(total / 5);
    const last = await list(`limit=5&page=${lastPage}`);
    expect(last.body.pagination).toMatchObject({ page: lastPage, hasMore: false, nextCursor: null });
    expect(last.body.data).toHaveLength(total - 5 * (lastPage - 1));
    expect((await list('limit=20')).body.pagination.limit).toBe(20);
  });

  it('pages by cursor through every user exactly once, in the same order as by offset', async () => {
    const byOffset = (await list('limit=100')).body.data.map((user: { id: string }) => user.id);
    const byCursor: string[] = [];
    let cursor: string | null = null;
    do {
      const reply = await list(cursor ? `limit=3&cursor=${cursor}` : 'limit=3');
      expect(reply.status).toBe(200);
      if (cursor) expect(reply.body.pagination.page).toBeNull();
      byCursor.push(...reply.body.data.map((user: { id: string }) => user.id));
      cursor = reply.body.pagination.nextCursor;
    } while (cursor);
    expect(byCursor).toEqual(byOffset);
  });

  it('filters by role, email (without case) and creation time', async () => {
    const admins = await list(`role=admin&limit=100`);
    expect(admins.body.data.every((user: { role: string }) => user.role === 'admin')).toBe(true);
    expect(admins.body.data.map((user: { email: string }) => user.email)).toContain(emails[3]);

    const byEmail = await list(`email=${encodeURIComponent(emails[2]!.toUpperCase())}`);
    expect(byEmail.body.data.map((user: { name: string }) => user.name)).toEqual(['Edsger']);
    expect(byEmail.body.pagination.total).toBe(1);

    const future = await list('createdAfter=2999-01-01');
    expect(future.body.data).toEqual([]);
    expect(future.body.pagination.total).toBe(0);
    const past = await list('createdBefore=2000-01-01T00:00:00Z');
    expect(past.body.pagination.total).toBe(0);
    const all = await list('createdAfter=2000-01-01&createdBefore=2999-01-01T00:00:00');
    expect(all.body.pagination.total).toBe((await list('')).body.pagination.total);
  });

  it('sorts by name, email and createdAt, ascending (+ or a space) or descending', async () => {
    const names = async (sort: string) =>
      (await list(`sort=${sort}&limit=100`)).body.data
        .filter((user: { email: string }) => user.email.startsWith(label))
        .map((user: { name: string }) => user.name);
    const alphabetical = ['Alan', 'Barbara', 'Claude', 'Donald', 'Edsger', 'Frances', 'Grace'];
    expect(await names('name')).toEqual(alphabetical);
    expect(await names('%2Bname')).toEqual(alphabetical);
    expect(await names('+name')).toEqual(alphabetical); // a raw + arrives as a space
    expect(await names('-name')).toEqual([...alphabetical].reverse());
    expect(await names('-email')).toEqual([
      'Claude',
      'Frances',
      'Donald',
      'Barbara',
      'Edsger',
      'Alan',
      'Grace',
    ]);
    expect(await names('createdAt')).toEqual([
      'Grace',
      'Alan',
      'Edsger',
      'Barbara',
      'Donald',
      'Frances',
      'Claude',
    ]);
  });

  it('walks a sort by name with a cursor, and refuses that cursor under another sort', async () => {
    const first = await list(`sort=name&limit=2&email=${emails[0]}`);
    expect(first.body.pagination.hasMore).toBe(false);
    const page = await list('sort=name,-createdAt&limit=2');
    const next = await list(`sort=name,-createdAt&limit=2&cursor=${page.body.pagination.nextCursor}`);
    expect(next.status).toBe(200);
    expect(next.body.data[0].name >= page.body.data[1].name).toBe(true);
    const elsewhere = await list(`sort=email&limit=2&cursor=${page.body.pagination.nextCursor}`);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.code).toBe('INVALID_CURSOR');
  });

  it('returns only the fields asked for, and always the id', async () => {
    const reply = await list('fields=email,name&limit=3');
    expect(reply.status).toBe(200);
    for (const user of reply.body.data) expect(Object.keys(user).sort()).toEqual(['email', 'id', 'name']);
  });

  it.each([
    ['an unknown sort key', 'sort=password', 'sort'],
    ['an unknown field', 'fields=passwordHash', 'fields'],
    ['an unknown parameter', 'status=active', 'status'],
    ['a limit over 100', 'limit=101', 'limit'],
    ['page and cursor together', 'page=2&cursor=abc', 'cursor'],
    ['an unknown role', 'role=owner', 'role'],
    ['a date that does not exist', 'createdAfter=2024-13-45', 'createdAfter'],
    ['a date in another shape', 'createdBefore=yesterday', 'createdBefore'],
  ])('answers 400 naming the parameter for %s', async (_case, query, field) => {
    const reply = await list(query);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('VALIDATION_ERROR');
    expect(fieldsOf(reply.body)).toContain(field);
  });

  it('answers 400 INVALID_CURSOR to a tampered cursor', async () => {
    const page = await list('limit=1');
    const cursor: string = page.body.pagination.nextCursor;
    const tampered = (cursor[0] === 'A' ? 'B' : 'A') + cursor.slice(1);
    const reply = await list(`limit=1&cursor=${tampered}`);
    expect(reply.status).toBe(400);
    expect(reply.body.error.code).toBe('INVALID_CURSOR');
  });
});

describe('GET /v1/users/{id} reads one user', () => {
  let alice: Member;
  let bob: Member;
  beforeAll(async () => {
    alice = await users.member('alice');
    bob = await users.member('bob');
  });

  it('answers `me` and the caller’s own id with the user and its ETag', async () => {
    const me = await users.call('GET', '/v1/users/me', { token: alice.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(alice.id);
    expect(me.headers.get('etag')).toBe(`"${me.body.version}"`);
    const own = await users.call('GET', `/v1/users/${alice.id}`, { token: alice.accessToken });
    expect(own.body).toEqual(me.body);
  });

  it('refuses a member reading another user with 403', async () => {
    const reply = await users.call('GET', `/v1/users/${bob.id}`, { token: alice.accessToken });
    expect(reply.status).toBe(403);
    expect(reply.body.error.code).toBe('FORBIDDEN');
  });

  it('lets an admin read anyone; an unknown or malformed id is 404', async () => {
    expect((await users.call('GET', `/v1/users/${bob.id}`, { token: admin })).body.email).toBe(bob.email);
    const unknown = await users.call('GET', '/v1/users/usr_01h455vb4pex5vsknk084sn02q', { token: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    expect(
      (await users.call('GET', '/v1/users/ord_01h455vb4pex5vsknk084sn02q', { token: admin })).status,
    ).toBe(404);
    expect((await users.call('GET', '/v1/users/12', { token: admin })).status).toBe(404);
  });

  it('answers 401 without a token and 405 with Allow for a wrong method', async () => {
    const anonymous = await users.call('GET', `/v1/users/${bob.id}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await users.call('POST', `/v1/users/${bob.id}`, { token: admin, body: {} });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD, PUT, PATCH, DELETE');
  });
});

describe('PUT /v1/users/{id} replaces name and email', () => {
  it('replaces them, bumps the version and clears the verification of a new email', async () => {
    const member = await users.member();
    const email = unique('replaced');
    const reply = await users.call('PUT', '/v1/users/me', {
      token: member.accessToken,
      body: { email, name: 'Replaced', version: 1 },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ email, name: 'Replaced', version: 2, emailVerifiedAt: null });
    expect(reply.headers.get('etag')).toBe('"2"');
    await users.login(email, member.password);
  });

  it('answers a stale version, in the body or in If-Match, with 409 and changes nothing', async () => {
    const member = await users.member();
    const put = (body: object, headers: Record<string, string> = {}) =>
      users.call('PUT', `/v1/users/${member.id}`, { token: member.accessToken, body, headers });
    expect((await put({ email: member.email, name: 'Second', version: 1 })).status).toBe(200);

    const staleBody = await put({ email: unique('stale'), name: 'Stale', version: 1 });
    expect(staleBody.status).toBe(409);
    expect(staleBody.body.error.code).toBe('VERSION_CONFLICT');
    const staleHeader = await put({ email: unique('stale'), name: 'Stale' }, { 'if-match': '"1"' });
    expect(staleHeader.status).toBe(409);
    expect(staleHeader.body.error.code).toBe('VERSION_CONFLICT');

    const now = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(now.body).toMatchObject({ email: member.email, name: 'Second', version: 2 });

    const fresh = await put({ email: member.email, name: 'Third' }, { 'if-match': 'W/"2"' });
    expect(fresh.status).toBe(200);
    expect(fresh.body.version).toBe(3);
  });

  it('refuses a missing field with 400, an If-Match that is not a version with 400', async () => {
    const member = await users.member();
    const missing = await users.call('PUT', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'X' },
    });
    expect(missing.status).toBe(400);
    expect(fieldsOf(missing.body)).toEqual(['email']);
    const badHeader = await users.call('PUT', '/v1/users/me', {
      token: member.accessToken,
      body: { email: member.email, name: 'X' },
      headers: { 'if-match': 'banana' },
    });
    expect(badHeader.status).toBe(400);
    expect(fieldsOf(badHeader.body)).toEqual(['If-Match']);
  });

  it('answers 409 EMAIL_TAKEN when the new email belongs to another user', async () => {
    const [one, two] = [await users.member(), await users.member()];
    const reply = await users.call('PUT', '/v1/users/me', {
      token: one.accessToken,
      body: { email: two.email.toUpperCase(), name: 'Taken' },
    });
    expect(reply.status).toBe(409);
    expect(reply.body.error.code).toBe('EMAIL_TAKEN');
  });

  it('refuses a member replacing another user with 403, and nothing changes', async () => {
    const [mallory, victim] = [await users.member('mallory'), await users.member('victim')];
    const reply = await users.call('PUT', `/v1/users/${victim.id}`, {
      token: mallory.accessToken,
      body: { email: unique('stolen'), name: 'Owned' },
    });
    expect(reply.status).toBe(403);
    const after = await users.call('GET', '/v1/users/me', { token: victim.accessToken });
    expect(after.body).toMatchObject({ email: victim.email, version: 1 });
  });

  it('lets a member repeat their role but not change it (403, nothing changes); an admin can', async () => {
    const member = await users.member();
    const same = await users.call('PUT', '/v1/users/me', {
      token: member.accessToken,
      body: { email: member.email, name: 'Same Role', role: 'member' },
    });
    expect(same.status).toBe(200);
    const promote = await users.call('PUT', '/v1/users/me', {
      token: member.accessToken,
      body: { email: member.email, name: 'Promoted?', role: 'admin' },
    });
    expect(promote.status).toBe(403);
    const after = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(after.body).toMatchObject({ role: 'member', name: 'Same Role' });

    const byAdmin = await users.call('PUT', `/v1/users/${member.id}`, {
      token: admin,
      body: { email: member.email, name: 'Promoted', role: 'admin' },
    });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.role).toBe('admin');
  });
});

describe('PATCH /v1/users/{id} applies a JSON Merge Patch', () => {
  it('changes only the fields given, as application/merge-patch+json or application/json', async () => {
    const member = await users.member();
    const patched = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'Patched' },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Patched', email: member.email, version: 2 });
    const again = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'Patched Twice', version: 2 },
    });
    expect(again.status).toBe(200);
    expect(again.body.version).toBe(3);
    const charset = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'With Charset' },
      headers: { 'content-type': 'application/merge-patch+json; charset=utf-8' },
    });
    expect(charset.status).toBe(200);
    expect(charset.body.name).toBe('With Charset');
  });

  it('leaves the version alone when the patch changes nothing', async () => {
    const member = await users.member();
    const reply = await users.call('PATCH', '/v1/users/me', { token: member.accessToken, body: {} });
    expect(reply.status).toBe(200);
    expect(reply.body.version).toBe(1);
  });

  it('refuses null for a required field, unknown fields and text/plain', async () => {
    const member = await users.member();
    const nulls = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: null, nickname: 'x' },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(nulls.status).toBe(400);
    expect(fieldsOf(nulls.body)).toEqual(['name', 'nickname']);
    const text = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    const malformed = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      raw: '{"name":',
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');
  });

  it('answers a stale version with 409 and changes nothing', async () => {
    const member = await users.member();
    await users.call('PATCH', '/v1/users/me', { token: member.accessToken, body: { name: 'v2' } });
    const stale = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'lost update', version: 1 },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('VERSION_CONFLICT');
    const disagree = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { name: 'lost update', version: 2 },
      headers: { 'if-match': '"1"' },
    });
    expect(disagree.status).toBe(409);
    expect((await users.call('GET', '/v1/users/me', { token: member.accessToken })).body).toMatchObject({
      name: 'v2',
      version: 2,
    });
  });

  it('lets exactly one of two concurrent PATCHes with the same version win; the other gets 409', async () => {
    const member = await users.member();
    const patch = (name: string) =>
      users.call('PATCH', '/v1/users/me', {
        token: member.accessToken,
        body: { name },
        headers: { 'if-match': '"1"', 'content-type': 'application/merge-patch+json' },
      });
    const replies = await Promise.all([patch('First'), patch('Second')]);
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).toEqual([200, 409]);
    const winner = replies.find((reply) => reply.status === 200)!;
    const now = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(now.body).toMatchObject({ name: winner.body.name, version: 2 });
  });

  it('refuses a member changing their own role (403) or another user (403); nothing changes', async () => {
    const [member, other] = [await users.member(), await users.member()];
    const role = await users.call('PATCH', '/v1/users/me', {
      token: member.accessToken,
      body: { role: 'admin' },
    });
    expect(role.status).toBe(403);
    const otherUser = await users.call('PATCH', `/v1/users/${other.id}`, {
      token: member.accessToken,
      body: { name: 'Owned' },
    });
    expect(otherUser.status).toBe(403);
    expect((await users.call('GET', '/v1/users/me', { token: member.accessToken })).body).toMatchObject({
      role: 'member',
      version: 1,
    });
    expect((await users.call('GET', '/v1/users/me', { token: other.accessToken })).body.version).toBe(1);
  });

  it('lets an admin change a role, and refuses the demoted admin’s old token', async () => {
    const created = await users.call('POST', '/v1/users', { token: admin, body: newUser({ role: 'admin' }) });
    const tokens = await users.login(created.body.email, 'correct horse battery');
    const demoted = await users.call('PATCH', `/v1/users/${created.body.id}`, {
      token: admin,
      body: { role: 'member' },
    });
    expect(demoted.body.role).toBe('member');
    const stale = await users.call('GET', '/v1/users', { token: tokens.accessToken });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

describe('DELETE /v1/users/{id} soft-deletes a user', () => {
  it('refuses a member deleting another user with 403, and the user stays', async () => {
    const [member, other] = [await users.member(), await users.member()];
    const reply = await users.call('DELETE', `/v1/users/${other.id}`, { token: member.accessToken });
    expect(reply.status).toBe(403);
    expect((await users.call('GET', `/v1/users/${other.id}`, { token: admin })).status).toBe(200);
  });

  it('answers 204; afterwards the user is 404 everywhere, cannot log in, and their tokens are refused', async () => {
    const member = await users.member('leaving');
    const reply = await users.call('DELETE', '/v1/users/me', { token: member.accessToken });
    expect(reply.status).toBe(204);
    expect(reply.body).toBeUndefined();

    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE']) {
      const body =
        method === 'PUT' ? { email: member.email, name: 'x' } : method === 'PATCH' ? {} : undefined;
      const gone = await users.call(method, `/v1/users/${member.id}`, { token: admin, body });
      expect(gone.status, method).toBe(404);
    }
    const listed = await users.call('GET', `/v1/users?email=${encodeURIComponent(member.email)}`, {
      token: admin,
    });
    expect(listed.body.data).toEqual([]);

    const login = await users.call('POST', '/v1/auth/login', {
      body: { email: member.email, password: member.password },
    });
    expect(login.status).toBe(401);
    expect(login.body.error.code).toBe('INVALID_CREDENTIALS');

    const access = await users.call('GET', '/v1/users/me', { token: member.accessToken });
    expect(access.status).toBe(401);
    expect(access.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const refresh = await users.call('POST', '/v1/auth/refresh', {
      body: { refreshToken: member.refreshToken },
    });
    expect(refresh.status).toBe(401);
  });

  it('lets an admin delete a member; deleting twice is 404', async () => {
    const member = await users.member();
    expect((await users.call('DELETE', `/v1/users/${member.id}`, { token: admin })).status).toBe(204);
    expect((await users.call('DELETE', `/v1/users/${member.id}`, { token: admin })).status).toBe(404);
  });
});
