import { randomUUID } from 'node:crypto';
import { newUuid, toPublicId } from '@armature/platform';
import { exportJWK, generateKeyPair, type JWTVerifyGetKey, SignJWT } from 'jose';

/** Issuer and audience as the common configuration defaults them. */
export const testIssuer = 'armature';
export const testAudience = 'armature-api';

export interface TestUser {
  /** Public id, the token's `sub`. */
  id: string;
  email: string;
  token: string;
}

export interface TokenMinter {
  /** A key getter for `createTokenVerifier({ jwks })`: the public half of the minter's key. */
  getKey: JWTVerifyGetKey;
  /** The public key as a JWKS document. */
  jwks: { keys: object[] };
  /** Signs an access token the way the users service does (EdDSA, `kid`, 15 minutes). */
  sign(
    claims: { sub: string; email: string; roles: string[] },
    options?: { expiresIn?: string },
  ): Promise<string>;
  /** A fresh member (or admin) with a signed token. */
  user(roles?: Array<'member' | 'admin'>): Promise<TestUser>;
}

/** An Ed25519 key pair standing in for the users service's signing key. */
export async function createTokenMinter(): Promise<TokenMinter> {
  const kid = randomUUID();
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const sign: TokenMinter['sign'] = (claims, options = {}) =>
    new SignJWT({ email: claims.email, roles: claims.roles })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .setSubject(claims.sub)
      .setIssuer(testIssuer)
      .setAudience(testAudience)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '15m')
      .sign(privateKey);
  return {
    getKey: async () => publicKey,
    jwks: { keys: [jwk] },
    sign,
    async user(roles = ['member']) {
      const id = toPublicId('user', newUuid());
      const email = `${id}@example.com`;
      return { id, email, token: await sign({ sub: id, email, roles }) };
    },
  };
}
