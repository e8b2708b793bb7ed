import {
  type ApiVersion,
  type Operation,
  routePath,
  routeSchema,
  supportedVersions,
} from '@armature/contracts';
import type { App, CursorCodec } from '@armature/platform';
import type { Cache } from '@armature/platform/cache/index';
import type { FastifyReply, FastifyRequest, preValidationHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import type { OrdersDatabase } from '../db/schema.ts';

/** What every route of the service needs. */
export interface OrdersContext {
  db: Kysely<OrdersDatabase>;
  /** The one currency prices are kept in (ISO 4217). */
  currency: string;
  cursors: CursorCodec;
  /** Product reads and per-user order lists are served from it; every write invalidates it. */
  cache: Cache;
}

export type VersionedHandler = (request: FastifyRequest, reply: FastifyReply, version: ApiVersion) => unknown;

/**
 * Registers one contract operation under every API version (`/v1/…`, `/v2/…`), with the version's
 * schemas and the operation's access rule; the handler learns which version it serves.
 */
export function registerOperation(
  app: App,
  operation: Operation,
  handler: VersionedHandler,
  options: { preValidation?: preValidationHookHandler } = {},
): void {
  for (const version of supportedVersions) {
    app.route({
      method: operation.method,
      url: routePath(operation, version),
      schema: routeSchema(operation, version),
      config: { access: operation.access },
      preValidation: options.preValidation,
      handler: (request, reply) => handler(request, reply, version),
    });
  }
}
