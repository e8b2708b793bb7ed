import { generateKeyPair, type JWTVerifyGetKey, errors as joseErrors, SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTokenVerifier } from './verifier.ts';

const { publicKey, privateKey } = await generateKeyPair('EdDSA');

function sign(expiresIn: string) {
  return new SignJWT({ email: 'ada@example.com', roles: ['member'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
    .setSubject('usr_01h455vb4pex5vsknk084sn02q')
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .setIssuer('armature')
    .setAudience('armature-api')
    .sign(privateKey);
}

/** A key getter whose key can be withdrawn, counting the lookups. */
function keys() {
  const state = { published: true, lookups: 0 };
  const getKey: JWTVerifyGetKey = async () => {
    state.lookups++;
    if (!state.published) throw new joseErrors.JWKSNoMatchingKey();
    return publicKey;
  };
  return { state, getKey };
}

describe('the verified-token cache', () => {
  afterEach(() => vi.useRealTimers());

  it('answers a token verified before with the same principal', async () => {
    const { getKey } = keys();
    const verifier = createTokenVerifier({ jwks: getKey, issuer: 'armature', audience: 'armature-api' });
    const token = await sign('15m');
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toEqual(first);
    expect(first.userId).toBe('usr_01h455vb4pex5vsknk084sn02q');
  });

  it('refuses a remembered token once the key that signed it is withdrawn', async () => {
    const { state, getKey } = keys();
    const verifier = createTokenVerifier({ jwks: getKey, issuer: 'armature', audience: 'armature-api' });
    const token = await sign('15m');
    await verifier.verify(token);
    state.published = false;
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('refuses a remembered token past its expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { getKey } = keys();
    const verifier = createTokenVerifier({ jwks: getKey, issuer: 'armature', audience: 'armature-api' });
    const token = await sign('2m');
    await verifier.verify(token);
    vi.setSystemTime(Date.now() + 3 * 60_000);
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('checks every time when the cache is off', async () => {
    const { state, getKey } = keys();
    const verifier = createTokenVerifier({
      jwks: getKey,
      issuer: 'armature',
      audience: 'armature-api',
      cacheSize: 0,
    });
    const token = await sign('15m');
    await verifier.verify(token);
    await verifier.verify(token);
    expect(state.lookups).toBe(2);
  });
});
