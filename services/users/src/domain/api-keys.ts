import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** How many keys a user may hold at once (revoked ones do not count). */
export const maxApiKeysPerUser = 100;
/** How long a rotated-out secret keeps working unless the rotation says otherwise. */
export const defaultRotationGraceSeconds = 24 * 60 * 60;
/** The plan of a key created without one. */
export const defaultPlan = 'default';

/** A new secret: `ak_` + 256 random bits (base64url); its hash and the prefix shown in lists. */
export function newApiKeySecret(): { key: string; hash: string; prefix: string } {
  const key = `ak_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/** SHA-256 of the secret: the secret is 256 random bits, so a slow hash would add nothing. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether a string has the shape of a key secret (anything else is refused before a lookup). */
export function looksLikeApiKey(key: string): boolean {
  return /^ak_[A-Za-z0-9_-]{43}$/.test(key);
}

export class ApiKeyLimitError extends Error {}
export class ApiKeyNotFoundError extends Error {}
export class ApiKeyExpiryInPastError extends Error {}

export interface StoredKey {
  key_hash: string;
  previous_hash: string | null;
  previous_expires_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/**
 * Whether a presented secret (by its hash) opens this key now: the current secret, or the previous
 * one within its grace; never a revoked or expired key. Hashes are compared in constant time.
 */
export function keyAccepts(key: StoredKey, hash: string, now: Date): boolean {
  if (key.revoked_at !== null) return false;
  if (key.expires_at !== null && key.expires_at.getTime() <= now.getTime()) return false;
  if (sameHash(key.key_hash, hash)) return true;
  return (
    key.previous_hash !== null &&
    key.previous_expires_at !== null &&
    key.previous_expires_at.getTime() > now.getTime() &&
    sameHash(key.previous_hash, hash)
  );
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
