import { authOperations } from '@armature/contracts';
import { registerOperation } from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import { logIn, logOut, refresh } from '../auth/sessions.ts';
import type { UsersContext } from '../context.ts';
import { sessionClient } from './sessions.ts';

/** Token responses must never be stored by a cache (RFC 6749 §5.1). */
const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function registerAuthRoutes(app: FastifyInstance, context: UsersContext): void {
  registerOperation(app, authOperations.login, async (request, reply) => {
    const { email, password } = request.body;
    const answer = await logIn(context, email, password, sessionClient(request));
    // 202: the password was right, and a second factor is needed (`POST /auth/mfa`).
    return reply
      .code('mfaChallenge' in answer ? 202 : 200)
      .headers(noStore)
      .send(answer);
  });

  registerOperation(app, authOperations.refreshTokens, async (request, reply) => {
    const { refreshToken } = request.body;
    return reply.headers(noStore).send(await refresh(context, refreshToken));
  });

  registerOperation(app, authOperations.logout, async (request, reply) => {
    const { refreshToken } = request.body;
    await logOut(context, refreshToken);
    return reply.code(204).send();
  });
}
