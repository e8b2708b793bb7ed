import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export interface SigningKey {
  kid: string;
  privateKey: PrivateKey;
  /** The public half, as the users service publishes it in its JWKS. */
  jwk: JWK;
}

/** An Ed25519 key like the users service's, for tests that need tokens before or without it. */
export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, jwk };
}

export interface TokenClaims {
  sub?: string;
  email?: string;
  roles?: string[];
  issuer?: string;
  audience?: string;
  /** Seconds from now (negative: already expired). */
  expiresIn?: number;
}

/** An access token shaped as the users service issues them. */
export function signToken(key: SigningKey, claims: TokenClaims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: claims.email ?? 'member@example.com', roles: claims.roles ?? ['member'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
    .setSubject(claims.sub ?? `usr_${randomUUID().replaceAll('-', '').slice(0, 26)}`)
    .setIssuer(claims.issuer ?? 'armature')
    .setAudience(claims.audience ?? 'armature-api')
    .setIssuedAt(now - 1)
    .setExpirationTime(now + (claims.expiresIn ?? 900))
    .setJti(randomUUID())
    .sign(key.privateKey);
}
