import { readFile } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

/** The committed contract, as generated from packages/contracts (`npm run contracts:generate`). */
const documentUrl = new URL(import.meta.resolve('@armature/contracts/openapi.json'));

/**
 * The contract and its reference page, both public:
 * - `GET /openapi.json`: the OpenAPI 3.1 document, byte for byte the committed file;
 * - `GET /docs`: Scalar's API reference. Its script is bundled in the package and served from here
 *   (`/docs/js/scalar.js`); hosted fonts, telemetry and the AI agent are off, so the page requests
 *   nothing from any other origin.
 */
export async function docs(app: FastifyInstance): Promise<void> {
  const document = await readFile(documentUrl, 'utf8');

  app.get('/openapi.json', { config: { public: true } }, (_request, reply) =>
    reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(document),
  );

  // Scalar's plugin carries its whole page script (megabytes of JavaScript) and an OpenAPI parser:
  // it is loaded, in a server of its own, on the first request for the page, not with the gateway.
  let reference: Promise<FastifyInstance> | undefined;
  const serveReference = async (request: FastifyRequest, reply: FastifyReply) => {
    reference ??= referenceServer();
    reference.catch(() => {
      reference = undefined;
    });
    const response = await (await reference).inject({
      method: request.method as 'GET',
      url: request.url,
      headers: request.headers,
    });
    // Anything else under /docs is the gateway's own 404, in the error envelope.
    if (response.statusCode === 404) return reply.callNotFound();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && name !== 'content-length' && name !== 'connection')
        reply.header(name, value);
    }
    return reply.code(response.statusCode).send(response.rawPayload);
  };
  for (const url of ['/docs', '/docs/*'])
    app.route({ method: ['GET', 'HEAD'], url, config: { public: true }, handler: serveReference });
}

/** A server holding only Scalar's reference page, at `/docs`. */
async function referenceServer(): Promise<FastifyInstance> {
  const { default: scalarApiReference } = await import('@scalar/fastify-api-reference');
  const server = Fastify({ logger: false });
  await server.register(scalarApiReference, {
    routePrefix: '/docs',
    configuration: {
      url: '/openapi.json',
      pageTitle: 'Armature API',
      withDefaultFonts: false,
      telemetry: false,
      defaultOpenAllTags: true,
      showOperationId: true,
      showDeveloperTools: 'never',
      // Features that call Scalar's hosted services stay off: the page talks to this gateway only.
      agent: { disabled: true },
      mcp: { disabled: true },
    },
  });
  await server.ready();
  return server;
}
