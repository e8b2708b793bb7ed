import {
  type ApiVersion,
  type Operation,
  routePath,
  routeSchema,
  supportedVersions,
} from '@armature/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export type OperationHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  version: ApiVersion,
) => Promise<unknown>;

/**
 * Registers a contract operation under `/v1` and `/v2` (users carry no money, so both versions
 * answer alike), or once when it is unversioned. Path, validation, serialization and access all come
 * from the contract; nothing is declared twice.
 */
export function registerOperation(
  app: FastifyInstance,
  operation: Operation,
  handler: OperationHandler,
): void {
  const versions: readonly ApiVersion[] = operation.unversioned ? [1] : supportedVersions;
  for (const version of versions) {
    app.route({
      method: operation.method,
      url: routePath(operation, version),
      schema: routeSchema(operation, version),
      config: { access: operation.access },
      handler: (request, reply) => handler(request, reply, version),
    });
  }
}
