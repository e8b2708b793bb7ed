import { authOperations } from '@armature/contracts';
import { registerOperation } from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import type { UsersContext } from '../context.ts';

/**
 * `GET /.well-known/jwks.json`: the active key and the retiring ones. Verifiers refetch on an unknown
 * `kid`, so a short max-age is enough for a rotation to reach them.
 */
export function registerJwksRoute(app: FastifyInstance, context: UsersContext): void {
  registerOperation(app, authOperations.getJwks, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return { keys: await context.keys.publicKeys() };
  });
}
