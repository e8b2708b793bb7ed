import { type User, userFields, userSortKeys, usersOperations } from '@armature/contracts';
import {
  ApiError,
  expectedVersion,
  idempotencyClaim,
  idempotent,
  isoTimestamp,
  type ListSpec,
  listBody,
  parseInstant,
  parseJsonBody,
  principalOf,
  type RequestWithId,
  readListQuery,
  registerOperation,
  requirePublicId,
  targetUserId,
  toPublicId,
} from '@armature/platform';
import { sendCacheEntry } from '@armature/platform/cache/index';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { hashPassword } from '../auth/passwords.ts';
import type { UsersContext } from '../context.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  createUser,
  findUser,
  listUsers,
  softDeleteUser,
  type UserChanges,
  type UserRow,
  type UserSortKey,
  updateUser,
} from '../db/users.ts';
import {
  assertMayChangeRole,
  assertMayRegister,
  instantInUtc,
  mergeUserPatch,
  UserRefusal,
  userEtag,
} from '../domain/users.ts';
import { sendVerificationMail } from './email-verification.ts';

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

/** The user rules' refusals, each a 403 with its message: the one place they meet HTTP. */
const refusalMessages: Record<UserRefusal['reason'], string> = {
  'role-change-needs-admin': 'Only an admin can change a role',
  'admin-registration-needs-admin': 'Only an admin can create an admin',
};

/** Runs a rule check; its refusal becomes the API error for it. */
function refusing(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof UserRefusal)
      throw new ApiError('FORBIDDEN', { message: refusalMessages[error.reason] });
    throw error;
  }
}

/** `GET /users`: newest first by default; cursors carry the sort values, then the id. */
const userList: ListSpec<UserSortKey, UserRow> = {
  name: 'users',
  sortKeys: userSortKeys,
  defaultSort: [{ key: 'createdAt', direction: 'desc' }],
  fields: userFields,
  sortValue: (row, key) =>
    key === 'createdAt' ? row.created_at.toISOString() : key === 'name' ? row.name : row.email,
  idOf: (row) => row.id,
};

function sendUser(reply: FastifyReply, row: UserRow, status = 200) {
  return reply.code(status).header('etag', userEtag(row)).send(toUser(row));
}

/** The UUID of the `{id}` a caller may act on: themselves (`me` or their id) or, for an admin, anyone. */
function targetUuid(request: RequestWithId): string {
  const { id } = request.params;
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
    const { body } = request;
    const role = body.role ?? 'member';
    // The route is public, so the token (if any) was not checked against the database yet.
    const caller = request.principal;
    const callerIsAdmin = Boolean(caller?.isAdmin && (await context.isActive(caller)));
    refusing(() => assertMayRegister(callerIsAdmin, role));
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
    const { query } = request;
    const list = readListQuery(query, userList, context.cursors);
    const filters = {
      role: query.role,
      email: query.email,
      createdAfter: parseInstant('createdAfter', instantInUtc(query.createdAfter)),
      createdBefore: parseInstant('createdBefore', instantInUtc(query.createdBefore)),
    };
    const page = await context.reads.run(request.principal?.userId, (reader) =>
      listUsers(reader, filters, list.page),
    );
    return listBody(page, list, userList, context.cursors, toUser);
  });

  registerOperation(app, usersOperations.getUser, async (request, reply) => {
    const { id } = request.params;
    // Reading oneself: the token check of this request has just looked the caller up.
    const self = id === 'me' || id === request.principal?.userId ? request.callerUser : undefined;
    const user = self ?? (await context.cachedUser(targetUuid(request)));
    if (!user) throw new ApiError('NOT_FOUND');
    return sendCacheEntry(request, reply, user);
  });

  registerOperation(app, usersOperations.replaceUser, async (request, reply) => {
    const id = targetUuid(request);
    const { body } = request;
    const caller = principalOf(request);
    const wanted = expectedVersion(body.version, request.headers['if-match'], 'user');
    const { user, changed } = await updateVerifyingEmail(context, id, (trx) =>
      updateUser(trx, id, wanted, (current): UserChanges => {
        refusing(() => assertMayChangeRole(caller, current.role, body.role));
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
      const { version, ...patch } = request.body;
      const caller = principalOf(request);
      const wanted = expectedVersion(version, request.headers['if-match'], 'user');
      const { user, changed } = await updateVerifyingEmail(context, id, (trx) =>
        updateUser(trx, id, wanted, (current): UserChanges => {
          const merged = mergeUserPatch(current, patch);
          refusing(() => assertMayChangeRole(caller, current.role, merged.role));
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
