import { type Static, Type } from '@sinclair/typebox';
import { displayNamePattern, ListOf, ListQuery, PublicId, Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';
import { IdempotencyHeaders } from './products.ts';

/** An `enum` rather than a union of literals, so a bad value is one error, not one per branch. */
export const Role = Type.Unsafe<'member' | 'admin'>({
  type: 'string',
  enum: ['member', 'admin'],
  description: '`member` sees and changes only their own data; `admin` manages every user',
});

/**
 * Each field carries as few overlapping rules as possible, so a bad value is one error (one detail):
 * `format` already implies a minimum length, the name's pattern a visible character.
 */
export const Email = Type.String({
  format: 'email',
  maxLength: 254,
  examples: ['user@example.com'],
});

/** NIST SP 800-63B: at least 8 characters, at least 64 allowed; 128 caps the hashing work per request. */
export const Password = Type.String({ minLength: 8, maxLength: 128, writeOnly: true });

/** Free text with at least one visible character and no control or bidirectional-override characters. */
export const UserName = Type.String({
  maxLength: 100,
  pattern: displayNamePattern,
  examples: ['John Doe'],
});

/** The optimistic-locking counter: send it back (body or `If-Match`) to change the user. */
export const UserVersion = Type.Integer({ minimum: 1, maximum: 2_147_483_647, examples: [1] });

const userProperties = {
  id: PublicId('usr'),
  email: Email,
  name: UserName,
  role: Role,
  emailVerifiedAt: Type.Union([Timestamp, Type.Null()]),
  version: UserVersion,
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

/** A user as the API shows it: never the password or its hash. */
export const User = Type.Object(userProperties, {
  $id: 'User',
  title: 'User',
  additionalProperties: false,
});
export type User = Static<typeof User>;

/** A list item: `id` always, the other fields unless `fields=` leaves them out. */
export const UserListItem = Type.Object(
  {
    id: userProperties.id,
    email: Type.Optional(userProperties.email),
    name: Type.Optional(userProperties.name),
    role: Type.Optional(userProperties.role),
    emailVerifiedAt: Type.Optional(userProperties.emailVerifiedAt),
    version: Type.Optional(userProperties.version),
    createdAt: Type.Optional(userProperties.createdAt),
    updatedAt: Type.Optional(userProperties.updatedAt),
  },
  { title: 'UserListItem', additionalProperties: false },
);

/** Fields `fields=` may name on `GET /users`. */
export const userFields = Object.keys(userProperties) as (keyof typeof userProperties)[];
/** Keys `sort=` may name on `GET /users`. */
export const userSortKeys = ['createdAt', 'name', 'email'] as const;

export const CreateUserBody = Type.Object(
  {
    email: Email,
    name: UserName,
    password: Password,
    role: Type.Optional(Role),
  },
  { title: 'CreateUserBody', additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

/** `PUT`: the full editable representation. `role` may be repeated unchanged; only admins change it. */
export const ReplaceUserBody = Type.Object(
  {
    email: Email,
    name: UserName,
    role: Type.Optional(Role),
    version: Type.Optional(UserVersion),
  },
  { title: 'ReplaceUserBody', additionalProperties: false },
);
export type ReplaceUserBody = Static<typeof ReplaceUserBody>;

/**
 * `PATCH`: a JSON Merge Patch (RFC 7396) of the user, sent as `application/merge-patch+json` or
 * `application/json`. Every member is required on a user, so none may be `null` (removed).
 */
export const PatchUserBody = Type.Object(
  {
    email: Type.Optional(Email),
    name: Type.Optional(UserName),
    role: Type.Optional(Role),
    version: Type.Optional(UserVersion),
  },
  { title: 'PatchUserBody', additionalProperties: false },
);
export type PatchUserBody = Static<typeof PatchUserBody>;

/** A calendar date (`2024-01-15`, midnight UTC) or an ISO 8601 date-time. */
const Instant = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}([Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}:?\\d{2})?)?$',
  maxLength: 40,
  examples: ['2024-01-15', '2024-01-15T10:30:00Z'],
});

