import { accountsOperations, type Session } from '@armature/contracts';
import {
  ApiError,
  isoTimestamp,
  pageRequest,
  parsePublicId,
  principalOf,
  type RequestWithId,
  registerOperation,
  requirePublicId,
  targetUserId,
  toPublicId,
} from '@armature/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import type { UsersContext } from '../context.ts';
import { endSessions, listActiveSessions } from '../db/account-sessions.ts';
import type { SessionClient } from '../db/sessions.ts';
import { SessionNotFoundError, sessionStartedAt } from '../domain/accounts.ts';
import { refusing } from './account-refusals.ts';

/**
 * The client as the gateway saw it: the last `X-Forwarded-For` entry is the address the gateway
 * connected from (this service listens only to the gateway), and the `User-Agent`, without control
 * characters and cut to 512 characters.
 */
export function sessionClient(request: FastifyRequest): SessionClient {
  const forwarded = request.headers['x-forwarded-for'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').at(-1)?.trim();
  const address = (last || request.ip || '').replace(/^::ffff:/, '');
  const agent = request.headers['user-agent'];
  return {
    address: /^[0-9A-Fa-f.:]{1,64}$/.test(address) ? address : undefined,
    userAgent: typeof agent === 'string' ? printable(agent).slice(0, 512) : undefined,
  };
}

/** Drops control characters (a header cannot hold line breaks, but may hold tabs and the like). */
function printable(text: string): string {
  let out = '';
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if (code >= 0x20 && code !== 0x7f) out += character;
  }
  return out;
}

/**
 * The session (family UUID) of the access token of this request: its `sid` claim. The token has
 * already been verified by the auth plugin; this only reads it.
 */
export function callerSessionId(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  try {
    const { sid } = decodeJwt(token);
    return typeof sid === 'string' ? parsePublicId('session', sid) : undefined;
  } catch {
    return undefined;
  }
}

function targetUuid(request: RequestWithId): string {
  const { id } = request.params;
  return requirePublicId('user', targetUserId(request, id));
}

export function registerSessionRoutes(app: FastifyInstance, context: UsersContext): void {
  const { db } = context;

  registerOperation(app, accountsOperations.listSessions, async (request) => {
    const userId = targetUuid(request);
    if (!(await context.loadUser(userId))) throw new ApiError('NOT_FOUND');
    const page = pageRequest(request.query);
    const scope = `sessions:${userId}`;
    let before: string | undefined;
    if (page.cursor !== undefined) {
      const [after] = context.cursors.decode(scope, page.cursor);
      if (typeof after !== 'string' || parsePublicId('session', after) === undefined) {
        throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
      }
      before = parsePublicId('session', after);
    }
    const { rows, total } = await listActiveSessions(
      db,
      userId,
      { limit: page.limit, offset: page.page ? (page.page - 1) * page.limit : undefined, before },
      new Date(),
    );
    const current = callerSessionId(request);
    const hasMore = rows.length > page.limit;
    const shown = rows.slice(0, page.limit);
    const last = shown.at(-1);
    const data: Session[] = shown.map((row) => ({
      id: toPublicId('session', row.familyId),
      createdAt: isoTimestamp(sessionStartedAt(row.familyId)),
      lastUsedAt: isoTimestamp(row.lastUsedAt),
      expiresAt: isoTimestamp(row.expiresAt),
      userAgent: row.userAgent,
      address: row.address,
      current: row.familyId === current,
    }));
    return {
      data,
      pagination: {
        total,
        page: page.page ?? null,
        limit: page.limit,
        hasMore,
        nextCursor:
          hasMore && last ? context.cursors.encode(scope, [toPublicId('session', last.familyId)]) : null,
      },
    };
  });

  registerOperation(app, accountsOperations.deleteSession, async (request, reply) => {
    const userId = targetUuid(request);
    const { sessionId } = request.params;
    const familyId = requirePublicId('session', sessionId);
    await refusing(async () => {
      const ended = await endSessions(db, userId, { familyId }, 'ended');
      if (ended === 0) throw new SessionNotFoundError();
    });
    return reply.code(204).send();
  });

  registerOperation(app, accountsOperations.deleteSessions, async (request, reply) => {
    principalOf(request);
    const userId = targetUuid(request);
    if (!(await context.loadUser(userId))) throw new ApiError('NOT_FOUND');
    await endSessions(db, userId, {}, 'ended');
    return reply.code(204).send();
  });
}
