import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { buildOpenApi, type JsonObject, renderOpenApi } from '../scripts/openapi.ts';
import { allOperations } from '../src/all-operations.ts';
import { IdParams, ListOf, ListQuery, PublicId, Timestamp } from '../src/common.ts';
import { MoneyV1, MoneyV2 } from '../src/money.ts';
import { defineOperations, type Operation } from '../src/operation.ts';

const Product = (price: typeof MoneyV1 | typeof MoneyV2, name: string) =>
  Type.Object(
    { id: PublicId('prd'), name: Type.String({ maxLength: 100 }), price, createdAt: Timestamp },
    { $id: name, additionalProperties: false },
  );
const ProductV1 = Product(MoneyV1, 'ProductV1');
const ProductV2 = Product(MoneyV2, 'ProductV2');

const operations = defineOperations({
  listProducts: {
    operationId: 'listProducts',
    service: 'orders',
    method: 'GET',
    path: '/products',
    summary: 'List products',
    tags: ['Products'],
    access: 'public',
    query: ListQuery({ name: Type.Optional(Type.String({ maxLength: 100 })) }),
    responses: { 200: { v1: ListOf(ProductV1), v2: ListOf(ProductV2) } },
    errors: [],
    list: true,
  },
  createProduct: {
    operationId: 'createProduct',
    service: 'orders',
    method: 'POST',
    path: '/products',
    summary: 'Add a product',
    tags: ['Products'],
    access: 'admin',
    body: Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
    responses: { 201: { v1: ProductV1, v2: ProductV2 } },
    errors: [409, 422],
    idempotent: true,
  },
  getProduct: {
    operationId: 'getProduct',
    service: 'orders',
    method: 'GET',
    path: '/products/{id}',
    summary: 'One product',
    tags: ['Products'],
    access: 'authenticated',
    params: IdParams('prd'),
    responses: { 200: { v1: ProductV1, v2: ProductV2 } },
    errors: [],
  },
  getPing: {
    operationId: 'getPing',
    service: 'gateway',
    method: 'GET',
    path: '/health/ping',
    unversioned: true,
    summary: 'Ping',
    tags: ['Health'],
    access: 'public',
    responses: { 200: Type.Object({ ok: Type.Boolean() }, { additionalProperties: false }) },
    errors: [503],
    errorBodies: { 503: Type.Object({ ok: Type.Boolean() }, { additionalProperties: false }) },
  },
});
const list = Object.values(operations) as Operation[];
const document = buildOpenApi(list, { version: '1.2.3' });
const paths = document.paths as Record<string, Record<string, JsonObject>>;
const components = document.components as Record<string, Record<string, JsonObject>>;

/** Follows a `$ref` inside the document. */
function deref(node: JsonObject): JsonObject {
  if (typeof node.$ref !== 'string') return node;
  const [, group, name] = /^#\/components\/(\w+)\/(.+)$/.exec(node.$ref) ?? [];
  return components[group][name];
}
const parameterNames = (operation: JsonObject) =>
  ((operation.parameters ?? []) as JsonObject[]).map((parameter) => `${parameter.in}:${parameter.name}`);
const responseHeaders = (operation: JsonObject, status: string) =>
  Object.keys(deref((operation.responses as Record<string, JsonObject>)[status]).headers as JsonObject);

