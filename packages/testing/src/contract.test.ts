import { createClient } from '@armature/client';
import { IdParams, ListOf, ListQuery, PublicId, Timestamp } from '@armature/contracts';
import { defineOperations } from '@armature/contracts/operation';
import { buildOpenApi } from '@armature/contracts/scripts/openapi';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Contract,
  ContractViolation,
  contractFetch,
  contractMiddleware,
  type ObservedResponse,
  projectContract,
} from './contract.ts';

const Widget = Type.Object(
  { id: PublicId('prd'), name: Type.String({ maxLength: 100 }), createdAt: Timestamp },
  { additionalProperties: false },
);
const widgets = defineOperations({
  listWidgets: {
    operationId: 'listWidgets',
    service: 'orders',
    method: 'GET',
    path: '/widgets',
    summary: 'List widgets',
    tags: ['Widgets'],
    access: 'public',
    query: ListQuery({}),
    responses: { 200: ListOf(Widget) },
    errors: [],
    list: true,
  },
  getWidget: {
    operationId: 'getWidget',
    service: 'orders',
    method: 'GET',
    path: '/widgets/{id}',
    summary: 'Read a widget',
    tags: ['Widgets'],
    access: 'authenticated',
    params: IdParams('prd'),
    responses: { 200: Widget },
    errors: [],
  },
  getNewestWidget: {
    operationId: 'getNewestWidget',
    service: 'orders',
    method: 'GET',
    path: '/widgets/newest',
    summary: 'The newest widget',
    tags: ['Widgets'],
    access: 'public',
    // No `additionalProperties: false` here: the check closes objects all the same.
    responses: { 200: Type.Object({ id: PublicId('prd') }) },
    errors: [],
  },
  createWidget: {
    operationId: 'createWidget',
    service: 'orders',
    method: 'POST',
    path: '/widgets',
    summary: 'Create a widget',
    tags: ['Widgets'],
    access: 'admin',
    body: Type.Object({ name: Type.String({ maxLength: 100 }) }, { additionalProperties: false }),
    responses: { 201: Widget },
    errors: [409],
    idempotent: true,
  },
});
const contract = new Contract(buildOpenApi(Object.values(widgets), { version: 'test' }));

const widget = { id: 'prd_01h455vb4pex5vsknk084sn02q', name: 'Sprocket', createdAt: '2024-01-15T10:30:00Z' };
const v2Headers = {
  'x-request-id': 'req-1',
  'x-ratelimit-limit': '100',
  'x-ratelimit-remaining': '99',
  'x-ratelimit-reset': '1705312200',
};
const v1Headers = { ...v2Headers, deprecation: '@1735689600', sunset: 'Thu, 31 Dec 2026 23:59:59 GMT' };

function answer(overrides: Partial<ObservedResponse>): ObservedResponse {
  return {
    method: 'GET',
    path: `/v2/widgets/${widget.id}`,
    status: 200,
    headers: v2Headers,
    body: widget,
    ...overrides,
  };
}

