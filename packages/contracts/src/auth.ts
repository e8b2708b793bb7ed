import { type Static, Type } from '@sinclair/typebox';
import { defineOperations } from './operation.ts';
import { Email } from './users.ts';

/** An opaque refresh token: `tok_` and 43 base64url characters (256 random bits). */
export const RefreshToken = Type.String({
  pattern: '^tok_[A-Za-z0-9_-]{43}$',
  maxLength: 47,
  examples: ['tok_3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
});

export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 128, writeOnly: true }),
  },
  { title: 'LoginBody', additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  { refreshToken: RefreshToken },
  { title: 'RefreshBody', additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const LogoutBody = Type.Object(
  { refreshToken: RefreshToken },
  { title: 'LogoutBody', additionalProperties: false },
);
export type LogoutBody = Static<typeof LogoutBody>;

export const TokenPair = Type.Object(
  {
    accessToken: Type.String({
      maxLength: 4096,
      pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
      description:
        'A JWT (EdDSA) with `sub`, `email`, `roles`, `iat`, `exp`, `iss`, `aud`; send it as `Authorization: Bearer …`',
    }),
    refreshToken: RefreshToken,
    expiresIn: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      description: 'Seconds until the access token expires',
      examples: [900],
    }),
  },
  { $id: 'TokenPair', title: 'TokenPair', additionalProperties: false },
);
export type TokenPair = Static<typeof TokenPair>;

/** A short-lived proof that the password was right, traded with a code for tokens at `POST /auth/mfa`. */
export const MfaChallengeToken = Type.String({
  pattern: '^mfa_[A-Za-z0-9_-]{43}$',
  maxLength: 47,
  examples: ['mfa_3q2-7wEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
});

export const MfaChallenge = Type.Object(
  {
    mfaChallenge: MfaChallengeToken,
    expiresIn: Type.Integer({ minimum: 1, maximum: 3600, description: 'Seconds the challenge stays valid' }),
  },
  { $id: 'MfaChallenge', title: 'MfaChallenge', additionalProperties: false },
);
export type MfaChallenge = Static<typeof MfaChallenge>;

/** A public signing key (RFC 8037 OKP / Ed25519). */
export const Jwk = Type.Object(
  {
    kty: Type.Literal('OKP'),
    crv: Type.Literal('Ed25519'),
    x: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', maxLength: 43 }),
    kid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', maxLength: 64 }),
    alg: Type.Literal('EdDSA'),
    use: Type.Literal('sig'),
  },
  { title: 'Jwk', additionalProperties: false },
);

export type Jwk = Static<typeof Jwk>;

export const JwkSet = Type.Object(
  { keys: Type.Array(Jwk, { maxItems: 20 }) },
  { $id: 'JwkSet', title: 'JwkSet', additionalProperties: false },
);
export type JwkSet = Static<typeof JwkSet>;

export const authOperations = defineOperations({
  login: {
    operationId: 'login',
    service: 'users',
    method: 'POST',
    path: '/auth/login',
    summary: 'Exchange email and password for an access and a refresh token',
    description:
      'Answers the same 401 `INVALID_CREDENTIALS`, in about the same time, whether the email is unknown ' +
      'or the password is wrong. With two-factor sign-in on, a right password answers 202 with an ' +
      '`mfaChallenge` to complete at `POST /auth/mfa` with a code.',
    tags: ['Auth'],
    access: 'public',
    body: LoginBody,
    responses: { 200: TokenPair, 202: MfaChallenge },
    errors: [400, 401, 415],
  },
  refreshTokens: {
    operationId: 'refreshTokens',
    service: 'users',
    method: 'POST',
    path: '/auth/refresh',
    summary: 'Exchange a refresh token for a new access token and a new refresh token',
    description:
      'Refresh tokens are single use: each call returns a new one and retires the one sent. Sending a ' +
      'retired token again revokes every token descended from the same login.',
    tags: ['Auth'],
    access: 'public',
    body: RefreshBody,
    responses: { 200: TokenPair },
    errors: [400, 401, 415],
  },
  logout: {
    operationId: 'logout',
    service: 'users',
    method: 'POST',
    path: '/auth/logout',
    summary: 'Revoke a refresh token and every token of its login',
    description:
      'Access tokens already issued stay valid until they expire (at most the access-token lifetime).',
    tags: ['Auth'],
    access: 'public',
    body: LogoutBody,
    responses: { 204: null },
    errors: [400, 401, 415],
  },
  getJwks: {
    operationId: 'getJwks',
    service: 'users',
    method: 'GET',
    path: '/.well-known/jwks.json',
    unversioned: true,
    summary: 'Public keys that verify access tokens (JWKS)',
    description: 'The active signing key and any retiring key whose tokens may not have expired yet.',
    tags: ['Auth'],
    access: 'public',
    responses: { 200: JwkSet },
    errors: [],
  },
});
