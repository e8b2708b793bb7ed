import {
  type ApiVersion,
  type Operation,
  routePath,
  routeSchema,
  supportedVersions,
  type VersionedSchema,
} from '@armature/contracts';
import type { Static, TSchema } from '@sinclair/typebox';
import type {
  FastifyContextConfig,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preValidationHookHandler,
} from 'fastify';

/** The value a schema validates; a schema that differs between versions gives either version's value. */
export type StaticOf<S> = S extends { v1: infer V1 extends TSchema; v2: infer V2 extends TSchema }
  ? Static<V1> | Static<V2>
  : S extends TSchema
    ? Static<S>
    : undefined;

/** The body of any success status of an operation; a bodiless status (204, 304) sends nothing. */
export type ReplyBody<O extends Operation> = {
  [Status in keyof O['responses']]-?: O['responses'][Status] extends VersionedSchema
    ? StaticOf<O['responses'][Status]>
    : undefined;
}[keyof O['responses']];

/** The request and reply types of one operation, read from its contract. */
export interface OperationTypes<O extends Operation> {
  Body: StaticOf<O['body']>;
  Querystring: StaticOf<O['query']>;
  Params: StaticOf<O['params']>;
  Headers: StaticOf<O['headers']>;
  Reply: ReplyBody<O>;
}

export type OperationRequest<O extends Operation> = FastifyRequest<OperationTypes<O>>;
/** A request of any operation whose path names an `{id}`. */
export type RequestWithId = FastifyRequest<{ Params: { id: string } }>;
export type OperationReply<O extends Operation> = FastifyReply<OperationTypes<O>>;
/** What a handler may return: a body of one of the operation's success statuses, or the reply it sent. */
export type OperationResult<O extends Operation> = ReplyBody<O> | FastifyReply;

/** A handler with its body, query, params, headers and reply typed by the contract; it learns the version it serves. */
export type OperationHandler<O extends Operation> = (
  request: OperationRequest<O>,
  reply: OperationReply<O>,
  version: ApiVersion,
) => OperationResult<O> | Promise<OperationResult<O>>;

export interface OperationOptions {
  /** Runs before validation (a route that reads its cache before the body is checked). */
  preValidation?: preValidationHookHandler;
  /** More route settings (the gateway marks its own API routes `api: true` for its versioning). */
  config?: Omit<FastifyContextConfig, 'access'>;
}

/**
 * Registers one contract operation under every API version (`/v1/…`, `/v2/…`), or once when it is
 * unversioned. Path, validation, serialization and access come from the contract; so do the handler's
 * types, so a handler that reads a field the contract lacks or returns the wrong shape fails `tsc`.
 */
export function registerOperation<O extends Operation>(
  app: FastifyInstance,
  operation: O,
  handler: OperationHandler<O>,
  options: OperationOptions = {},
): void {
  const versions: readonly ApiVersion[] = operation.unversioned ? [1] : supportedVersions;
  for (const version of versions) {
    app.route<OperationTypes<O>>({
      method: operation.method,
      url: routePath(operation, version),
      schema: routeSchema(operation, version),
      config: { ...options.config, access: operation.access },
      ...(options.preValidation ? { preValidation: options.preValidation } : {}),
      // The route's schema validated the request against these very types before the handler runs.
      handler: (request, reply) => handler(request, reply, version) as never,
    });
  }
}
