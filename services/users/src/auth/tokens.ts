import { createHash, randomBytes } from 'node:crypto';
import { toPublicId } from '@armature/platform';
import { SignJWT } from 'jose';
import type { Role } from '../db/schema.ts';
import type { SigningKeys } from './signing-keys.ts';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export interface TokenSubject {
  /** The user's UUID. */
  id: string;
  email: string;
  role: Role;
  /** The session (refresh-token family, UUID) the token belongs to: its `sid` claim (`ses_…`). */
  sessionId?: string;
}

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
}

/**
 * Access tokens: EdDSA JWTs of `accessTokenTtlSeconds`, with `sub` (the `usr_…` id), `email`,
 * `roles`, `iat`, `exp`, `iss`, `aud`, and the signing key's `kid` in the header.
 */
export class AccessTokens {
  readonly #keys: SigningKeys;
  readonly #settings: TokenSettings;

  constructor(keys: SigningKeys, settings: TokenSettings) {
    this.#keys = keys;
    this.#settings = settings;
  }

  get settings(): TokenSettings {
    return this.#settings;
  }

  /** `extra` adds claims (an API key's `scp` and `akid`) and may shorten the lifetime. */
  async issue(
    subject: TokenSubject,
    extra: { claims?: Record<string, unknown>; ttlSeconds?: number } = {},
  ): Promise<IssuedTokens> {
    const { kid, key } = await this.#keys.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const ttl = extra.ttlSeconds ?? this.#settings.accessTokenTtlSeconds;
    const claims = {
      email: subject.email,
      roles: [subject.role],
      ...(subject.sessionId ? { sid: toPublicId('session', subject.sessionId) } : {}),
      ...extra.claims,
    };
    const accessToken = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
      .setSubject(toPublicId('user', subject.id))
      .setIssuer(this.#settings.issuer)
      .setAudience(this.#settings.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(key);
    return { accessToken, expiresIn: ttl };
  }
}

/** A new opaque refresh token: `tok_` + 256 random bits. Only its hash is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = `tok_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashRefreshToken(token) };
}

/** SHA-256 is enough here: the token is 256 random bits, so there is nothing to brute-force. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
