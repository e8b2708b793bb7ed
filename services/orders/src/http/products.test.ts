import { mode } from '@armature/testing/databases';
import type { TestUser } from '@armature/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrders, type TestOrders } from '../test-support/orders-service.ts';

describe(`products (${mode})`, () => {
  let orders: TestOrders;
  let member: TestUser;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    orders = await startTestOrders('orders-products');
    member = await orders.minter.user();
    // A small catalog: names, prices and stock chosen so each filter and sort has one right answer.
    for (const [name, amount, stock] of [
      ['Cafetiere', 3450, 5],
      ['Espresso cup', 899, 0],
      ['Bean grinder', 12999, 2],
      ['Aeropress', 3999, 12],
      ['Drip kettle', 5500, 0],
    ] as const) {
      ids[name] = (await orders.product({ name, amount, stock })).id;
    }
  });
  afterAll(() => orders.close());

  const names = (body: { data: Array<{ name: string }> }) => body.data.map((product) => product.name);

  it('lists the catalog to anonymous callers, sorted by name by default', async () => {
    const reply = await orders.call('GET', '/v1/products');
    expect(reply.status).toBe(200);
    expect(names(reply.body)).toEqual([
      'Aeropress',
      'Bean grinder',
      'Cafetiere',
      'Drip kettle',
      'Espresso cup',
    ]);
    expect(reply.body.pagination).toEqual({ total: 5, page: 1, limit: 20, hasMore: false, nextCursor: null });
  });

  it('shows prices as decimals in v1 and as minor units with a currency in v2', async () => {
    const v1 = await orders.call('GET', `/v1/products/${ids['Cafetiere']}`);
    const v2 = await orders.call('GET', `/v2/products/${ids['Cafetiere']}`);
    expect(v1.body).toMatchObject({ id: ids['Cafetiere'], name: 'Cafetiere', price: 34.5, stock: 5 });
    expect(v2.body.price).toEqual({ amount: 3450, currency: 'USD' });
    expect(v1.body.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('filters by price range (decimals in v1, minor units in v2) and by stock', async () => {
    const v1 = await orders.call('GET', '/v1/products?minPrice=34.50&maxPrice=55');
    expect(names(v1.body)).toEqual(['Aeropress', 'Cafetiere', 'Drip kettle']);
    const v2 = await orders.call('GET', '/v2/products?minPrice=3450&maxPrice=5500');
    expect(names(v2.body)).toEqual(names(v1.body));
    const inStock = await orders.call('GET', '/v1/products?inStock=true');
    expect(names(inStock.body)).toEqual(['Aeropress', 'Bean grinder', 'Cafetiere']);
    const soldOut = await orders.call('GET', '/v1/products?inStock=false');
    expect(names(soldOut.body)).toEqual(['Drip kettle', 'Espresso cup']);
    expect(soldOut.body.pagination.total).toBe(2);
  });

  it('refuses a v2 price filter that is not whole minor units, and a v1 one with too many decimals', async () => {
    const v2 = await orders.call('GET', '/v2/products?minPrice=10.5');
    const v1 = await orders.call('GET', '/v1/products?minPrice=10.555');
    for (const reply of [v1, v2]) {
      expect(reply.status).toBe(400);
      expect(reply.body.error.details[0].field).toBe('minPrice');
    }
  });

  it('sorts by price descending and by creation time', async () => {
    const byPrice = await orders.call('GET', '/v1/products?sort=-price');
    expect(names(byPrice.body)).toEqual([
      'Bean grinder',
      'Drip kettle',
      'Aeropress',
      'Cafetiere',
      'Espresso cup',
    ]);
    const byCreation = await orders.call('GET', '/v1/products?sort=%2BcreatedAt');
    expect(names(byCreation.body)).toEqual([
      'Cafetiere',
      'Espresso cup',
      'Bean grinder',
      'Aeropress',
      'Drip kettle',
    ]);
  });

  it('refuses an unknown sort key, an unknown filter and an unknown field, naming the parameter', async () => {
    const sort = await orders.call('GET', '/v1/products?sort=stock');
    const filter = await orders.call('GET', '/v1/products?colour=red');
    const fields = await orders.call('GET', '/v1/products?fields=id,secret');
    expect([sort.status, filter.status, fields.status]).toEqual([400, 400, 400]);
    expect(sort.body.error.details[0].field).toBe('sort');
    expect(filter.body.error.details[0].field).toBe('colour');
    expect(fields.body.error.details[0].field).toBe('fields');
  });

  it('returns only the requested fields (and the id)', async () => {
    const reply = await orders.call('GET', '/v2/products?fields=name,price&limit=1');
    expect(reply.body.data).toEqual([
      { id: ids['Aeropress'], name: 'Aeropress', price: { amount: 3999, currency: 'USD' } },
    ]);
  });

  it('pages by offset and by cursor to the same sequence', async () => {
    const byPage = [];
    for (let page = 1; page <= 3; page += 1) {
      const reply = await orders.call('GET', `/v1/products?sort=-price&limit=2&page=${page}`);
      expect(reply.body.pagination.page).toBe(page);
      byPage.push(...names(reply.body));
    }
    const byCursor = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const reply = await orders.call('GET', `/v1/products?sort=-price&limit=2${query}`);
      byCursor.push(...names(reply.body));
      cursor = reply.body.pagination.nextCursor;
    } while (cursor);
    expect(byCursor).toEqual(byPage);
    expect(byCursor).toHaveLength(5);
  });

  it('refuses a cursor from another sort order and a tampered one', async () => {
    const first = await orders.call('GET', '/v1/products?sort=-price&limit=2');
    const cursor: string = first.body.pagination.nextCursor;
    const otherSort = await orders.call('GET', `/v1/products?sort=name&limit=2&cursor=${cursor}`);
    const tampered = `${cursor.slice(0, 5)}${cursor[5] === 'A' ? 'B' : 'A'}${cursor.slice(6)}`;
    const forged = await orders.call('GET', `/v1/products?sort=-price&limit=2&cursor=${tampered}`);
    expect(otherSort.status).toBe(400);
    expect(forged.status).toBe(400);
    expect(forged.body.error.code).toBe('INVALID_CURSOR');
  });

  it('answers 404 for an unknown and for a malformed product id', async () => {
    const unknown = await orders.call('GET', '/v1/products/prd_01h455vb4pex5vsknk084sn02q');
    const malformed = await orders.call('GET', '/v1/products/not-an-id');
    const wrongKind = await orders.call('GET', '/v1/products/usr_01h455vb4pex5vsknk084sn02q');
    expect([unknown.status, malformed.status, wrongKind.status]).toEqual([404, 404, 404]);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
  });

  describe('writes', () => {
    it('lets an admin create a product: 201, Location, v1 decimal price', async () => {
      const reply = await orders.call('POST', '/v1/products', {
        token: orders.admin.token,
        body: { name: 'Milk jug', description: 'Steel, 350 ml', price: 12.5, stock: 7 },
      });
      expect(reply.status).toBe(201);
      expect(reply.body).toMatchObject({
        name: 'Milk jug',
        description: 'Steel, 350 ml',
        price: 12.5,
        stock: 7,
      });
      expect(reply.body.id).toMatch(/^prd_/);
      expect(reply.headers.get('location')).toBe(`/v1/products/${reply.body.id}`);
      const read = await orders.call('GET', `/v2/products/${reply.body.id}`);
      expect(read.body.price).toEqual({ amount: 1250, currency: 'USD' });
    });

    it('refuses writes without a token (401) and from members (403)', async () => {
      const body = { name: 'Nope', price: 1, stock: 1 };
      const anonymous = await orders.call('POST', '/v1/products', { body });
      const byMember = await orders.call('POST', '/v1/products', { token: member.token, body });
      const deleteByMember = await orders.call('DELETE', `/v1/products/${ids['Aeropress']}`, {
        token: member.token,
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      expect(byMember.status).toBe(403);
      expect(deleteByMember.status).toBe(403);
    });

    it('refuses invalid products: missing name, negative stock, sub-cent price, unknown field, foreign currency', async () => {
      const post = (path: string, body: unknown) =>
        orders.call('POST', path, { token: orders.admin.token, body });
      const missingName = await post('/v1/products', { price: 1, stock: 1 });
      const negativeStock = await post('/v1/products', { name: 'X', price: 1, stock: -1 });
      const subCent = await post('/v1/products', { name: 'X', price: 1.005, stock: 1 });
      const unknownField = await post('/v1/products', { name: 'X', price: 1, stock: 1, colour: 'red' });
      const v2Decimal = await post('/v2/products', { name: 'X', price: 1.5, stock: 1 });
      const euro = await post('/v2/products', {
        name: 'X',
        price: { amount: 100, currency: 'EUR' },
        stock: 1,
      });
      const malformed = await orders.call('POST', '/v1/products', {
        token: orders.admin.token,
        body: '{"name":',
      });
      expect(missingName.body.error.details).toContainEqual({ field: 'name', message: 'is required' });
      expect(negativeStock.status).toBe(400);
      expect(subCent.body.error.details[0].field).toBe('price');
      expect(unknownField.body.error.details[0].field).toBe('colour');
      expect(v2Decimal.status).toBe(400);
      expect(euro.status).toBe(422);
      expect(malformed.body.error.code).toBe('MALFORMED_JSON');
    });

    it('creates one product for retries with the same Idempotency-Key', async () => {
      const send = () =>
        orders.call('POST', '/v1/products', {
          token: orders.admin.token,
          headers: { 'idempotency-key': 'create-tamper' },
          body: { name: 'Tamper', price: 19, stock: 3 },
        });
      const first = await send();
      const retry = await send();
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(first.headers.get('location'));
      const listed = await orders.call('GET', '/v1/products?fields=name&limit=100');
      expect(names(listed.body).filter((name) => name === 'Tamper')).toHaveLength(1);
    });

    it('refuses the same Idempotency-Key for a different product with 409', async () => {
      const send = (name: string) =>
        orders.call('POST', '/v1/products', {
          token: orders.admin.token,
          headers: { 'idempotency-key': 'create-reused' },
          body: { name, price: 3, stock: 1 },
        });
      expect((await send('Spoon')).status).toBe(201);
      const other = await send('Fork');
      expect(other.status).toBe(409);
      expect(other.body.error.code).toBe('IDEMPOTENCY_CONFLICT');
    });

    it('refuses a body that is not JSON with 415', async () => {
      const reply = await orders.call('POST', '/v1/products', {
        token: orders.admin.token,
        headers: { 'content-type': 'text/plain' },
        body: 'name=Spoon',
      });
      expect(reply.status).toBe(415);
      expect(reply.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('replaces a product with PUT', async () => {
      const id = (await orders.product({ name: 'Scale', amount: 2500, stock: 4 })).id;
      const reply = await orders.call('PUT', `/v2/products/${id}`, {
        token: orders.admin.token,
        body: { name: 'Scale pro', price: { amount: 3500, currency: 'USD' }, stock: 9 },
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ id, name: 'Scale pro', description: '', stock: 9 });
      expect(reply.body.price).toEqual({ amount: 3500, currency: 'USD' });
      const missing = await orders.call('PUT', '/v1/products/prd_01h455vb4pex5vsknk084sn02q', {
        token: orders.admin.token,
        body: { name: 'Ghost', price: 1, stock: 1 },
      });
      expect(missing.status).toBe(404);
    });

    it('changes only the given fields with a JSON Merge Patch; null clears the description', async () => {
      const created = await orders.call('POST', '/v1/products', {
        token: orders.admin.token,
        body: { name: 'Filter papers', description: 'Pack of 100', price: 4.99, stock: 50 },
      });
      const id = created.body.id;
      const patched = await orders.call('PATCH', `/v1/products/${id}`, {
        token: orders.admin.token,
        headers: { 'content-type': 'application/merge-patch+json' },
        body: { stock: 45, description: null },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ name: 'Filter papers', description: '', price: 4.99, stock: 45 });
      const v2 = await orders.call('PATCH', `/v2/products/${id}`, {
        token: orders.admin.token,
        body: { price: { amount: 599 } },
      });
      expect(v2.body.price).toEqual({ amount: 599, currency: 'USD' });
      expect(v2.body.stock).toBe(45);
      const badName = await orders.call('PATCH', `/v1/products/${id}`, {
        token: orders.admin.token,
        body: { name: null },
      });
      expect(badName.status).toBe(400);
    });

    it('soft-deletes a product: 204, then it is gone from every read', async () => {
      const id = (await orders.product({ name: 'Discontinued' })).id;
      const deleted = await orders.call('DELETE', `/v1/products/${id}`, { token: orders.admin.token });
      expect(deleted.status).toBe(204);
      expect((await orders.call('GET', `/v1/products/${id}`)).status).toBe(404);
      const listed = await orders.call('GET', '/v1/products?limit=100');
      expect(names(listed.body)).not.toContain('Discontinued');
      const again = await orders.call('DELETE', `/v1/products/${id}`, { token: orders.admin.token });
      expect(again.status).toBe(404);
      const patch = await orders.call('PATCH', `/v1/products/${id}`, {
        token: orders.admin.token,
        body: { stock: 1 },
      });
      expect(patch.status).toBe(404);
    });
  });

  it('answers 405 with Allow for a method a product path does not have', async () => {
    const reply = await orders.call('POST', `/v1/products/${ids['Aeropress']}`, {
      token: orders.admin.token,
      body: {},
    });
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toContain('PATCH');
  });
});
