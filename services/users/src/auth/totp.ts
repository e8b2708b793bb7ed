import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { totpPeriodSeconds, totpWindow } from '../domain/mfa.ts';

/** RFC 6238 with the parameters every authenticator app supports: SHA-1, 6 digits, 30 s. */
function totp(secret: string, label = 'account', issuer = 'Armature'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: totpPeriodSeconds,
    secret: Secret.fromBase32(secret),
  });
}

/** A new secret (160 random bits, base32) and its `otpauth://` URI. */
export function newTotpSecret(label: string, issuer: string): { secret: string; uri: string } {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, uri: totp(secret, label, issuer).toString() };
}

/** The 30-second step at which `code` matches `secret` around `now`, or undefined. */
export function matchTotp(secret: string, code: string, now: Date): number | undefined {
  const delta = totp(secret).validate({ token: code, timestamp: now.getTime(), window: totpWindow });
  if (delta === null) return undefined;
  return Math.floor(now.getTime() / 1000 / totpPeriodSeconds) + delta;
}

const base32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Ten recovery codes of 80 random bits each (`abcd-efgh-ijkl-mnop`), and their hashes. */
export function newRecoveryCodes(count = 10): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: count }, () => {
    const bytes = randomBytes(16);
    const characters = [...bytes].map((byte) => base32[byte % 32]).join('');
    return characters.match(/.{4}/g)!.join('-');
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/** SHA-256 suffices: 80 random bits leave nothing to guess offline. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

/** A sign-in challenge: `mfa_` + 256 random bits; only its hash is stored. */
export function newChallengeToken(): { token: string; hash: string } {
  const token = `mfa_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashChallengeToken(token) };
}

export function hashChallengeToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
