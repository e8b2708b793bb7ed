import type { TSchema } from '@sinclair/typebox';
import { allOperations } from '../src/all-operations.ts';
import { ErrorEnvelope } from '../src/common.ts';
import { type ApiVersion, supportedVersions } from '../src/money.ts';
import { type ErrorStatus, type HttpMethod, type Operation, schemaFor } from '../src/operation.ts';

/**
 * Builds the OpenAPI 3.1 document from the contract's operations. Everything a route promises beyond
 * its own schemas (error envelope, rate-limit headers, request ids, versions, security, pagination)
 * is added here, once, so every operation states it the same way.
 *
 * Written by hand rather than with @fastify/swagger: the document must come from the contract alone,
 * without starting three services, and must be byte-stable so CI can tell when it is stale.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface OpenApiOptions {
  /** `info.version`. */
  version: string;
}

const methodOrder: HttpMethod[] = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'];

const statusDescriptions: Record<number, string> = {
  200: 'OK',
  201: 'Created; `Location` names the new resource',
  202: 'Accepted; what it starts (e.g. a mail) happens shortly',
  204: 'No content',
  304: 'Not modified since the `ETag` given in `If-None-Match`',
  400: 'Invalid input: malformed JSON, wrong types or formats, unknown query parameters, a bad cursor',
  401: 'Missing, invalid or expired access token',
  403: 'Valid token, but not allowed to do this',
  404: 'No such resource (also deleted resources and malformed ids)',
  405: 'Method not allowed on this resource; `Allow` lists those that are',
  409: 'Conflict with the current state (duplicate, stale version, reused idempotency key)',
  412: 'A precondition (`If-Match`) failed',
  413: 'The request body is too large',
  415: 'The request body must be JSON',
  422: 'Valid syntax, but the request cannot be carried out (a business rule refuses it)',
  429: 'Rate limited; retry after `Retry-After` seconds',
  500: 'Internal error; the details are in the log under the request id',
  502: 'An upstream service answered with an invalid response',
  503: 'Temporarily unavailable (an upstream service is down or its circuit is open)',
  504: 'An upstream service did not answer in time',
};

/** Headers declared once in `components.headers` and referenced by every response that carries them. */
const headerComponents: Record<string, JsonObject> = {
  'X-Request-Id': {
    description:
      'The request id: the caller’s own when given (and safe), else a new one; logs are keyed by it',
    required: true,
    schema: { type: 'string', maxLength: 128, pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
  'X-RateLimit-Limit': {
    description: 'Requests the client’s bucket holds (its burst size)',
    required: true,
    schema: { type: 'integer', minimum: 1, maximum: 10_000_000 },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests left in the bucket after this one',
    required: true,
    schema: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  },
  'X-RateLimit-Reset': {
    description: 'When the bucket is full again, in unix seconds',
    required: true,
    schema: { type: 'integer', minimum: 0, maximum: 99_999_999_999 },
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying',
    required: true,
    schema: { type: 'integer', minimum: 0, maximum: 86_400 },
  },
  Location: {
    description: 'The URL of the created resource',
    required: true,
    schema: { type: 'string', format: 'uri-reference', maxLength: 2048 },
  },
  Deprecation: {
    description: 'Since when v1 is deprecated (v2 exists), as `@` and unix seconds (RFC 9745)',
    required: true,
    schema: { type: 'string', maxLength: 32, pattern: '^@[0-9]+$', examples: ['@1735689600'] },
  },
  Sunset: {
    description: 'When v1 stops being served, as an HTTP date (RFC 8594)',
    required: true,
    schema: {
      type: 'string',
      maxLength: 64,
      pattern: '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$',
      examples: ['Thu, 31 Dec 2026 23:59:59 GMT'],
    },
  },
  ETag: {
    description: 'The representation’s version, for `If-None-Match` (and `If-Match` on writes)',
    required: true,
    schema: { type: 'string', maxLength: 256, pattern: '^(W/)?"[^"]*"$' },
  },
  'X-Cache': {
    description:
      '`HIT` when the answer came from the cache, `MISS` when it was read from the database; the ' +
      'access check runs either way',
    required: true,
    schema: { type: 'string', enum: ['HIT', 'MISS'] },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme to use: `Bearer`',
    required: true,
    schema: { type: 'string', maxLength: 1000, pattern: '^Bearer' },
  },
  Allow: {
    description: 'The methods this resource accepts',
    required: true,
    schema: { type: 'string', maxLength: 100, pattern: '^[A-Z]+(, ?[A-Z]+)*$' },
  },
};

const rateLimitHeaders = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];

const securitySchemes: JsonObject = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'An access token from `POST /v1/auth/login` or `/v1/auth/refresh`: a JWT signed by the users ' +
      'service (asymmetric key, `kid` in the header, public keys at `/.well-known/jwks.json`), valid 15 ' +
      'minutes. Tokens are issued and verified following RFC8725 (JWT best current practices): the ' +
      'algorithm is pinned, and `exp`, `iss` and `aud` are checked. Send it as `Authorization: Bearer …`.',
  },
};

