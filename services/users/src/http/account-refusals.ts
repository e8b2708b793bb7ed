import { ApiError } from '@armature/platform';
import {
  EmailAlreadyVerifiedError,
  InvalidLinkTokenError,
  NotOwnPasswordError,
  SessionNotFoundError,
  WrongPasswordError,
} from '../domain/accounts.ts';
import { InvalidMfaCodeError, MfaStateError } from '../domain/mfa.ts';

/** Maps the refusals of the account flows to the error envelope; anything else passes through. */
export function accountRefusal(error: unknown): unknown {
  if (error instanceof WrongPasswordError) {
    return new ApiError('INVALID_CREDENTIALS', {
      message: 'The current password is incorrect',
      headers: { 'www-authenticate': 'Bearer' },
      details: [{ field: 'currentPassword', message: 'is incorrect' }],
    });
  }
  if (error instanceof InvalidLinkTokenError) {
    return new ApiError('INVALID_LINK_TOKEN', { details: [{ field: 'token', message: error.message }] });
  }
  if (error instanceof InvalidMfaCodeError) {
    return new ApiError('INVALID_MFA_CODE', { headers: { 'www-authenticate': 'Bearer' } });
  }
  if (error instanceof MfaStateError) return new ApiError('CONFLICT', { message: error.message });
  if (error instanceof EmailAlreadyVerifiedError) return new ApiError('EMAIL_ALREADY_VERIFIED');
  if (error instanceof NotOwnPasswordError) return new ApiError('FORBIDDEN', { message: error.message });
  if (error instanceof SessionNotFoundError) return new ApiError('NOT_FOUND', { message: error.message });
  return error;
}

/** Runs a route's work, turning account refusals into API errors. */
export async function refusing<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw accountRefusal(error);
  }
}
