import { type Static, Type } from '@sinclair/typebox';
import { MfaChallengeToken, TokenPair } from './auth.ts';
import { ListOf, listQueryProperties, PublicId, Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';
import { Email, Password, UserIdOrMeParams } from './users.ts';

/**
 * A single-use token from a mail (password reset, email verification): 256 random bits, base64url.
 * Only its hash is stored; it arrives as the `token=` query parameter of the mail's link.
 */
export const MailToken = Type.String({
  pattern: '^[A-Za-z0-9_-]{43}$',
  maxLength: 43,
  writeOnly: true,
  description: 'The `token` parameter of the link in the mail',
});

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 128, writeOnly: true }),
    newPassword: Password,
  },
  { title: 'ChangePasswordBody', additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const PasswordResetBody = Type.Object(
  { email: Email },
  { title: 'PasswordResetBody', additionalProperties: false },
);
export type PasswordResetBody = Static<typeof PasswordResetBody>;

export const PasswordResetConfirmBody = Type.Object(
  { token: MailToken, newPassword: Password },
  { title: 'PasswordResetConfirmBody', additionalProperties: false },
);
export type PasswordResetConfirmBody = Static<typeof PasswordResetConfirmBody>;

export const VerifyEmailBody = Type.Object(
  { token: MailToken },
  { title: 'VerifyEmailBody', additionalProperties: false },
);
export type VerifyEmailBody = Static<typeof VerifyEmailBody>;

/** One login of a user (a refresh-token family), as its owner sees it. */
export const Session = Type.Object(
  {
    id: PublicId('ses'),
    createdAt: Timestamp,
    lastUsedAt: { ...Timestamp, description: 'The last time it was refreshed (or the login itself)' },
    expiresAt: { ...Timestamp, description: 'When its current refresh token expires' },
    userAgent: Type.Union([Type.String({ maxLength: 512, pattern: '^[^\\u0000-\\u001f]*$' }), Type.Null()]),
    address: Type.Union([
      Type.String({
        maxLength: 64,
        pattern: '^[0-9A-Fa-f.:]+$',
        description: 'The client address the gateway saw at login',
      }),
      Type.Null(),
    ]),
    current: Type.Boolean({ description: 'Whether the access token of this request belongs to it' }),
  },
  { $id: 'Session', title: 'Session', additionalProperties: false },
);
export type Session = Static<typeof Session>;

export const SessionList = ListOf(Session);
export type SessionList = Static<typeof SessionList>;

/** Newest first; no filters, sorts or field selection of its own. */
export const ListSessionsQuery = Type.Object(
  { page: listQueryProperties.page, limit: listQueryProperties.limit, cursor: listQueryProperties.cursor },
  { additionalProperties: false },
);
export type ListSessionsQuery = Static<typeof ListSessionsQuery>;

export const SessionParams = Type.Object(
  {
    id: UserIdOrMeParams.properties.id,
    sessionId: Type.String({
      maxLength: 64,
      description: 'A `ses_…` id',
      examples: ['ses_01h455vb4pex5vsknk084sn02q'],
    }),
  },
  { additionalProperties: false },
);

export const accountsOperations = defineOperations({
  changePassword: {
    operationId: 'changePassword',
    service: 'users',
    method: 'PUT',
    path: '/users/{id}/password',
    summary: 'Change one’s password (self)',
    description:
      'Needs the current password: a stolen access token alone cannot change it. On success every other ' +
      'session of the user ends (their refresh tokens are refused); the caller’s stays. A wrong current ' +
      'password is a 401 `INVALID_CREDENTIALS`, counted by the gateway’s strict (login) limit.',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    body: ChangePasswordBody,
    responses: { 204: null },
    errors: [400, 401, 403, 404, 415, 429],
  },
  requestPasswordReset: {
    operationId: 'requestPasswordReset',
    service: 'users',
    method: 'POST',
    path: '/auth/password-reset',
    summary: 'Ask for a password-reset mail',
    description:
      'Always answers 202, in about the same time, whether or not the email belongs to an account; when ' +
      'it does, a mail with a single-use link (valid `PASSWORD_RESET_TTL_SECONDS`) is sent. Limited per ' +
      'client address and per email by the gateway’s strict limit.',
    tags: ['Accounts'],
    access: 'public',
    body: PasswordResetBody,
    responses: { 202: null },
    errors: [400, 415, 429],
  },
  confirmPasswordReset: {
    operationId: 'confirmPasswordReset',
    service: 'users',
    method: 'POST',
    path: '/auth/password-reset/confirm',
    summary: 'Set a new password with the token of a reset mail',
    description:
      'Sets the password, ends every session of the user and spends the token. An unknown, used or ' +
      'expired token is a 400 `INVALID_LINK_TOKEN`.',
    tags: ['Accounts'],
    access: 'public',
    body: PasswordResetConfirmBody,
    responses: { 204: null },
    errors: [400, 415, 429],
  },
  verifyEmail: {
    operationId: 'verifyEmail',
    service: 'users',
    method: 'POST',
    path: '/auth/verify-email',
    summary: 'Confirm an email address with the token of a verification mail',
    description:
      'Sets `emailVerifiedAt`. The token is single use and only verifies the address it was sent to: ' +
      'after a change of email it no longer works. An unknown, used or expired token is a 400 ' +
      '`INVALID_LINK_TOKEN`.',
    tags: ['Accounts'],
    access: 'public',
    body: VerifyEmailBody,
    responses: { 204: null },
    errors: [400, 415, 429],
  },
  resendEmailVerification: {
    operationId: 'resendEmailVerification',
    service: 'users',
    method: 'POST',
    path: '/users/{id}/email-verification',
    summary: 'Send the verification mail again (self or admin)',
    description:
      'Answers 202 and sends a new mail (earlier links keep working until they expire). An address ' +
      'already verified is a 409 `EMAIL_ALREADY_VERIFIED`.',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    responses: { 202: null },
    errors: [401, 403, 404, 409],
  },
  listSessions: {
    operationId: 'listSessions',
    service: 'users',
    method: 'GET',
    path: '/users/{id}/sessions',
    summary: 'List a user’s active sessions (self or admin)',
    description:
      'One entry per login still able to refresh, newest first, the current one marked; `page` or ' +
      '`cursor`, `limit` (≤ 100).',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    query: ListSessionsQuery,
    responses: { 200: SessionList },
    errors: [400, 401, 403, 404],
    list: true,
  },
  deleteSession: {
    operationId: 'deleteSession',
    service: 'users',
    method: 'DELETE',
    path: '/users/{id}/sessions/{sessionId}',
    summary: 'End one session (self or admin)',
    description:
      'Its refresh token is refused from now on. An access token it already issued keeps working until ' +
      'it expires (at most `ACCESS_TOKEN_TTL_SECONDS`, 15 minutes by default).',
    tags: ['Accounts'],
    access: 'authenticated',
    params: SessionParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
  deleteSessions: {
    operationId: 'deleteSessions',
    service: 'users',
    method: 'DELETE',
    path: '/users/{id}/sessions',
    summary: 'End every session of a user (admin)',
    description: 'Every refresh token of the user is refused from now on; they log in again.',
    tags: ['Accounts'],
    access: 'admin',
    params: UserIdOrMeParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
});

/** A TOTP code (RFC 6238, 6 digits) or a one-time recovery code (`xxxx-xxxx-xxxx-xxxx`). */
export const MfaCode = Type.String({
  pattern: '^([0-9]{6}|[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})$',
  maxLength: 19,
  writeOnly: true,
  description: 'The 6-digit code of the authenticator app, or one of the recovery codes',
});

export const MfaSettingsBody = Type.Object(
  {
    enabled: Type.Boolean({
      description: '`true` confirms a started enrolment, `false` turns two-factor sign-in off',
    }),
    code: MfaCode,
  },
  { title: 'MfaSettingsBody', additionalProperties: false },
);
export type MfaSettingsBody = Static<typeof MfaSettingsBody>;

export const MfaStatus = Type.Object(
  {
    enabled: Type.Boolean(),
    /** Recovery codes not yet used (0 when two-factor sign-in is off). */
    recoveryCodesLeft: Type.Integer({ minimum: 0, maximum: 10 }),
    /** Recovery codes, shown once: when the enrolment is confirmed. */
    recoveryCodes: Type.Optional(
      Type.Array(
        Type.String({ pattern: '^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$', maxLength: 19 }),
        {
          maxItems: 10,
        },
      ),
    ),
  },
  { $id: 'MfaStatus', title: 'MfaStatus', additionalProperties: false },
);
export type MfaStatus = Static<typeof MfaStatus>;

export const MfaEnrolment = Type.Object(
  {
    secret: Type.String({
      pattern: '^[A-Z2-7]{32}$',
      maxLength: 32,
      description: 'Base32, to type into an app',
    }),
    otpauthUri: Type.String({
      pattern: '^otpauth://totp/',
      maxLength: 1024,
      description: 'The same secret as an `otpauth://` URI, for a QR code',
    }),
  },
  { $id: 'MfaEnrolment', title: 'MfaEnrolment', additionalProperties: false },
);
export type MfaEnrolment = Static<typeof MfaEnrolment>;

export const MfaLoginBody = Type.Object(
  { mfaChallenge: MfaChallengeToken, code: MfaCode },
  { title: 'MfaLoginBody', additionalProperties: false },
);
export type MfaLoginBody = Static<typeof MfaLoginBody>;

export const mfaOperations = defineOperations({
  getMfa: {
    operationId: 'getMfa',
    service: 'users',
    method: 'GET',
    path: '/users/{id}/mfa',
    summary: 'Whether two-factor sign-in is on (self or admin)',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    responses: { 200: MfaStatus },
    errors: [401, 403, 404],
  },
  startMfaEnrolment: {
    operationId: 'startMfaEnrolment',
    service: 'users',
    method: 'POST',
    path: '/users/{id}/mfa',
    summary: 'Start enrolling an authenticator app (self)',
    description:
      'Answers a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s) and its `otpauth://` URI. Nothing ' +
      'changes at sign-in until the enrolment is confirmed with a first code (`PUT` with `enabled: true`). ' +
      'Starting again replaces an unconfirmed secret; while two-factor sign-in is on it is a 409.',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    responses: { 201: MfaEnrolment },
    errors: [401, 403, 404, 409],
  },
  updateMfa: {
    operationId: 'updateMfa',
    service: 'users',
    method: 'PUT',
    path: '/users/{id}/mfa',
    summary: 'Confirm an enrolment with a first code, or turn two-factor sign-in off with a code (self)',
    description:
      '`enabled: true` with a code of the new secret turns it on and answers the ten recovery codes, ' +
      'shown this once (each works once, in place of a code). `enabled: false` with a code or a recovery ' +
      'code turns it off. A wrong code is a 401 `INVALID_MFA_CODE`, limited by the gateway’s strict limit.',
    tags: ['Accounts'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    body: MfaSettingsBody,
    responses: { 200: MfaStatus },
    errors: [400, 401, 403, 404, 409, 415, 429],
  },
  completeMfaLogin: {
    operationId: 'completeMfaLogin',
    service: 'users',
    method: 'POST',
    path: '/auth/mfa',
    summary: 'Second step of a two-factor sign-in: the challenge and a code → tokens',
    description:
      'When `POST /auth/login` answers 202 with an `mfaChallenge`, send it here with the code of the ' +
      'authenticator app or a recovery code. A challenge lives `MFA_CHALLENGE_TTL_SECONDS` and takes at ' +
      'most 5 wrong codes; a code works once. Refusals are 401 `INVALID_MFA_CODE`.',
    tags: ['Auth'],
    access: 'public',
    body: MfaLoginBody,
    responses: { 200: TokenPair },
    errors: [400, 401, 415, 429],
  },
});
