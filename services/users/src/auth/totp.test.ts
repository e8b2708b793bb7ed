import { describe, expect, it } from 'vitest';
import { hashRecoveryCode, matchTotp, newRecoveryCodes, newTotpSecret } from './totp.ts';

/** RFC 6238 appendix B: the SHA-1 key "12345678901234567890", here in base32. */
const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP', () => {
  it('matches the RFC 6238 test vectors (the last 6 of their 8 digits) at their step', () => {
    expect(matchTotp(rfcSecret, '287082', new Date(59_000))).toBe(1);
    expect(matchTotp(rfcSecret, '081804', new Date(1_111_111_109_000))).toBe(37_037_036);
    expect(matchTotp(rfcSecret, '050471', new Date(1_111_111_111_000))).toBe(37_037_037);
  });

  it('accepts a code one step early or late, and names the step it belongs to', () => {
    expect(matchTotp(rfcSecret, '287082', new Date(89_000))).toBe(1);
    expect(matchTotp(rfcSecret, '287082', new Date(150_000))).toBeUndefined();
    expect(matchTotp(rfcSecret, '000000', new Date(59_000))).toBeUndefined();
  });

  it('makes a 160-bit base32 secret and an otpauth:// URI naming the issuer and account', () => {
    const { secret, uri } = newTotpSecret('ada@example.com', 'Armature');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(uri).toMatch(/^otpauth:\/\/totp\/Armature:ada%40example\.com\?/);
    expect(uri).toContain(`secret=${secret}`);
  });

  it('makes ten distinct recovery codes and stores only their hashes', () => {
    const { codes, hashes } = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    expect(hashes).toEqual(codes.map(hashRecoveryCode));
    expect(hashes.some((hash, i) => hash.includes(codes[i]!))).toBe(false);
  });
});
