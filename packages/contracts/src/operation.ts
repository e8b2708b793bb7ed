import { type TObject, type TSchema, Type } from '@sinclair/typebox';
import { ErrorEnvelope } from './common.ts';
import type { ApiVersion } from './money.ts';
import type { Service } from './services.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type Access = 'public' | 'authenticated' | 'admin';
export type { Service };

/** A response body that differs between versions (money shapes), or one schema for both. */
export type VersionedSchema = TSchema | { v1: TSchema; v2: TSchema };
export type SuccessStatus = 200 | 201 | 202 | 204 | 304;
export type ErrorStatus =
  | 400
  | 401
  | 403
  | 404
  | 405
  | 409
  | 412
  | 413
  | 415
  | 422
  | 429
  | 500
  | 502
  | 503
  | 504;

/**
 * One API operation, declared once: the services register their routes from it and the OpenAPI
 * document is generated from it. `path` is OpenAPI style without the version prefix (`/users/{id}`).
 */
export interface Operation {
  operationId: string;
  service: Service;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  access: Access;
  params?: TObject;
  query?: TObject;
  /** The request body; like responses, it may differ between versions (money shapes). */
  body?: VersionedSchema;
  headers?: TObject;
  /** Success responses; `null` for no body (204). */
  responses: Partial<Record<SuccessStatus, VersionedSchema | null>>;
  /** Error statuses this operation can answer with (the envelope is implied). */
  errors: ErrorStatus[];
  /** The few error statuses whose body is not the envelope (health answers 503 with its report). */
  errorBodies?: Partial<Record<ErrorStatus, TSchema>>;
  /** A list with the pagination envelope and query parameters. */
  list?: boolean;
  /** Accepts `Idempotency-Key`. */
  idempotent?: boolean;
  /** Served without a version prefix only (health, jwks). */
  unversioned?: boolean;
  /** Served cache-aside: answers carry `X-Cache: HIT|MISS` (declare 304 for `If-None-Match`). */
  cached?: boolean;
  /**
   * The scope an API key needs to call it (`orders:read`); by default the resource of its path
   * (`/users/{id}/cart/…` → `cart`, `/orders/{id}` → `orders`) with `:read` for GET and `:write`
   * for other methods (see `operationScope`).
   */
  scope?: string;
  /** How many rate-limit tokens a call takes (checkout counts more); 1 by default. */
  cost?: number;
}

/** The scope an API key needs for this operation: its own `scope`, else derived from its path. */
export function operationScope(operation: Pick<Operation, 'scope' | 'method' | 'path'>): string {
  if (operation.scope) return operation.scope;
  const segments = operation.path.split('/');
  // A user's sub-resource (`/users/{id}/orders`) is its own resource; `/users/{id}` is `users`.
  const resource = (segments[1] === 'users' && segments[3] ? segments[3] : segments[1]) ?? '';
  return `${resource}:${operation.method === 'GET' ? 'read' : 'write'}`;
}

export function defineOperations<T extends Record<string, Operation>>(operations: T): T {
  return operations;
}

export function schemaFor(schema: VersionedSchema, version: ApiVersion): TSchema {
  return 'v1' in schema && 'v2' in schema ? (version === 1 ? schema.v1 : schema.v2) : (schema as TSchema);
}

/** `/users/{id}` → `/v1/users/:id` (Fastify syntax). */
export function routePath(operation: Operation, version: ApiVersion): string {
  const path = operation.path.replace(/\{(\w+)\}/g, ':$1');
  return operation.unversioned ? path : `/v${version}${path}`;
}

/**
 * The Fastify route schema for one operation and version: validation in, serialization out. Parts the
 * operation lacks are left out rather than set to undefined (Fastify warns about those), and a
 * bodiless success (204) has no response schema (Fastify cannot compile `null`).
 */
const noQuery = Type.Object({}, { additionalProperties: false });

export function routeSchema(operation: Operation, version: ApiVersion) {
  const response: Record<number, TSchema> = {};
  for (const [status, schema] of Object.entries(operation.responses)) {
    if (schema !== null && schema !== undefined) response[Number(status)] = schemaFor(schema, version);
  }
  for (const status of operation.errors) response[status] = operation.errorBodies?.[status] ?? ErrorEnvelope;
  return {
    operationId: operation.operationId,
    ...(operation.params ? { params: operation.params } : {}),
    // No declared query means no query parameters: an unknown one is a 400, never silently ignored.
    querystring: operation.query ?? noQuery,
    ...(operation.body === undefined ? {} : { body: schemaFor(operation.body, version) }),
    ...(operation.headers ? { headers: operation.headers } : {}),
    response,
  };
}
