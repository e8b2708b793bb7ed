import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import helmet from 'helmet';

export interface SecurityOptions {
  /** Allowed browser origins; `['*']` for any; empty → no CORS headers. */
  corsOrigins: string[];
}

/** Headers a browser client may read, and send, across origins. */
const exposedHeaders = [
  'x-request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
  'api-version',
  'deprecation',
  'sunset',
  'link',
  'location',
  'etag',
];
const allowedHeaders = [
  'authorization',
  'content-type',
  'accept',
  'idempotency-key',
  'if-match',
  'if-none-match',
  'x-request-id',
  'traceparent',
  'tracestate',
];

const shared = {
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  referrerPolicy: { policy: 'no-referrer' as const },
};

/**
 * JSON responses load nothing and belong in no frame. Headers that only matter to HTML documents
 * (DNS prefetch, downloads, agent clusters, opener policy, legacy XSS filter, Flash policies) are
 * left off API responses: every byte here is sent with every response.
 */
const apiHeaders = headersOf(
  helmet({
    ...shared,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    xFrameOptions: { action: 'deny' },
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
    xDnsPrefetchControl: false,
    xDownloadOptions: false,
    xPermittedCrossDomainPolicies: false,
    xXssProtection: false,
  }),
);

/**
 * The API reference page runs its bundled script and inline configuration, loads its styles and
 * fonts, and fetches `/openapi.json`; everything else stays as strict as the API.
 */
const docsHeaders = headersOf(
  helmet({
    ...shared,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'", 'https:'],
        fontSrc: ["'self'", 'https:', 'data:'],
        imgSrc: ["'self'", 'data:', 'https:'],
        connectSrc: ["'self'"],
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  }),
);

/**
 * The headers a helmet middleware sets, worked out once: its policies are static, so every response
 * gets the same values, and setting them from one object is cheaper than running the middleware.
 */
function headersOf(middleware: ReturnType<typeof helmet>): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader() {},
    getHeader() {
      return undefined;
    },
  };
  middleware({} as IncomingMessage, response as unknown as ServerResponse, () => {});
  return headers;
}

function isDocs(url: string): boolean {
  return url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?');
}

/**
 * Security headers (helmet's, worked out once; the Fastify wrapper rebuilds helmet on every request)
 * and CORS. The CSP is relaxed on `/docs` only.
 */
export const security = fp(
  async (app: FastifyInstance, options: SecurityOptions) => {
    app.addHook('onRequest', (request, reply, done) => {
      reply.headers(isDocs(request.url) ? docsHeaders : apiHeaders);
      done();
    });
    if (options.corsOrigins.length > 0) {
      await app.register(cors, {
        origin: options.corsOrigins.includes('*') ? '*' : options.corsOrigins,
        methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
        allowedHeaders,
        exposedHeaders,
        maxAge: 600,
      });
    }
  },
  { name: 'gateway-security' },
);