describe('the OpenAPI document built from the operations', () => {
  it('is OpenAPI 3.1 with the release version', () => {
    expect(document.openapi).toBe('3.1.0');
    expect((document.info as JsonObject).version).toBe('1.2.3');
  });

  it('serves every versioned operation under /v1 and /v2, v2 ids suffixed, v1 deprecated', () => {
    expect(Object.keys(paths)).toEqual([
      '/health/ping',
      '/v1/products',
      '/v1/products/{id}',
      '/v2/products',
      '/v2/products/{id}',
    ]);
    expect(paths['/v1/products'].get.operationId).toBe('listProducts');
    expect(paths['/v2/products'].get.operationId).toBe('listProductsV2');
    expect(paths['/v1/products'].get.deprecated).toBe(true);
    expect(paths['/v2/products'].get.deprecated).toBeUndefined();
    expect(responseHeaders(paths['/v1/products'].get, '200')).toEqual(
      expect.arrayContaining(['Deprecation', 'Sunset']),
    );
    expect(responseHeaders(paths['/v2/products'].get, '200')).not.toContain('Deprecation');
  });

  it('gives each version its own money shape', () => {
    const created = (version: string) =>
      (
        deref((paths[`/${version}/products`].post.responses as Record<string, JsonObject>)['201'])
          .content as JsonObject
      )['application/json'];
    expect(created('v1')).toEqual({ schema: { $ref: '#/components/schemas/ProductV1' } });
    expect(created('v2')).toEqual({ schema: { $ref: '#/components/schemas/ProductV2' } });
    expect((components.schemas.ProductV1.properties as JsonObject).price).toMatchObject({ type: 'number' });
    expect((components.schemas.ProductV2.properties as JsonObject).price).toMatchObject({ type: 'object' });
  });

  it('declares Location on 201, the request id and rate limits on every answer, Retry-After on 429', () => {
    const create = paths['/v2/products'].post;
    expect(responseHeaders(create, '201')).toEqual([
      'X-Request-Id',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
      'Location',
    ]);
    expect(responseHeaders(create, '429')).toContain('Retry-After');
    expect(responseHeaders(create, '409')).toContain('X-RateLimit-Limit');
    expect(components.headers.Location.required).toBe(true);
  });

  it('answers every listed error, and those implied by access, input and the gateway, with the envelope', () => {
    const create = paths['/v2/products'].post.responses as Record<string, JsonObject>;
    expect(Object.keys(create)).toEqual([
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '415',
      '422',
      '429',
      '500',
      '502',
      '503',
      '504',
    ]);
    for (const status of Object.keys(create).filter((key) => key >= '400')) {
      expect((deref(create[status]).content as JsonObject)['application/json']).toEqual({
        schema: { $ref: '#/components/schemas/ErrorEnvelope' },
      });
    }
    expect(responseHeaders(paths['/v2/products'].post, '401')).toContain('WWW-Authenticate');
    expect(Object.keys(paths['/v2/products/{id}'].get.responses as JsonObject)).toEqual(
      expect.arrayContaining(['401', '404']),
    );
    expect(Object.keys(paths['/v2/products/{id}'].get.responses as JsonObject)).not.toContain('403');
  });

  it('keeps a documented non-envelope error body, and no rate limits on health probes', () => {
    const ping = paths['/health/ping'].get;
    const unavailable = (ping.responses as Record<string, JsonObject>)['503'];
    expect((unavailable.content as JsonObject)['application/json']).toMatchObject({
      schema: { properties: { ok: { type: 'boolean' } } },
    });
    expect(responseHeaders(ping, '200')).toEqual(['X-Request-Id']);
    expect(Object.keys(ping.responses as JsonObject)).not.toContain('429');
  });

  it('takes pagination on lists, Idempotency-Key on idempotent posts, and path parameters', () => {
    expect(parameterNames(paths['/v2/products'].get)).toEqual([
      'query:page',
      'query:limit',
      'query:cursor',
      'query:sort',
      'query:fields',
      'query:name',
    ]);
    expect(parameterNames(paths['/v2/products'].post)).toEqual(['header:Idempotency-Key']);
    expect(parameterNames(paths['/v2/products/{id}'].get)).toEqual(['path:id']);
  });

  it('requires a bearer token except on public operations', () => {
    const bearer = components.securitySchemes.bearerAuth;
    expect(bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(paths['/v2/products'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/v2/products/{id}'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/v2/products'].get.security).toEqual([{}, { bearerAuth: [] }]);
    expect(paths['/health/ping'].get.security).toEqual([{}]);
  });

  it('is byte-stable: the same operations in another order give the same text', () => {
    const again = renderOpenApi(buildOpenApi([...list].reverse(), { version: '1.2.3' }));
    expect(again).toBe(renderOpenApi(document));
  });

  it('refuses operations it cannot describe honestly', () => {
    const [listProducts, , getProduct] = list;
    expect(() => buildOpenApi([listProducts, { ...listProducts, path: '/items' }], { version: '1' })).toThrow(
      'Two operations have the id "listProducts"',
    );
    expect(() => buildOpenApi([{ ...listProducts, query: undefined }], { version: '1' })).toThrow(
      /is a list but its query lacks page, limit, cursor/,
    );
    expect(() => buildOpenApi([{ ...getProduct, path: '/products/{productId}' }], { version: '1' })).toThrow(
      /path parameters \{productId\} but params declares \{id\}/,
    );
    const other = Type.Object({ id: PublicId('prd') }, { $id: 'ProductV1', additionalProperties: false });
    expect(() =>
      buildOpenApi(
        [
          getProduct,
          { ...getProduct, operationId: 'other', path: '/others/{id}', responses: { 200: other } },
        ],
        {
          version: '1',
        },
      ),
    ).toThrow(/Two different schemas are named "ProductV1"/);
  });
});

describe('the committed contract', () => {
  it('lists every operation of every area, under each of its paths', async () => {
    const committed = JSON.parse(
      await readFile(new URL('../openapi.json', import.meta.url), 'utf8'),
    ) as JsonObject;
    const ids = Object.values(committed.paths as Record<string, Record<string, JsonObject>>).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    const expected = allOperations.flatMap((operation) =>
      operation.unversioned ? [operation.operationId] : [operation.operationId, `${operation.operationId}V2`],
    );
    expect(ids.sort()).toEqual(expected.sort());
  });
});