export const ListUsersQuery = ListQuery({
  role: Type.Optional(Role),
  email: Type.Optional({ ...Email, description: 'Exact email, compared without case' }),
  createdAfter: Type.Optional({ ...Instant, description: 'Created at or after this instant' }),
  createdBefore: Type.Optional({ ...Instant, description: 'Created strictly before this instant' }),
});
export type ListUsersQuery = Static<typeof ListUsersQuery>;

/** `{id}`: a `usr_…` id, or `me` for the caller. */
export const UserIdOrMeParams = Type.Object(
  {
    id: Type.String({
      maxLength: 64,
      description: 'A `usr_…` id, or `me` for the caller',
      examples: ['usr_01h455vb4pex5vsknk084sn02q', 'me'],
    }),
  },
  { additionalProperties: false },
);

export const UserList = ListOf(UserListItem);

export const usersOperations = defineOperations({
  createUser: {
    operationId: 'createUser',
    service: 'users',
    method: 'POST',
    path: '/users',
    summary: 'Register a user',
    description:
      'Creates a member, or an admin when called with an admin token. Answers 201 with the user and a ' +
      '`Location` header naming it. Emails are unique among active users, compared without case. ' +
      'With an `Idempotency-Key`, a retry answers the first response and creates nothing twice; the ' +
      'same key with another email, name or role is a 409.',
    tags: ['Users'],
    access: 'public',
    headers: IdempotencyHeaders,
    body: CreateUserBody,
    responses: { 201: User },
    errors: [400, 403, 409, 415],
    idempotent: true,
  },
  listUsers: {
    operationId: 'listUsers',
    service: 'users',
    method: 'GET',
    path: '/users',
    summary: 'List users (admin)',
    description:
      'Offset (`page`) or keyset (`cursor`) pagination; filters `role`, `email`, `createdAfter`, ' +
      '`createdBefore`; `sort` on `createdAt`, `name`, `email` (default `-createdAt`); `fields` to trim items.',
    tags: ['Users'],
    access: 'admin',
    query: ListUsersQuery,
    responses: { 200: UserList },
    errors: [400, 401, 403],
    list: true,
  },
  getUser: {
    operationId: 'getUser',
    service: 'users',
    method: 'GET',
    path: '/users/{id}',
    summary: 'Read a user (self or admin)',
    description:
      'The `ETag` header carries the version, for `If-Match` on a later write, and for `If-None-Match`: ' +
      '304 without a body while the user is unchanged. Served from the cache (`X-Cache`).',
    tags: ['Users'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    responses: { 200: User, 304: null },
    errors: [401, 403, 404],
    cached: true,
  },
  replaceUser: {
    operationId: 'replaceUser',
    service: 'users',
    method: 'PUT',
    path: '/users/{id}',
    summary: 'Replace a user’s name and email (self or admin)',
    description:
      'Optimistic locking: give the `version` you read, in the body or as `If-Match`; a stale one is a ' +
      '409 `VERSION_CONFLICT` and changes nothing. Only an admin changes a role.',
    tags: ['Users'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    body: ReplaceUserBody,
    responses: { 200: User },
    errors: [400, 401, 403, 404, 409, 415],
  },
  updateUser: {
    operationId: 'updateUser',
    service: 'users',
    method: 'PATCH',
    path: '/users/{id}',
    summary: 'Change some fields of a user (self or admin)',
    description:
      'A JSON Merge Patch (RFC 7396), as `application/merge-patch+json` or `application/json`. ' +
      'Optimistic locking as for PUT; only an admin changes a role.',
    tags: ['Users'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    body: PatchUserBody,
    responses: { 200: User },
    errors: [400, 401, 403, 404, 409, 415],
  },
  deleteUser: {
    operationId: 'deleteUser',
    service: 'users',
    method: 'DELETE',
    path: '/users/{id}',
    summary: 'Delete a user (self or admin)',
    description:
      'A soft delete: the user disappears from every read, cannot log in, their refresh tokens are ' +
      'revoked, and their email may register again.',
    tags: ['Users'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    responses: { 204: null },
    errors: [401, 403, 404],
  },
});
