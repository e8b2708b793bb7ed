import { ApiError, bearerToken, type Principal, type TokenVerifier, unauthorized } from '@armature/platform';
import { growingLru } from '@armature/platform/lru';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { LRUCache } from 'lru-cache';
import { type ApiKeyExchange, type ExchangedKey, isApiKey } from './api-keys.ts';
import { accessOf, isPublicRoute, scopeOf } from './routes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the request's token was refused (kept until the route turns out to need one). */
    tokenError: ApiError | null;
    /** The API key the caller authenticated with, if any (its scopes limit what it may call). */
    apiKey: ExchangedKey | undefined;
  }
}

interface Remembered {
  principal: Principal;
  /** The signing key's id: the token is trusted only while that key is published. */
  kid: string | undefined;
  /** An API key's scopes, for a token issued in exchange for a key (its `scp` claim). */
  scopes: ExchangedKey | undefined;
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
    this.#cache = size > 0 ? growingLru(size) : undefined;
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

  /**
   * The scopes of a token issued for an API key (undefined for a login's token): a client that
   * exchanged its key itself stays within the key's scopes.
   */
  scopesOf(token: string): ExchangedKey | undefined {
    const entry = this.#cache?.get(token);
    return entry ? entry.scopes : keyScopes(token);
  }

  /** Verifies (once for concurrent requests carrying the same token) and remembers the result. */
  verify(token: string): Promise<Principal> {
    let pending = this.#pending.get(token);
    if (pending) return pending;
    pending = this.#verifier.verify(token).then(
      (principal) => {
        this.#pending.delete(token);
        const ttl = principal.exp * 1000 - Date.now();
        if (ttl > 0)
          this.#cache?.set(token, { principal, kid: keyId(token), scopes: keyScopes(token) }, { ttl });
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
  /** API keys (`X-API-Key: ak_…` or `Authorization: Bearer ak_…`), exchanged for access tokens. */
  apiKeys?: ApiKeyExchange;
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
    const { tokens, apiKeys } = options;
    app.decorateRequest('principal', undefined);
    app.decorateRequest('tokenError', null);
    app.decorateRequest('apiKey', undefined);

    const fail = (request: FastifyRequest, error: unknown) => {
      request.tokenError =
        error instanceof ApiError ? error : new ApiError('INTERNAL_ERROR', { message: String(error) });
    };

    app.addHook('onRequest', (request, _reply, done) => {
      const header = request.headers.authorization;
      const headerKey = request.headers['x-api-key'];
      const bearer = header === undefined ? undefined : bearerToken(header);
      const key =
        typeof headerKey === 'string' ? headerKey.trim() : bearer && isApiKey(bearer) ? bearer : undefined;
      if (key !== undefined && apiKeys) {
        // The key becomes a short access token for the services; the secret goes no further.
        const known = apiKeys.known(key);
        const principal = known && tokens.get(known.accessToken);
        if (known && principal) {
          request.principal = principal;
          request.apiKey = known;
          request.headers.authorization = `Bearer ${known.accessToken}`;
          return done();
        }
        apiKeys
          .exchange(key)
          .then(async (exchanged) => {
            request.principal =
              tokens.get(exchanged.accessToken) ?? (await tokens.verify(exchanged.accessToken));
            request.apiKey = exchanged;
            request.headers.authorization = `Bearer ${exchanged.accessToken}`;
          })
          .catch((error: unknown) => fail(request, error))
          .finally(() => done());
        return;
      }
      if (header === undefined) return done();
      const token = bearer;
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
        request.apiKey = tokens.scopesOf(token);
        return done();
      }
      tokens.verify(token).then(
        (principal) => {
          request.principal = principal;
          request.apiKey = tokens.scopesOf(token);
          done();
        },
        (error: unknown) => {
          fail(request, error);
          done();
        },
      );
    });

    app.addHook('preParsing', (request, _reply, payload, done) => {
      const principal = request.principal;
      // A key calls only what its scopes allow, whatever its user may do.
      const apiKey = request.apiKey;
      if (principal && apiKey && request.api) {
        const scope = scopeOf(request.method, request.api.path);
        if (scope !== undefined && !apiKey.scopes.has(scope)) {
          return done(
            new ApiError('INSUFFICIENT_SCOPE', { message: `This API key lacks the scope ${scope}` }),
            payload,
          );
        }
      }
      // An admin-only operation refuses a member here, before anything reads or checks its input:
      // a refusal must not teach how to call what the caller may not use.
      if (
        principal &&
        !principal.isAdmin &&
        // The gateway's own admin operations (the console's) declare their access on the route.
        (request.routeOptions.config.access === 'admin' ||
          (request.api && accessOf(request.method, request.api.path) === 'admin'))
      )
        return done(new ApiError('FORBIDDEN'), payload);
      if (principal || isPublic(request)) return done(null, payload);
      done(request.tokenError ?? unauthorized('UNAUTHORIZED'), payload);
    });
  },
  { name: 'gateway-edge-auth', dependencies: ['gateway-versioning'] },
);

function keyScopes(token: string): ExchangedKey | undefined {
  try {
    const { scp, akid } = decodeJwt(token);
    if (typeof scp !== 'string' || typeof akid !== 'string') return undefined;
    return { accessToken: token, keyId: akid, scopes: new Set(scp.split(' ').filter(Boolean)), plan: '' };
  } catch {
    return undefined;
  }
}

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