const apiDescription = [
  'Armature’s public API, served by the gateway. This document is generated from the TypeBox schemas',
  'in `packages/contracts` — the one source of truth the services validate and serialize with.',
  '',
  '- **Versions**: every resource path exists as `/v1/…` and `/v2/…`; they differ in money, a decimal',
  '  number in v1 and `{"amount": 9999, "currency": "USD"}` (minor units) in v2. v1 answers carry',
  '  `Deprecation` and `Sunset` headers.',
  '- **Auth**: `Authorization: Bearer <accessToken>` from `POST /v1/auth/login`.',
  '- **Errors**: every 4xx and 5xx has the body',
  '  `{"error": {"code", "message", "details"?}, "requestId"}` with a stable UPPER_SNAKE `code`.',
  '- **Lists**: `?page=&limit=` or `?cursor=&limit=`, answered as `{"data": […], "pagination": {…}}`.',
  '- **Rate limits**: every answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and',
  '  `X-RateLimit-Reset`; a 429 adds `Retry-After`.',
  '- **Retries**: a `POST` accepting `Idempotency-Key` creates nothing twice for the same key.',
  '- **Client**: `@armature/client` (`packages/client` in the repository, with its README) is typed from',
  '  this document; it signs in and refreshes, retries safely with idempotency keys, throws',
  "  `ArmatureApiError` and iterates lists: `createArmature({ baseUrl }).paginate('/v1/products')`.",
].join('\n');

/** What the operations of one document share: named schemas, headers and error responses. */
interface Shared {
  components: SchemaComponents;
  envelopeRef: Json;
  usedHeaders: Set<string>;
  errorResponses: Map<string, JsonObject>;
}

/** Collects the schemas that carry an `$id` into `components.schemas`, referenced by `$ref`. */
class SchemaComponents {
  readonly #schemas = new Map<string, { json: Json; text: string }>();

  /** The JSON form of a TypeBox schema, its named parts replaced by references. */
  toJson(schema: TSchema): Json {
    // JSON round trip: drops TypeBox's symbol keys and copies, so the contract's objects stay untouched.
    return this.#hoist(canonicalSchema(JSON.parse(JSON.stringify(schema)) as Json));
  }