describe('checking an answer against the contract', () => {
  it('accepts an answer that keeps the contract', () => {
    expect(contract.violations(answer({}))).toEqual([]);
    expect(contract.violations(answer({ path: `/v1/widgets/${widget.id}`, headers: v1Headers }))).toEqual([]);
  });

  it('fails a body with a field the contract lacks, naming the field', () => {
    const problems = contract.violations(answer({ body: { ...widget, passwordHash: 'x' } }));
    expect(problems).toEqual(['body has "passwordHash", which the contract does not declare']);
    expect(() => contract.assert(answer({ body: { ...widget, passwordHash: 'x' } }))).toThrow(
      ContractViolation,
    );
  });

  it('treats objects as closed even where a schema forgot to say so', () => {
    const newest = answer({ path: '/v2/widgets/newest', body: { id: widget.id, name: 'Sprocket' } });
    expect(contract.violations(newest)).toEqual(['body has "name", which the contract does not declare']);
  });

  it('fails a status the operation does not declare, listing those it does', () => {
    const [problem] = contract.violations(answer({ status: 418, body: { teapot: true } }));
    expect(problem).toMatch(/getWidgetV2 \(GET \/v2\/widgets\/\{id\}\) answered 418/);
    expect(problem).toContain('declared: 200, 401, 404, 429, 500, 502, 503, 504');
  });

  it('fails a missing field, a wrong type and a malformed id', () => {
    const { name: _name, ...nameless } = widget;
    expect(contract.violations(answer({ body: nameless }))).toEqual(['body lacks "name"']);
    expect(contract.violations(answer({ body: { ...widget, name: 42 } }))).toEqual([
      'body/name must be string',
    ]);
    expect(contract.violations(answer({ body: { ...widget, id: '42' } }))[0]).toMatch(
      /^body\/id must match pattern/,
    );
  });

  it('fails an error that is not the envelope', () => {
    const problems = contract.violations(answer({ status: 404, body: { message: 'Not found' } }));
    expect(problems).toContain('body has "message", which the contract does not declare');
    expect(problems).toContain('body lacks "error"');
    const envelope = {
      error: { code: 'NOT_FOUND', message: 'The resource does not exist' },
      requestId: 'req-1',
    };
    expect(contract.violations(answer({ status: 404, body: envelope }))).toEqual([]);
  });

  it('fails missing or malformed headers: Location on 201, rate limits, Deprecation on v1', () => {
    const created = { method: 'POST', path: '/v2/widgets', status: 201, body: widget };
    expect(contract.violations({ ...created, headers: v2Headers })).toEqual(['missing header Location']);
    expect(
      contract.violations({ ...created, headers: { ...v2Headers, location: `/v2/widgets/${widget.id}` } }),
    ).toEqual([]);
    const { 'x-ratelimit-limit': _limit, ...unlimited } = v2Headers;
    expect(contract.violations(answer({ headers: unlimited }))).toEqual(['missing header X-RateLimit-Limit']);
    expect(
      contract.violations(answer({ headers: { ...v2Headers, 'x-ratelimit-remaining': 'many' } })),
    ).toEqual(['header X-RateLimit-Remaining must be integer']);
    expect(contract.violations(answer({ path: `/v1/widgets/${widget.id}` }))).toEqual([
      'missing header Deprecation',
      'missing header Sunset',
    ]);
  });

  it('checks lists against the pagination envelope', () => {
    const page = {
      data: [widget],
      pagination: { total: 1, page: 1, limit: 20, hasMore: false, nextCursor: null },
    };
    expect(contract.violations(answer({ path: '/v2/widgets?limit=20', body: page }))).toEqual([]);
    expect(contract.violations(answer({ path: '/v2/widgets', body: [widget] }))).toEqual([
      'body must be object',
    ]);
  });

  it('matches fixed segments before parameters, and unversioned paths by their requested version', () => {
    expect(contract.match('GET', '/v2/widgets/newest')?.operation?.operationId).toBe('getNewestWidgetV2');
    expect(contract.match('GET', `/v2/widgets/${widget.id}`)?.operation?.operationId).toBe('getWidgetV2');
    expect(contract.match('GET', '/widgets?version=2')?.operation?.operationId).toBe('listWidgetsV2');
    const accept = new Headers({ accept: 'application/vnd.api+json;version=2' });
    expect(contract.match('GET', '/widgets', accept)?.operation?.operationId).toBe('listWidgetsV2');
    expect(contract.match('GET', '/widgets')?.operation?.operationId).toBe('listWidgets');
  });

  it('fails a success on a path or method the contract lacks, but accepts an enveloped refusal', () => {
    expect(contract.violations(answer({ path: '/v2/gadgets', body: {} }))).toEqual([
      'GET /v2/gadgets is not in the contract',
    ]);
    const envelope = { error: { code: 'ROUTE_NOT_FOUND', message: 'No route' }, requestId: 'req-1' };
    expect(contract.violations(answer({ path: '/v2/gadgets', status: 404, body: envelope }))).toEqual([]);
    const wrongMethod = { method: 'DELETE', path: '/v2/widgets', status: 405, body: envelope };
    expect(contract.violations({ ...wrongMethod, headers: { allow: 'GET, POST' } })).toEqual([]);
    expect(contract.violations({ ...wrongMethod, headers: {} })).toEqual(['405 without an Allow header']);
    expect(contract.violations({ ...wrongMethod, status: 401, headers: {} })).toEqual([]);
    expect(contract.violations({ ...wrongMethod, status: 204, headers: {}, body: undefined })).toEqual([
      'DELETE /v2/widgets is not in the contract',
    ]);
  });
});

describe('checking every answer a suite receives', () => {
  let server: FastifyInstance | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(body: unknown): Promise<string> {
    server = Fastify();
    server.get('/v2/widgets/:id', async (_request, reply) => reply.headers(v2Headers).send(body));
    return server.listen({ port: 0, host: '127.0.0.1' });
  }

  it('lets a route that keeps the contract through, and rejects one that returns an extra field', async () => {
    const checked = contractFetch({ contract });
    let url = await serve(widget);
    const response = await checked(`${url}/v2/widgets/${widget.id}`);
    expect(await response.json()).toEqual(widget);
    await server?.close();

    url = await serve({ ...widget, internalNote: 'leaked' });
    const failure = await checked(`${url}/v2/widgets/${widget.id}`).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ContractViolation);
    expect((failure as ContractViolation).violations).toEqual([
      'body has "internalNote", which the contract does not declare',
    ]);
  });

  it('checks the typed client’s answers through its middleware, against the project contract', async () => {
    server = Fastify();
    let live: unknown = { status: 'up' };
    server.get('/health/live', async (_request, reply) => reply.header('x-request-id', 'req-2').send(live));
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = createClient(url, { middleware: [contractMiddleware(projectContract())] });

    const { data } = await client.GET('/health/live');
    expect(data).toEqual({ status: 'up' });

    live = { status: 'up', uptime: 12 };
    await expect(client.GET('/health/live')).rejects.toThrow(/"uptime", which the contract does not declare/);
  });
});
