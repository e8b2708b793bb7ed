import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import { bearerToken, type Principal, type TokenVerifier, unauthorized } from './verifier.ts';

export type Access = 'public' | 'authenticated' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Who may call the route; anything but `public` needs a verified token. */
    access?: Access;
  }
}

export interface AuthOptions {
  verifier: TokenVerifier;
  /**
   * Extra check after the signature, e.g. that the user still exists (a deleted user's token → 401).
   * It gets the request too, to keep what it read for the route (no second lookup).
   */
  isActive?: (principal: Principal, request: FastifyRequest) => Promise<boolean>;
}

/**
 * Verifies the bearer token on every route whose `config.access` is not `public` (the default is
 * `authenticated`): 401 with `WWW-Authenticate` when missing or invalid, 403 for admin routes.
 * Every service verifies tokens itself; none trusts an identity header forwarded by the gateway.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    const access =
      request.routeOptions.config?.access ??
      (request.routeOptions.config?.public ? 'public' : 'authenticated');
    const token = bearerToken(request.headers.authorization);
    if (access === 'public') {
      // A public route still learns who is calling when a valid token is given (e.g. an admin registering an admin).
      if (token) request.principal = await options.verifier.verify(token).catch(() => undefined);
      return;
    }
    if (!request.routeOptions.url) return; // 404/405 handlers: let them answer
    if (!token) throw unauthorized('UNAUTHORIZED');
    const principal = await options.verifier.verify(token);
    if (options.isActive && !(await options.isActive(principal, request))) {
      throw unauthorized('INVALID_TOKEN', 'The account behind this token no longer exists');
    }
    if (access === 'admin' && !principal.isAdmin) throw new ApiError('FORBIDDEN');
    request.principal = principal;
  });
}

/** The verified caller of an authenticated route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized('UNAUTHORIZED');
  return request.principal;
}

/**
 * Resolves a `{id}` path parameter naming a user (`me` allowed) and checks the caller may act on it:
 * themselves, or anyone when admin. Another member's id is a 403.
 */
export function targetUserId(request: FastifyRequest, idParam: string): string {
  const principal = principalOf(request);
  const id = idParam === 'me' ? principal.userId : idParam;
  if (id !== principal.userId && !principal.isAdmin) throw new ApiError('FORBIDDEN');
  return id;
}