  #hoist(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.#hoist(item));
    if (value === null || typeof value !== 'object') return value;
    const { $id, ...rest } = value;
    const copy: JsonObject = {};
    for (const [key, child] of Object.entries(rest))
      copy[key] = dataKeywords.has(key) ? child : this.#hoist(child);
    if (typeof $id !== 'string') return copy;
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test($id))
      throw new Error(`Schema $id "${$id}" must be a plain name, e.g. "User"`);
    const text = JSON.stringify(copy);
    const known = this.#schemas.get($id);
    if (known && known.text !== text) {
      throw new Error(
        `Two different schemas are named "${$id}" (by $id); give each its own name, e.g. "${$id}V1" and "${$id}V2"`,
      );
    }
    this.#schemas.set($id, { json: copy, text });
    return { $ref: `#/components/schemas/${$id}` };
  }

  entries(): JsonObject {
    const names = [...this.#schemas.keys()].sort();
    return Object.fromEntries(names.map((name) => [name, this.#schemas.get(name)!.json]));
  }
}

/** Keywords whose values are instance data, not schemas: left exactly as written. */
const dataKeywords = new Set(['const', 'default', 'enum', 'example', 'examples']);

export function buildOpenApi(
  operations: readonly Operation[] = allOperations,
  options: OpenApiOptions,
): JsonObject {
  checkUnique(operations);
  const components = new SchemaComponents();
  const envelopeRef = components.toJson(ErrorEnvelope);
  const paths: Record<string, Record<string, JsonObject>> = {};
  const shared: Shared = { components, envelopeRef, usedHeaders: new Set(), errorResponses: new Map() };

  for (const operation of operations) {
    checkOperation(operation);
    const versions: (ApiVersion | undefined)[] = operation.unversioned ? [undefined] : [...supportedVersions];
    for (const version of versions) {
      const path = version === undefined ? operation.path : `/v${version}${operation.path}`;
      paths[path] ??= {};
      paths[path][operation.method.toLowerCase()] = buildOperation(operation, version, shared);
    }
  }

  const tags = [...new Set(operations.flatMap((operation) => operation.tags))].sort();
  const sortedPaths: JsonObject = {};
  for (const path of Object.keys(paths).sort()) {
    const item: JsonObject = {};
    for (const method of methodOrder) {
      const operation = paths[path][method.toLowerCase()];
      if (operation) item[method.toLowerCase()] = operation;
    }
    sortedPaths[path] = item;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Armature API',
      version: options.version,
      description: apiDescription,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: '/',
        description:
          'The gateway serving this document (local, staging or production: each deployment serves its own copy)',
        'x-internal': false,
      },
    ],
    tags: tags.map((name) => ({ name })),
    paths: sortedPaths,
    components: {
      schemas: components.entries(),
      responses: Object.fromEntries([...shared.errorResponses].sort(([a], [b]) => (a < b ? -1 : 1))),
      headers: Object.fromEntries(
        Object.entries(headerComponents).filter(([name]) => shared.usedHeaders.has(name)),
      ),
      securitySchemes,
    },
  };
}

function buildOperation(operation: Operation, version: ApiVersion | undefined, shared: Shared): JsonObject {
  const { components } = shared;
  const headerRef = (name: string): JsonObject => {
    shared.usedHeaders.add(name);
    return { $ref: `#/components/headers/${name}` };
  };
  const schema = (value: TSchema | { v1: TSchema; v2: TSchema }) =>
    components.toJson(schemaFor(value, version ?? 1));
  const deprecatedVersion = version === 1;

  const parameters: Json[] = [
    ...objectParameters(operation.params, 'path', components),
    ...objectParameters(operation.headers, 'header', components),
    ...objectParameters(operation.query, 'query', components),
  ];
  const declaredHeaders = new Set(
    Object.keys(operation.headers?.properties ?? {}).map((name) => name.toLowerCase()),
  );
  if (operation.idempotent && !declaredHeaders.has('idempotency-key')) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        'Makes a retry safe: a repeat with the same key answers the first response and creates nothing twice',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7E]+$' },
    });
  }
  if (304 in operation.responses && !declaredHeaders.has('if-none-match')) {
    parameters.push({
      name: 'If-None-Match',
      in: 'header',
      required: false,
      description: 'An `ETag` from an earlier answer: 304 when the resource has not changed since',
      schema: { type: 'string', maxLength: 256 },
    });
  }

  const commonHeaders = (status: number): JsonObject => {
    const headers: JsonObject = { 'X-Request-Id': headerRef('X-Request-Id') };
    if (rateLimited(operation)) for (const name of rateLimitHeaders) headers[name] = headerRef(name);
    if (deprecatedVersion) {
      headers.Deprecation = headerRef('Deprecation');
      headers.Sunset = headerRef('Sunset');
    }
    if (status === 429) headers['Retry-After'] = headerRef('Retry-After');
    if (status === 401) headers['WWW-Authenticate'] = headerRef('WWW-Authenticate');
    if (status === 405) headers.Allow = headerRef('Allow');
    if (status === 201) headers.Location = headerRef('Location');
    if ((status === 200 || status === 304) && 304 in operation.responses) headers.ETag = headerRef('ETag');
    if ((status === 200 || status === 304) && operation.cached) headers['X-Cache'] = headerRef('X-Cache');
    return headers;
  };

  const responses: JsonObject = {};
  for (const [key, body] of Object.entries(operation.responses)) {
    const status = Number(key);
    responses[key] = {
      description: statusDescriptions[status] ?? 'Success',
      headers: commonHeaders(status),
      ...(body === null || body === undefined
        ? {}
        : { content: { 'application/json': { schema: schema(body) } } }),
    };
  }
  for (const status of errorStatuses(operation)) {
    const body = operation.errorBodies?.[status];
    const response: JsonObject = {
      description: statusDescriptions[status] ?? 'Error',
      headers: commonHeaders(status),
      content: { 'application/json': { schema: body ? components.toJson(body) : shared.envelopeRef } },
    };
    if (body || !rateLimited(operation)) {
      responses[String(status)] = response;
      continue;
    }
    // The envelope answers of rate-limited operations are alike: one shared response per status and version.
    const name = `Error${status}${deprecatedVersion ? 'V1' : ''}`;
    shared.errorResponses.set(name, response);
    responses[String(status)] = { $ref: `#/components/responses/${name}` };
  }

  const access =
    operation.access === 'admin'
      ? 'Requires an admin’s access token.'
      : operation.access === 'authenticated'
        ? 'Requires an access token.'
        : 'Public: no token needed.';
  const result: JsonObject = {
    operationId: version === 2 ? `${operation.operationId}V2` : operation.operationId,
    summary: operation.summary,
    description: [operation.description, access].filter(Boolean).join('\n\n'),
    tags: operation.tags,
  };
  if (deprecatedVersion) result.deprecated = true;
  result.security = securityOf(operation);
  if (parameters.length > 0) result.parameters = parameters;
  if (operation.body !== undefined) {
    const body = schema(operation.body);
    const content: JsonObject = { 'application/json': { schema: body } };
    // PATCH is a JSON Merge Patch (RFC 7396), accepted under its own media type too.
    if (operation.method === 'PATCH') content['application/merge-patch+json'] = { schema: body };
    result.requestBody = { required: true, content };
  }
  result.responses = sortByKey(responses);
  return result;
}

