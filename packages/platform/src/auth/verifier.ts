import { createRemoteJWKSet, type JWTVerifyGetKey, errors as joseErrors, jwtVerify } from 'jose';
import { ApiError } from '../errors.ts';

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
  /** The users service's JWKS URL, or a key getter (tests, the users service itself). */
  jwks: string | JWTVerifyGetKey;
  issuer: string;
  audience: string;
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
  const getKey =
    typeof options.jwks === 'string'
      ? createRemoteJWKSet(new URL(options.jwks), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 })
      : options.jwks;
  return {
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, getKey, {
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
        return {
          userId: payload.sub,
          email: payload.email,
          roles,
          exp: payload.exp!,
          isAdmin: roles.includes('admin'),
        };
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

function isRole(value: unknown): value is Role {
  return value === 'member' || value === 'admin';
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  return match?.[1];
}
