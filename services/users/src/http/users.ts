import {
  type CreateUserBody,
  type ListUsersQuery,
  type PatchUserBody,
  type ReplaceUserBody,
  type User,
  userFields,
  userSortKeys,
  usersOperations,
} from '@armature/contracts';
import {
  ApiError,
  isoTimestamp,
  pageRequest,
  parseFields,
  parseInstant,
  parseJsonBody,
  parseSort,
  pickFields,
  principalOf,
  requirePublicId,
  targetUserId,
  toPublicId,
} from '@armature/platform';
import { sendCacheEntry } from '@armature/platform/cache/index';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashPassword } from '../auth/passwords.ts';
import type { UsersContext } from '../context.ts';
import { idempotent } from '../db/idempotency.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  createUser,
  findUser,
  keysetValues,
  listUsers,
  softDeleteUser,
  type UserChanges,
  type UserRow,
  updateUser,
} from '../db/users.ts';
import {
  assertMayChangeRole,
  assertMayRegister,
  defaultUserSort,
  expectedVersion,
  instantInUtc,
  mergeUserPatch,
  parseIfMatch,
  sortColumns,
  userEtag,
} from '../domain/users.ts';
import { sendVerificationMail } from './email-verification.ts';
import { idempotencyClaim } from './idempotency-key.ts';
import { registerOperation } from './operations.ts';

