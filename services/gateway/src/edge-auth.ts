import { ApiError, bearerToken, type Principal, type TokenVerifier, unauthorized } from '@armature/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { decodeProtectedHeader } from 'jose';
import { LRUCache } from 'lru-cache';
import { accessOf, isPublicRoute } from './routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the request's token was refused (kept until the route turns out to need one). */
    tokenError: ApiError | null;
  }
}

interface Remembered {
  principal: Principal;
  /** The signing key's id: the token is trusted only while that key is published. */
  kid: string | undefined;
}

/**
 * Verified tokens, keyed by the token string, so a client's next request costs a map lookup instead
 * of a signature check (and of a promise: a hit is answered synchronously). Bounded (least recently
 * used goes first); an entry is never used past the token's own `exp`, nor once the key that signed
 * it has left the published key set.
 */
export class VerifiedTokenCache {
  readonly #cache: LRUCache<string, Remembered> | undefined;
  readonly #pending = new Map<string, Promise<Principal>>();
  readonly #verifier: TokenVerifier;
  readonly #isPublished: (kid: string | undefined) => boolean;

  constructor(
    verifier: TokenVerifier,
    size: number,
    isPublished: (kid: string | undefined) => boolean = () => true,
  ) {
    this.#verifier = verifier;
    this.#cache = size > 0 ? new LRUCache({ max: size }) : undefined;
    this.#isPublished = isPublished;
  }

  /** The principal of a token verified before, not expired, its key still published; else undefined. */
  get(token: string): Principal | undefined {
    const entry = this.#cache?.get(token);
    if (entry === undefined) return undefined;
    if (entry.principal.exp * 1000 > Date.now() && this.#isPublished(entry.kid)) return entry.principal;
    this.#cache?.delete(token);
    return undefined;
  }

  /** Verifies (once for concurrent requests carrying the same token) and remembers the result. */
  verify(token: string): Promise<Principal> {
    let pending = this.#pending.get(token);
    if (pending) return pending;
    pending = this.#verifier.verify(token).then(
      (principal) => {
        this.#pending.delete(token);
        const ttl = principal.exp * 1000 - Date.now();
        if (ttl > 0) this.#cache?.set(token, { principal, kid: keyId(token) }, { ttl });
        return principal;
      },
      (error: unknown) => {
        this.#pending.delete(token);
        throw error;
      },
    );
    this.#pending.set(token, pending);
    return pending;
  }
}

export interface EdgeAuthOptions {
  tokens: VerifiedTokenCache;
}

/**
 * Auth at the edge, in two steps. On every request (onRequest) a bearer token, if any, is verified
 * and the caller becomes `request.principal`, so the rate limiter can count per user. Then, before
 * the body is read (preParsing), a request to a route that is not public and has no valid token is
 * answered 401 with `WWW-Authenticate: Bearer`; no service sees it. The `Authorization` header
 * itself still goes upstream: services verify tokens again and trust no identity from the gateway.
 */
export const edgeAuth = fp(
  async (app: FastifyInstance, options: EdgeAuthOptions) => {
    const { tokens } = options;
    app.decorateRequest('principal', undefined);
    app.decorateRequest('tokenError', null);

    app.addHook('onRequest', (request, _reply, done) => {
      const header = request.headers.authorization;
      if (header === undefined) return done();
      const token = bearerToken(header);
      if (!token) {
        request.tokenError = unauthorized(
          'INVALID_TOKEN',
          'The Authorization header must be "Bearer <token>"',
        );
        return done();
      }
      const known = tokens.get(token);
      if (known) {
        request.principal = known;
        return done();
      }
      tokens.verify(token).then(
        (principal) => {
          request.principal = principal;
          done();
        },
        (error: unknown) => {
          request.tokenError =
            error instanceof ApiError ? error : new ApiError('INTERNAL_ERROR', { message: String(error) });
          done();
        },
      );
    });

    app.addHook('preParsing', (request, _reply, payload, done) => {
      const principal = request.principal;
      // An admin-only operation refuses a member here, before anything reads or checks its input:
      // a refusal must not teach how to call what the caller may not use.
      if (
        principal &&
        !principal.isAdmin &&
        request.api &&
        accessOf(request.method, request.api.path) === 'admin'
      )
        return done(new ApiError('FORBIDDEN'), payload);
      if (principal || isPublic(request)) return done(null, payload);
      done(request.tokenError ?? unauthorized('UNAUTHORIZED'), payload);
    });
  },
  { name: 'gateway-edge-auth', dependencies: ['gateway-versioning'] },
);

function keyId(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

function isPublic(request: FastifyRequest): boolean {
  const config = request.routeOptions.config;
  if (config.public === true) return true;
  // Unknown paths get their 404 (and wrong methods their 405) whoever asks.
  if (request.routeOptions.url === undefined) return true;
  // CORS preflights carry no credentials by design.
  if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined)
    return true;
  const api = request.api;
  return api !== null && isPublicRoute(request.method, api.path);
}
