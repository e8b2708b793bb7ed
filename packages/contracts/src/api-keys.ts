import { type Static, Type } from '@sinclair/typebox';
import { ListOf, listQueryProperties, PublicId, Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';
import { UserIdOrMeParams } from './users.ts';

/**
 * A scope an API key may hold: `<resource>:read` or `<resource>:write`. Each operation names the
 * scope it needs (see `operationScope`); a key without it is refused with 403 `INSUFFICIENT_SCOPE`.
 */
export const ApiKeyScope = Type.String({
  pattern: '^[a-z][a-z-]{0,39}:(read|write)$',
  maxLength: 46,
  examples: ['orders:read'],
});

export const ApiKeySecret = Type.String({
  pattern: '^ak_[A-Za-z0-9_-]{43}$',
  maxLength: 46,
  description: 'The secret: `ak_` and 256 random bits. Shown once; only its hash is kept.',
});

/** One API key as its owner sees it: never its secret, only the secret's first characters. */
export const ApiKey = Type.Object(
  {
    id: PublicId('key'),
    name: Type.String({ minLength: 1, maxLength: 100 }),
    prefix: Type.String({
      maxLength: 16,
      description: 'The first characters of the secret, to recognise it',
    }),
    scopes: Type.Array(ApiKeyScope, { maxItems: 50 }),
    plan: Type.String({ maxLength: 40 }),
    expiresAt: Type.Union([Timestamp, Type.Null()]),
    lastUsedAt: Type.Union([Timestamp, Type.Null()]),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'ApiKey', title: 'ApiKey', additionalProperties: false },
);
export type ApiKey = Static<typeof ApiKey>;

/** A key just created or rotated: its secret in `key`, shown this once. */
export const CreatedApiKey = Type.Object(
  { ...ApiKey.properties, key: ApiKeySecret },
  { title: 'CreatedApiKey', additionalProperties: false },
);
export type CreatedApiKey = Static<typeof CreatedApiKey>;

export const ApiKeyList = ListOf(ApiKey);
export type ApiKeyList = Static<typeof ApiKeyList>;

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ApiKeyScope, { minItems: 1, maxItems: 50, uniqueItems: true }),
    expiresAt: Type.Optional(Timestamp),
    plan: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,39}$', maxLength: 40 })),
  },
  { title: 'CreateApiKeyBody', additionalProperties: false },
);
export type CreateApiKeyBody = Static<typeof CreateApiKeyBody>;

export const RotateApiKeyBody = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 24 * 3600,
        description: 'How long the old secret keeps working (default 24 hours)',
      }),
    ),
  },
  { title: 'RotateApiKeyBody', additionalProperties: false },
);
export type RotateApiKeyBody = Static<typeof RotateApiKeyBody>;

/** Newest first; a user holds at most 100 keys, so one page can hold them all. */
export const ListApiKeysQuery = Type.Object(
  { page: listQueryProperties.page, limit: listQueryProperties.limit, cursor: listQueryProperties.cursor },
  { additionalProperties: false },
);
export type ListApiKeysQuery = Static<typeof ListApiKeysQuery>;

export const ApiKeyParams = Type.Object(
  {
    id: UserIdOrMeParams.properties.id,
    keyId: Type.String({
      maxLength: 64,
      description: 'A `key_…` id',
      examples: ['key_01h455vb4pex5vsknk084sn02q'],
    }),
  },
  { additionalProperties: false },
);

/** What the gateway exchanges a key for: a short access token carrying the key's scopes. */
export const ApiKeyExchangeBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: 200, writeOnly: true }) },
  { title: 'ApiKeyExchangeBody', additionalProperties: false },
);
export type ApiKeyExchangeBody = Static<typeof ApiKeyExchangeBody>;

export const ApiKeyToken = Type.Object(
  {
    accessToken: Type.String({ maxLength: 4096 }),
    expiresIn: Type.Integer({ minimum: 1, maximum: 60 }),
    keyId: PublicId('key'),
    scopes: Type.Array(ApiKeyScope, { maxItems: 50 }),
    plan: Type.String({ maxLength: 40 }),
  },
  { title: 'ApiKeyToken', additionalProperties: false },
);
export type ApiKeyToken = Static<typeof ApiKeyToken>;

export const apiKeysOperations = defineOperations({
  createApiKey: {
    operationId: 'createApiKey',
    service: 'users',
    method: 'POST',
    path: '/users/{id}/api-keys',
    summary: 'Create an API key (self or admin)',
    description:
      'The secret is in `key`, shown this once; only its hash is stored. Send it as ' +
      '`Authorization: Bearer ak_…` or `X-API-Key: ak_…`. A key is refused on any operation whose ' +
      'scope it lacks (403 `INSUFFICIENT_SCOPE`). A user holds at most 100 keys.',
    tags: ['API keys'],
    access: 'authenticated',
    scope: 'api-keys:write',
    params: UserIdOrMeParams,
    body: CreateApiKeyBody,
    responses: { 201: CreatedApiKey },
    errors: [400, 401, 403, 404, 409, 415, 422],
  },
  listApiKeys: {
    operationId: 'listApiKeys',
    service: 'users',
    method: 'GET',
    path: '/users/{id}/api-keys',
    summary: 'List a user’s API keys (self or admin)',
    description: 'Newest first, revoked and expired keys left out; never a secret, only its prefix.',
    tags: ['API keys'],
    access: 'authenticated',
    scope: 'api-keys:read',
    params: UserIdOrMeParams,
    query: ListApiKeysQuery,
    responses: { 200: ApiKeyList },
    errors: [400, 401, 403, 404],
    list: true,
  },
  rotateApiKey: {
    operationId: 'rotateApiKey',
    service: 'users',
    method: 'POST',
    path: '/users/{id}/api-keys/{keyId}/rotations',
    summary: 'Give an API key a new secret (self or admin)',
    description:
      'Answers the key with its new secret in `key`, shown this once. The old secret keeps working ' +
      'for `graceSeconds` (24 hours by default), then is refused.',
    tags: ['API keys'],
    access: 'authenticated',
    scope: 'api-keys:write',
    params: ApiKeyParams,
    body: RotateApiKeyBody,
    responses: { 201: CreatedApiKey },
    errors: [400, 401, 403, 404, 415],
  },
  deleteApiKey: {
    operationId: 'deleteApiKey',
    service: 'users',
    method: 'DELETE',
    path: '/users/{id}/api-keys/{keyId}',
    summary: 'Revoke an API key (self or admin)',
    description: 'Every gateway refuses it within a second (they remember a key at most that long).',
    tags: ['API keys'],
    access: 'authenticated',
    scope: 'api-keys:write',
    params: ApiKeyParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
  exchangeApiKey: {
    operationId: 'exchangeApiKey',
    service: 'users',
    method: 'POST',
    path: '/auth/api-keys',
    summary: 'Exchange an API key for a short access token (the gateway does this)',
    description:
      'The gateway calls this for a key it has not seen within the last second and sends the token ' +
      'upstream in place of the key; clients simply send their key. A key that is unknown, revoked, ' +
      'expired, past its rotation grace or whose user was deleted is a 401 `INVALID_API_KEY`.',
    tags: ['API keys'],
    access: 'public',
    body: ApiKeyExchangeBody,
    responses: { 200: ApiKeyToken },
    errors: [400, 401, 415],
  },
});
