/**
 * Rules of the account flows (password change and reset, email verification, sessions): pure
 * functions and the refusals they raise. `http/` maps each refusal to its error code.
 */

/** The current password given to change it is wrong. */
export class WrongPasswordError extends Error {
  constructor() {
    super('The current password is incorrect');
    this.name = 'WrongPasswordError';
  }
}

/** A link's token is unknown, already used, expired, or no longer matches its account. */
export class InvalidLinkTokenError extends Error {
  constructor() {
    super('This link is invalid, has expired or was already used');
    this.name = 'InvalidLinkTokenError';
  }
}

/** A verification mail was asked for an address that is already verified. */
export class EmailAlreadyVerifiedError extends Error {
  constructor() {
    super('This email address is already verified');
    this.name = 'EmailAlreadyVerifiedError';
  }
}

/** A password may be changed only by its owner (an admin neither knows nor needs it). */
export class NotOwnPasswordError extends Error {
  constructor() {
    super('Only the owner of an account changes its password');
    this.name = 'NotOwnPasswordError';
  }
}

/** The session does not exist, is not the user's, or has already ended. */
export class SessionNotFoundError extends Error {
  constructor() {
    super('No such active session');
    this.name = 'SessionNotFoundError';
  }
}

export interface LinkTokenState {
  expiresAt: Date;
  usedAt: Date | null;
  /** The address the mail went to. */
  email: string;
}

/**
 * Whether a link's token may still be spent: not used, not expired at `now`, and (for a token tied to
 * an address) sent to the account's current address, so a link mailed before a change of email stops
 * working. Throws `InvalidLinkTokenError` otherwise.
 */
export function assertLinkTokenUsable(
  token: LinkTokenState | undefined,
  account: { email: string } | undefined,
  now: Date,
): asserts token is LinkTokenState {
  if (!token || !account) throw new InvalidLinkTokenError();
  if (token.usedAt !== null) throw new InvalidLinkTokenError();
  if (token.expiresAt.getTime() <= now.getTime()) throw new InvalidLinkTokenError();
  if (token.email.toLowerCase() !== account.email.toLowerCase()) throw new InvalidLinkTokenError();
}

/** When a session began: its id is a UUIDv7, whose first 48 bits are the login's Unix milliseconds. */
export function sessionStartedAt(familyId: string): Date {
  return new Date(Number.parseInt(familyId.replaceAll('-', '').slice(0, 12), 16));
}
