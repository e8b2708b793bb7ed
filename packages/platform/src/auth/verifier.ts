import {
  createRemoteJWKSet,
  customFetch,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { ApiError } from '../errors.ts';
import { growingLru } from '../lru.ts';

export type Role = 'member' | 'admin';

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** Public user id (`usr_…`), the token's `sub`. */
  userId: string;
  email: string;
  roles: Role[];
  /** Expiry, unix seconds. */
  exp: number;
  isAdmin: boolean;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

export interface VerifierOptions {
  /**
   * The users service's JWKS URL, or one per instance (tried in turn, so one instance down does not
   * stop verification), or a key getter (tests, the users service itself).
   */
  jwks: string | string[] | JWTVerifyGetKey;
  issuer: string;
  audience: string;
  /**
   * Verified tokens remembered, so a caller's next request skips the signature check (default
   * 10,000; 0 turns it off). An entry is never used past the token's `exp`, nor once the key that
   * signed it is no longer published.
   */
  cacheSize?: number;
}

interface VerifiedToken {
  principal: Principal;
  header: Parameters<JWTVerifyGetKey>[0];
  input: FlattenedJWSInput;
}

/** Only asymmetric algorithms: `none` and HMAC (a public key used as a shared secret) are refused. */
const algorithms = ['EdDSA', 'ES256'];

export function unauthorized(code: 'UNAUTHORIZED' | 'INVALID_TOKEN', message?: string): ApiError {
  const challenge = code === 'INVALID_TOKEN' ? 'Bearer error="invalid_token"' : 'Bearer';
  return new ApiError(code, { message, headers: { 'www-authenticate': challenge } });
}

/**
 * Verifies access tokens: signature against the JWKS (cached by jose, refetched on an unknown `kid`
 * at most every 30 s), expiry, issuer and audience, and the claims we rely on.
 */
export function createTokenVerifier(options: VerifierOptions): TokenVerifier {
  const getKey = typeof options.jwks === 'function' ? options.jwks : remoteKeys(options.jwks);
  const size = options.cacheSize ?? 10_000;
  const verified = size > 0 ? growingLru<string, VerifiedToken>(size) : undefined;

  /** A token verified before, not expired, whose key is still published; else undefined. */
  async function remembered(token: string): Promise<Principal | undefined> {
    const entry = verified?.get(token);
    if (!entry) return undefined;
    if (entry.principal.exp * 1000 > Date.now()) {
      try {
        // A key lookup (a map read for a known key id), not a signature check.
        await getKey(entry.header, entry.input);
        return entry.principal;
      } catch {
        // The key is gone: verify in full, which refuses the token.
      }
    }
    verified?.delete(token);
    return undefined;
  }

  return {
    async verify(token) {
      const known = await remembered(token);
      if (known) return known;
      try {
        const { payload, protectedHeader } = await jwtVerify(token, getKey, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          requiredClaims: ['sub', 'exp', 'iat'],
          clockTolerance: 5,
        });
        const roles = Array.isArray(payload.roles) ? (payload.roles.filter(isRole) as Role[]) : [];
        if (typeof payload.sub !== 'string' || typeof payload.email !== 'string' || roles.length === 0) {
          throw unauthorized('INVALID_TOKEN', 'The access token lacks required claims');
        }
        if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + 5) {
          throw unauthorized('INVALID_TOKEN', 'The access token was issued in the future');
        }
        const principal: Principal = {
          userId: payload.sub,
          email: payload.email,
          roles,
          exp: payload.exp!,
          isAdmin: roles.includes('admin'),
        };
        const ttl = principal.exp * 1000 - Date.now();
        if (verified && ttl > 0) {
          const [header = '', body = '', signature = ''] = token.split('.');
          verified.set(
            token,
            { principal, header: protectedHeader, input: { protected: header, payload: body, signature } },
            { ttl },
          );
        }
        return principal;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (error instanceof joseErrors.JWTExpired)
          throw unauthorized('INVALID_TOKEN', 'The access token has expired');
        if (error instanceof joseErrors.JOSEError) throw unauthorized('INVALID_TOKEN');
        // The JWKS could not be fetched: not the caller's fault.
        throw new ApiError('SERVICE_UNAVAILABLE', { message: 'Token keys are unavailable; retry shortly' });
      }
    },
  };
}

/**
 * The JWKS of the users service, fetched by jose (cached, refetched on an unknown `kid` at most every
 * 30 s) from the first of its instances that answers, starting with the one that answered last.
 */
function remoteKeys(urls: string | string[]): JWTVerifyGetKey {
  const all = typeof urls === 'string' ? [urls] : urls;
  if (all.length === 0) throw new Error('no JWKS URL to verify tokens with');
  let preferred = 0;
  return createRemoteJWKSet(new URL(all[0]!), {
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    [customFetch]: async (_url, init) => {
      let lastError: unknown;
      for (let i = 0; i < all.length; i++) {
        const index = (preferred + i) % all.length;
        try {
          const response = await fetch(all[index]!, init);
          if (!response.ok) {
            lastError = new Error(`${all[index]} answered ${response.status}`);
            await response.body?.cancel();
            continue;
          }
          preferred = index;
          return response;
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
  });
}

function isRole(value: unknown): value is Role {
  return value === 'member' || value === 'admin';
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  return match?.[1];
}
