import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** The console's build (`npm run build -w @armature/console`, run by `npm ci`); it may be missing. */
const distFolder = fileURLToPath(new URL('dist/', import.meta.resolve('@armature/console/package.json')));

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The console page is this origin's scripts and styles only: no inline script or style, no other
 * origin, no frame. Its data comes from the API (`connect-src 'self'`), where every call needs an
 * admin's token; the shell itself holds nothing and shows only the sign-in form until then.
 */
export const consoleCsp = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `GET /console`: the admin console's single page, and its hashed assets under `/console/assets/`
 * (cached for a year: a new build has new names). Public, like `/docs`: the data is not.
 */
export async function consoleStatic(app: FastifyInstance): Promise<void> {
  const built = existsSync(join(distFolder, 'index.html'));
  const send = async (file: string, reply: import('fastify').FastifyReply, immutable: boolean) => {
    const body = await readFile(join(distFolder, file));
    return reply
      .header('content-security-policy', consoleCsp)
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(types[extname(file)] ?? 'application/octet-stream')
      .send(body);
  };
  const page = async (_request: unknown, reply: import('fastify').FastifyReply) => {
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run `npm run build -w @armature/console`.');
    }
    return send('index.html', reply, false);
  };
  app.get('/console', { config: { public: true } }, page);
  app.get('/console/', { config: { public: true } }, page);
  app.get<{ Params: { file: string } }>(
    '/console/assets/:file',
    { config: { public: true } },
    async (request, reply) => {
      const { file } = request.params;
      if (
        !built ||
        !/^[\w.-]+\.(js|css|svg|png)$/.test(file) ||
        !existsSync(join(distFolder, 'assets', file))
      ) {
        return reply.code(404).type('text/plain; charset=utf-8').send('Not found');
      }
      return send(join('assets', file), reply, true);
    },
  );
}
