import { describe, expect, it } from 'vitest';
import { challengeOpen, isRecoveryCode, maxChallengeFailures, totpStepAcceptable } from './mfa.ts';

const now = new Date('2026-01-15T10:30:00Z');
const later = new Date('2026-01-15T10:35:00Z');

describe('two-factor rules', () => {
  it('tell a recovery code from an app code', () => {
    expect(isRecoveryCode('abcd-efgh-ijkl-mn23')).toBe(true);
    expect(isRecoveryCode('123456')).toBe(false);
    expect(isRecoveryCode('ABCD-EFGH-IJKL-MNOP')).toBe(false);
  });

  it('accept a TOTP step only after the last one used', () => {
    expect(totpStepAcceptable(101, 100)).toBe(true);
    expect(totpStepAcceptable(100, 100)).toBe(false);
    expect(totpStepAcceptable(99, 100)).toBe(false);
  });

  it('keep a challenge open until it is used, expired or has taken too many wrong codes', () => {
    const open = { expiresAt: later, usedAt: null, failures: 0 };
    expect(challengeOpen(open, now)).toBe(true);
    expect(challengeOpen(undefined, now)).toBe(false);
    expect(challengeOpen({ ...open, usedAt: now }, now)).toBe(false);
    expect(challengeOpen({ ...open, expiresAt: now }, now)).toBe(false);
    expect(challengeOpen({ ...open, failures: maxChallengeFailures - 1 }, now)).toBe(true);
    expect(challengeOpen({ ...open, failures: maxChallengeFailures }, now)).toBe(false);
  });
});