/**
 * The statuses an operation can answer with: those it lists, plus those every operation of its kind
 * can meet — set by the platform and the gateway, not by the route.
 */
export function errorStatuses(operation: Operation): ErrorStatus[] {
  const statuses = new Set<ErrorStatus>(operation.errors);
  if (operation.access !== 'public') statuses.add(401);
  if (operation.access === 'admin') statuses.add(403);
  if (operation.query || operation.body || operation.headers) statuses.add(400);
  if (operation.body) {
    statuses.add(413);
    statuses.add(415);
  }
  if (operation.path.includes('{')) statuses.add(404);
  if (rateLimited(operation)) statuses.add(429);
  statuses.add(500);
  if (operation.service !== 'gateway') {
    // The gateway answers for an upstream that fails, is down (open circuit) or is too slow.
    statuses.add(502);
    statuses.add(503);
    statuses.add(504);
  }
  return [...statuses].sort((a, b) => a - b);
}

/** The gateway rate-limits every request but health probes (orchestrators must always reach them). */
function rateLimited(operation: Operation): boolean {
  return !/^\/health(\/|$)/.test(operation.path);
}

function securityOf(operation: Operation): Json {
  if (operation.access !== 'public') return [{ bearerAuth: [] }];
  // Public: anonymous access (the empty requirement); a versioned route also reads a token when given.
  return operation.unversioned ? [{}] : [{}, { bearerAuth: [] }];
}

