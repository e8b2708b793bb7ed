/** Rules of two-factor sign-in: pure functions and the refusals they raise. */

/** Wrong codes a sign-in challenge takes before it is dead (the password must be given again). */
export const maxChallengeFailures = 5;
/** TOTP codes are accepted one step (30 s) early or late, for clocks that drift. */
export const totpWindow = 1;
export const totpPeriodSeconds = 30;

/** A wrong, reused or expired code, or a sign-in challenge that is unknown, spent or dead. */
export class InvalidMfaCodeError extends Error {
  constructor() {
    super('The code is wrong, was already used, or the sign-in has expired');
    this.name = 'InvalidMfaCodeError';
  }
}

/** An enrolment asked while two-factor sign-in is already on, or a confirmation with nothing to confirm. */
export class MfaStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MfaStateError';
  }
}

/** A recovery code looks like `abcd-efgh-ijkl-mnop` (base32); an app code is 6 digits. */
export function isRecoveryCode(code: string): boolean {
  return /^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/.test(code);
}

/**
 * Whether a TOTP code matched at `step` may be accepted after `lastUsedStep`: a code (and any earlier
 * one) is accepted once, so a code seen over a shoulder or replayed from a log is worthless.
 */
export function totpStepAcceptable(step: number, lastUsedStep: number): boolean {
  return step > lastUsedStep;
}

export interface ChallengeState {
  expiresAt: Date;
  usedAt: Date | null;
  failures: number;
}

/** Whether a sign-in challenge may still take a code at `now`. */
export function challengeOpen(challenge: ChallengeState | undefined, now: Date): challenge is ChallengeState {
  return (
    challenge !== undefined &&
    challenge.usedAt === null &&
    challenge.failures < maxChallengeFailures &&
    challenge.expiresAt.getTime() > now.getTime()
  );
}