/** The API representation of a user: public id, ISO timestamps, never the password hash. */
export function toUser(row: UserRow): User {
  return {
    id: toPublicId('user', row.id),
    email: row.email,
    name: row.name,
    role: row.role,
    emailVerifiedAt: row.email_verified_at ? isoTimestamp(row.email_verified_at) : null,
    version: row.version,
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

function sendUser(reply: FastifyReply, row: UserRow, status = 200) {
  return reply.code(status).header('etag', userEtag(row)).send(toUser(row));
}

/** The UUID of the `{id}` a caller may act on: themselves (`me` or their id) or, for an admin, anyone. */
function targetUuid(request: FastifyRequest): string {
  const { id } = request.params as { id: string };
  return requirePublicId('user', targetUserId(request, id));
}

/**
 * Runs a user update and, when it left the address unverified (a new email), queues a verification
 * mail to the new address in the same transaction.
 */
function updateVerifyingEmail(
  context: UsersContext,
  id: string,
  update: (trx: UsersContext['db']) => Promise<{ user: UserRow; changed: boolean }>,
): Promise<{ user: UserRow; changed: boolean }> {
  return inTransaction(context.db, async (trx) => {
    const before = await findUser(trx, id);
    const outcome = await update(trx);
    if (outcome.changed && before && outcome.user.email.toLowerCase() !== before.email.toLowerCase()) {
      await sendVerificationMail(context, trx, outcome.user);
    }
    return outcome;
  });
}

export function registerUserRoutes(app: FastifyInstance, context: UsersContext): void {
  const { db } = context;

  registerOperation(app, usersOperations.createUser, async (request, reply, version) => {
    const body = request.body as CreateUserBody;
    const role = body.role ?? 'member';
    // The route is public, so the token (if any) was not checked against the database yet.
    const caller = request.principal;
    assertMayRegister(Boolean(caller?.isAdmin && (await context.isActive(caller))), role);
    const claim = idempotencyClaim(request, 'createUser', [body.email.toLowerCase(), body.name, role]);
    const passwordHash = await hashPassword(body.password);
    const outcome = await idempotent(db, claim, async (trx) => {
      const row = await createUser(trx, { email: body.email, name: body.name, passwordHash, role });
      await sendVerificationMail(context, trx, row);
      return toUser(row);
    });
    if (outcome.kind === 'mismatch') throw new ApiError('IDEMPOTENCY_CONFLICT');
    const user = outcome.value;
    return reply
      .code(201)
      .header('location', `/v${version}/users/${user.id}`)
      .header('etag', userEtag(user))
      .send(user);
  });

  registerOperation(app, usersOperations.listUsers, async (request) => {
    const query = request.query as ListUsersQuery;
    const page = pageRequest(query);
    const sort = parseSort(query.sort, userSortKeys, defaultUserSort);
    const fields = parseFields(query.fields, userFields);
    const columns = sort.map(({ key, direction }) => ({ column: sortColumns[key], direction }));
    // A cursor is bound to the sort it was made for; under another sort it is a 400.
    const scope = `users:${sort.map(({ key, direction }) => (direction === 'desc' ? '-' : '+') + key).join(',')}`;
    let after: unknown[] | undefined;
    if (page.cursor !== undefined) {
      after = context.cursors.decode(scope, page.cursor);
      if (after.length !== columns.length + 1 || !after.every((value) => typeof value === 'string')) {
        throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
      }
    }
    const { rows, total } = await listUsers(db, {
      filters: {
        role: query.role,
        email: query.email,
        createdAfter: parseInstant('createdAfter', instantInUtc(query.createdAfter)),
        createdBefore: parseInstant('createdBefore', instantInUtc(query.createdBefore)),
      },
      sort: columns,
      limit: page.limit,
      offset: page.page ? (page.page - 1) * page.limit : undefined,
      after,
    });
    const hasMore = rows.length > page.limit;
    const items = rows.slice(0, page.limit);
    const last = items.at(-1);
    return {
      data: items.map((row) => pickFields(toUser(row), fields)),
      pagination: {
        total,
        page: page.page ?? null,
        limit: page.limit,
        hasMore,
        nextCursor: hasMore && last ? context.cursors.encode(scope, keysetValues(last, columns)) : null,
      },
    };
  });

  registerOperation(app, usersOperations.getUser, async (request, reply) => {
    const { id } = request.params as { id: string };
    // Reading oneself: the token check of this request has just looked the caller up.
    const self = id === 'me' || id === request.principal?.userId ? request.callerUser : undefined;
    const user = self ?? (await context.cachedUser(targetUuid(request)));
    if (!user) throw new ApiError('NOT_FOUND');
    return sendCacheEntry(request, reply, user);
  });

  registerOperation(app, usersOperations.replaceUser, async (request, reply) => {
    const id = targetUuid(request);
    const body = request.body as ReplaceUserBody;
    const caller = principalOf(request);
    const wanted = expectedVersion(body.version, parseIfMatch(request.headers['if-match']));
    const { user, changed } = await updateVerifyingEmail(context, id, (trx) =>
      updateUser(trx, id, wanted, (current): UserChanges => {
        assertMayChangeRole(caller, current.role, body.role);
        return { email: body.email, name: body.name, role: body.role };
      }),
    );
    if (changed) await context.userChanged(id);
    return sendUser(reply, user);
  });

  // PATCH takes JSON Merge Patch documents; the parser for their media type is scoped to this route.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/merge-patch+json', { parseAs: 'buffer' }, parseJsonBody);
    registerOperation(scope, usersOperations.updateUser, async (request, reply) => {
      const id = targetUuid(request);
      const { version, ...patch } = request.body as PatchUserBody;
      const caller = principalOf(request);
      const wanted = expectedVersion(version, parseIfMatch(request.headers['if-match']));
      const { user, changed } = await updateVerifyingEmail(context, id, (trx) =>
        updateUser(trx, id, wanted, (current): UserChanges => {
          const merged = mergeUserPatch(current, patch);
          assertMayChangeRole(caller, current.role, merged.role);
          return merged;
        }),
      );
      if (changed) await context.userChanged(id);
      return sendUser(reply, user);
    });
  });

  registerOperation(app, usersOperations.deleteUser, async (request, reply) => {
    const id = targetUuid(request);
    const deleted = await softDeleteUser(db, id);
    if (!deleted) throw new ApiError('NOT_FOUND');
    await context.userChanged(id);
    return reply.code(204).send();
  });
}