function objectParameters(
  schema: TSchema | undefined,
  location: 'path' | 'query' | 'header',
  components: SchemaComponents,
): Json[] {
  if (!schema) return [];
  const json = components.toJson(schema) as JsonObject;
  const properties = (json.properties ?? {}) as Record<string, JsonObject>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    const parameter: JsonObject = { name, in: location, required: location === 'path' || required.has(name) };
    if (typeof description === 'string') parameter.description = description;
    parameter.schema = propertySchema;
    return parameter;
  });
}

function checkUnique(operations: readonly Operation[]): void {
  const ids = new Set<string>();
  const routes = new Set<string>();
  for (const operation of operations) {
    if (ids.has(operation.operationId))
      throw new Error(`Two operations have the id "${operation.operationId}"`);
    ids.add(operation.operationId);
    const route = `${operation.method} ${operation.path}`;
    if (routes.has(route)) throw new Error(`Two operations declare ${route}`);
    routes.add(route);
  }
}

function checkOperation(operation: Operation): void {
  const where = `Operation "${operation.operationId}"`;
  const inPath = [...operation.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();
  const declared = Object.keys(operation.params?.properties ?? {}).sort();
  if (inPath.join() !== declared.join()) {
    throw new Error(
      `${where}: path parameters {${inPath.join(', ')}} but params declares {${declared.join(', ')}}`,
    );
  }
  if (operation.list) {
    const query = operation.query?.properties ?? {};
    const missing = ['page', 'limit', 'cursor'].filter((name) => !(name in query));
    if (missing.length > 0) {
      throw new Error(
        `${where} is a list but its query lacks ${missing.join(', ')}: build it with ListQuery({...})`,
      );
    }
  }
  if (Object.keys(operation.responses).length === 0) throw new Error(`${where} declares no success response`);
  for (const status of Object.keys(operation.errorBodies ?? {})) {
    if (!operation.errors.includes(Number(status) as ErrorStatus)) {
      throw new Error(`${where}: errorBodies names ${status}, which errors does not list`);
    }
  }
}

function sortByKey(object: JsonObject): JsonObject {
  return Object.fromEntries(
    Object.keys(object)
      .sort()
      .map((key) => [key, object[key]]),
  );
}

/** Keywords whose values map names to schemas: the names keep their declared order (readers see it). */
const schemaMaps = new Set(['properties', 'patternProperties', '$defs', 'dependentSchemas']);

/** Keywords a reader looks for first; the others follow in alphabetical order. */
const leadingKeywords = ['$id', 'title', 'description', 'type'];

function keywordOrder(a: string, b: string): number {
  const rank = (key: string) => {
    const index = leadingKeywords.indexOf(key);
    return index === -1 ? leadingKeywords.length : index;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Stable key order for a schema, whatever order its source wrote: leading keywords, then the rest
 * sorted; property names keep their declared order (the order readers see); instance data untouched.
 */
function canonicalSchema(value: Json): Json {
  if (Array.isArray(value)) return value.map(canonicalSchema);
  if (value === null || typeof value !== 'object') return value;
  const result: JsonObject = {};
  for (const key of Object.keys(value).sort(keywordOrder)) {
    const child = value[key];
    if (dataKeywords.has(key)) result[key] = child;
    else if (schemaMaps.has(key) && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      result[key] = Object.fromEntries(
        Object.entries(child).map(([name, sub]) => [name, canonicalSchema(sub)]),
      );
    } else result[key] = canonicalSchema(child);
  }
  return result;
}

/** The document as committed: two-space JSON with a final newline. */
export function renderOpenApi(document: JsonObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
