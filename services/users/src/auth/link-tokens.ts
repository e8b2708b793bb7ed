import { createHash, randomBytes } from 'node:crypto';

/**
 * A token for a mailed link (password reset, email verification): 256 random bits, base64url (43
 * characters). Only its SHA-256 is stored: with that much entropy there is nothing to brute-force,
 * and a leaked database holds no usable link.
 */
export function newLinkToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashLinkToken(token) };
}

export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
