import { describe, expect, it } from 'vitest';
import { hashApiKey, keyAccepts, looksLikeApiKey, newApiKeySecret, type StoredKey } from './api-keys.ts';

const now = new Date('2026-12-05T12:00:00Z');
const later = (seconds: number) => new Date(now.getTime() + seconds * 1000);

function stored(overrides: Partial<StoredKey> = {}): { key: StoredKey; secret: string } {
  const { key: secret, hash } = newApiKeySecret();
  return {
    secret,
    key: {
      key_hash: hash,
      previous_hash: null,
      previous_expires_at: null,
      expires_at: null,
      revoked_at: null,
      ...overrides,
    },
  };
}

describe('API key secrets', () => {
  it('are `ak_` and 256 random bits, shown with a prefix of ten characters, stored as SHA-256', () => {
    const { key, hash, prefix } = newApiKeySecret();
    expect(looksLikeApiKey(key)).toBe(true);
    expect(prefix).toBe(key.slice(0, 10));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(key.slice(3));
    expect(newApiKeySecret().key).not.toBe(key);
    expect(looksLikeApiKey('tok_abc')).toBe(false);
    expect(looksLikeApiKey(`${key}x`)).toBe(false);
  });

  it('open their key, and a secret one character off does not', () => {
    const { key, secret } = stored();
    expect(keyAccepts(key, hashApiKey(secret), now)).toBe(true);
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    expect(keyAccepts(key, hashApiKey(`${secret.slice(0, -1)}${last}`), now)).toBe(false);
  });

  it('compare whole digests: a digest of another length or shape is refused, not an error', () => {
    const { key, secret } = stored();
    const hash = hashApiKey(secret);
    expect(keyAccepts(key, hash.slice(0, 32), now)).toBe(false);
    expect(keyAccepts(key, `${hash}00`, now)).toBe(false);
    expect(keyAccepts(key, '', now)).toBe(false);
  });

  it('keep the previous secret of a rotation only during its grace, and nothing once revoked or expired', () => {
    const previous = newApiKeySecret();
    const { key, secret } = stored({ previous_hash: previous.hash, previous_expires_at: later(60) });
    expect(keyAccepts(key, previous.hash, now)).toBe(true);
    expect(keyAccepts(key, previous.hash, later(61))).toBe(false);
    expect(keyAccepts(key, hashApiKey(secret), later(61))).toBe(true);

    expect(keyAccepts({ ...key, revoked_at: now }, hashApiKey(secret), now)).toBe(false);
    expect(keyAccepts({ ...key, revoked_at: now }, previous.hash, now)).toBe(false);
    expect(keyAccepts({ ...key, expires_at: later(10) }, hashApiKey(secret), later(9))).toBe(true);
    expect(keyAccepts({ ...key, expires_at: later(10) }, hashApiKey(secret), later(10))).toBe(false);
  });
});
