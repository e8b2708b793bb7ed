import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { trackAllowedMethods } from './allowed-methods.ts';
import { ApiError, errorBody } from './errors.ts';
import { HealthRegistry, registerHealthRoutes } from './health.ts';
import { sendError } from './http/error-reply.ts';
import { parseJsonBody } from './http/json-body.ts';
import { loggerOptions } from './logger.ts';
import { registerMetrics } from './metrics.ts';
import { requestIdFrom } from './request-id.ts';
import { registerTracing } from './tracing.ts';

export interface ServerOptions {
  service: string;
  logLevel?: string;
  bodyLimit?: number;
  /** Trust `X-Forwarded-For` from these proxies (Fastify `trustProxy`). */
  trustProxy?: boolean | string | string[];
  /** When set, `/metrics` requires this bearer token. */
  metricsToken?: string;
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  logStream?: NodeJS.WritableStream;
}

export type App = FastifyInstance;

declare module 'fastify' {
  interface FastifyInstance {
    health: HealthRegistry;
  }
  interface FastifyContextConfig {
    /** Routes reachable without a token (the gateway's allow-list reads this too). */
    public?: boolean;
  }
}

/**
 * A route's validator, compiled by ajv when a request first needs it rather than when the route is
 * registered: a service declares a hundred-odd schemas, most of which a given install rarely uses,
 * and compiling them all was a large part of the embedded start (and of its heap).
 */
function compiledOnFirstUse(compile: () => ValidateFunction): ValidateFunction {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compile();
    const valid = compiled(data);
    // Fastify reads the failures from the function it was given.
    validate.errors = compiled.errors;
    return valid;
  }) as ValidateFunction;
  validate.errors = null;
  return validate;
}

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/** Fastify's response serializers (fast-json-stringify), each built on the route's first reply. */
const lazySerializers: SerializerFactory = (externalSchemas, options) => {
  const build = SerializerSelector()(externalSchemas, options);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => {
      serialize ??= build(route);
      return serialize(data);
    };
  };
};

/**
 * The one way a service makes its HTTP server: request ids, JSON logs, the error envelope for every
 * failure (404, 405 + Allow, 400, 413, 415, 500), and health routes, all wired before any route.
 */
export function createServer(options: ServerOptions): App {
  const app = Fastify({
    logger: loggerOptions(options.service, options.logLevel ?? 'info', options.logStream),
    genReqId: requestIdFrom,
    requestIdHeader: false,
    // One line per request, written by the onResponse hook below; probes are not logged.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    bodyLimit: options.bodyLimit ?? 1_048_576,
    trustProxy: options.trustProxy ?? false,
    // Requests arriving while closing get the envelope (below), not Fastify's own 503 body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Ids are checked by their schemas (a malformed one is a 404); the router should not refuse them first.
    routerOptions: { maxParamLength: 2048 },
    frameworkErrors: onFrameworkError,
    schemaController: { compilersFactory: { buildSerializer: lazySerializers } },
  });

  // JSON bodies are validated as sent (a null is not a 0); query strings, params and headers are text,
  // so they are coerced to the declared types.
  app.setValidatorCompiler(({ schema, httpPart }) =>
    compiledOnFirstUse(() => (httpPart === 'body' ? bodyValidator : textValidator).compile(schema)),
  );
  const allowedMethods = trackAllowedMethods(app);
  const health = new HealthRegistry();
  app.decorate('health', health);
  // First of the onRequest hooks, so the span covers auth and rate limits too.
  registerTracing(app, options.service);

  // The hooks every request runs are callback-style: an async hook costs a promise per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    if (health.shuttingDown && !request.url.startsWith('/health')) {
      return done(
        new ApiError('SERVICE_UNAVAILABLE', {
          message: 'The service is shutting down; retry',
          headers: { 'retry-after': '1', connection: 'close' },
        }),
      );
    }
    done();
  });
  // Requests still in flight when shutdown starts must not keep their keep-alive socket open, or
  // the server would wait on it until the shutdown timeout.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (health.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  // Building the line is skipped altogether when the level leaves it out (benchmarks log at warn).
  const logsRequests = ['trace', 'debug', 'info'].includes(app.log.level);
  app.addHook('onResponse', (request, reply, done) => {
    if (logsRequests && !request.url.startsWith('/health')) {
      request.log.info(
        {
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
    done();
  });

  // JSON bodies: UTF-8 only, no duplicate member names, bounded nesting, no NUL (see json-body.ts).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
  // Bodies are JSON only: a text/plain body would otherwise reach validation as a string (400, not 415).
  app.removeContentTypeParser('text/plain');
  // ajv coerces a query value such as `1e309` to Infinity and then skips minimum/maximum, which only
  // apply to finite numbers: such a value would reach the database (a 500). Refuse it here.
  app.addHook('preHandler', (request, _reply, done) => {
    try {
      refuseNonFiniteNumbers(request.query);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply));

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const methods = allowedMethods(path);
    if (methods.length > 0) {
      reply.header('allow', methods.join(', '));
      return reply
        .code(405)
        .send(errorBody('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, request.id));
    }
    return reply
      .code(404)
      .send(errorBody('ROUTE_NOT_FOUND', `No route for ${request.method} ${path}`, request.id));
  });

  app.addHook('preClose', async () => health.markShuttingDown());
  registerHealthRoutes(app, health);
  registerMetrics(app, options.service, options.metricsToken);
  return app;
}

function refuseNonFiniteNumbers(query: unknown): void {
  if (query === null || typeof query !== 'object') return;
  for (const [field, value] of Object.entries(query)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((item) => typeof item === 'number' && !Number.isFinite(item))) {
      throw new ApiError('VALIDATION_ERROR', { details: [{ field, message: 'must be a finite number' }] });
    }
  }
}

const rerouted = Symbol('armature.rerouted');

/**
 * Fastify answers a path it cannot percent-decode (`/v1/users/%c0%ae`) before any hook runs, with a
 * body of its own and none of our headers. Take such a path literally instead (`%` as text) and
 * route it again: it then fails like any other bad id, a 404 in the envelope, with every header.
 */
function onFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw as FastifyRequest['raw'] & { [rerouted]?: true };
  if (error.code === 'FST_ERR_BAD_URL' && !raw[rerouted]) {
    const url = raw.url ?? '/';
    const queryStart = url.indexOf('?');
    const path = queryStart === -1 ? url : url.slice(0, queryStart);
    raw.url = path.replaceAll('%', '%25') + (queryStart === -1 ? '' : url.slice(queryStart));
    raw[rerouted] = true;
    request.server.routing(raw, reply.raw);
    return;
  }
  reply.header('x-request-id', request.id);
  sendError(new ApiError('NOT_FOUND'), request, reply);
}

const ajvOptions = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
const bodyValidator = addFormats.default(new Ajv.default({ ...ajvOptions, coerceTypes: false }));
const textValidator = addFormats.default(new Ajv.default({ ...ajvOptions, coerceTypes: 'array' }));
