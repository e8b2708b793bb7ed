import { readFile } from 'node:fs/promises';
import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';

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

  await app.register(async (scope) => {
    // The plugin declares its routes without a config; mark each one public as it is added.
    scope.addHook('onRoute', (route) => {
      route.config = { ...route.config, public: true };
    });
    await scope.register(scalarApiReference, {
      routePrefix: '/docs',
      logLevel: 'warn',
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
  });
}
