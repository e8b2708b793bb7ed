import { type ApiKey, apiKeysOperations, type CreatedApiKey } from '@armature/contracts';
import {
  ApiError,
  isoTimestamp,
  newUuid,
  pageRequest,
  parsePublicId,
  type RequestWithId,
  registerOperation,
  requirePublicId,
  targetUserId,
  toPublicId,
} from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import type { UsersContext } from '../context.ts';
import {
  type ApiKeyRow,
  countApiKeys,
  findKeyBySecretHash,
  insertApiKey,
  listApiKeys,
  revokeApiKey,
  rotateApiKey,
  touchApiKey,
} from '../db/api-keys.ts';
import {
  defaultPlan,
  defaultRotationGraceSeconds,
  hashApiKey,
  keyAccepts,
  looksLikeApiKey,
  maxApiKeysPerUser,
  newApiKeySecret,
} from '../domain/api-keys.ts';

/** How long the access token a key is exchanged for lives: the gateway keeps it at most this long. */
const exchangedTokenTtlSeconds = 60;
/** `last_used_at` is written at most this often per key (the gateway exchanges a key every second). */
const touchEveryMs = 60_000;

export function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: toPublicId('apiKey', row.id),
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    plan: row.plan,
    expiresAt: row.expires_at ? isoTimestamp(row.expires_at) : null,
    lastUsedAt: row.last_used_at ? isoTimestamp(row.last_used_at) : null,
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

function targetUuid(request: RequestWithId): string {
  return requirePublicId('user', targetUserId(request, request.params.id));
}

const noStore = { 'cache-control': 'no-store' };

/** The API keys of a user (self or admin), and the exchange of a key for a short access token. */
export function registerApiKeyRoutes(app: FastifyInstance, context: UsersContext): void {
  const { db } = context;

  registerOperation(app, apiKeysOperations.createApiKey, async (request, reply) => {
    const userId = targetUuid(request);
    if (!(await context.loadUser(userId))) throw new ApiError('NOT_FOUND');
    const { name, scopes, expiresAt, plan } = request.body;
    const now = new Date();
    if (expiresAt !== undefined && new Date(expiresAt).getTime() <= now.getTime()) {
      throw new ApiError('UNPROCESSABLE', {
        message: 'The expiry must be in the future',
        details: [{ field: 'expiresAt', message: 'is in the past' }],
      });
    }
    if ((await countApiKeys(db, userId)) >= maxApiKeysPerUser) {
      throw new ApiError('CONFLICT', { message: `A user holds at most ${maxApiKeysPerUser} API keys` });
    }
    const secret = newApiKeySecret();
    const row = await insertApiKey(db, {
      id: newUuid(),
      user_id: userId,
      name,
      prefix: secret.prefix,
      key_hash: secret.hash,
      scopes,
      plan: plan ?? defaultPlan,
      expires_at: expiresAt === undefined ? null : new Date(expiresAt),
    });
    const created: CreatedApiKey = { ...toApiKey(row), key: secret.key };
    return reply
      .code(201)
      .headers(noStore)
      .header('location', `/v1/users/${toPublicId('user', userId)}/api-keys/${created.id}`)
      .send(created);
  });

  registerOperation(app, apiKeysOperations.listApiKeys, async (request) => {
    const userId = targetUuid(request);
    if (!(await context.loadUser(userId))) throw new ApiError('NOT_FOUND');
    const page = pageRequest(request.query);
    const scope = `api-keys:${userId}`;
    // At most 100 rows: paged here, newest (highest UUIDv7) first.
    const rows = await listApiKeys(db, userId, new Date());
    let offset = page.page ? (page.page - 1) * page.limit : 0;
    if (page.cursor !== undefined) {
      const [after] = context.cursors.decode(scope, page.cursor);
      const afterId = typeof after === 'string' ? parsePublicId('apiKey', after) : undefined;
      if (afterId === undefined) {
        throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
      }
      offset = rows.findIndex((row) => row.id < afterId);
      if (offset < 0) offset = rows.length;
    }
    const shown = rows.slice(offset, offset + page.limit);
    const hasMore = offset + page.limit < rows.length;
    const last = shown.at(-1);
    return {
      data: shown.map(toApiKey),
      pagination: {
        total: rows.length,
        page: page.page ?? null,
        limit: page.limit,
        hasMore,
        nextCursor: hasMore && last ? context.cursors.encode(scope, [toPublicId('apiKey', last.id)]) : null,
      },
    };
  });

  registerOperation(app, apiKeysOperations.rotateApiKey, async (request, reply) => {
    const userId = targetUuid(request);
    const keyId = requirePublicId('apiKey', request.params.keyId);
    const now = new Date();
    const graceSeconds = request.body.graceSeconds ?? defaultRotationGraceSeconds;
    const secret = newApiKeySecret();
    const row = await rotateApiKey(db, userId, keyId, {
      prefix: secret.prefix,
      keyHash: secret.hash,
      graceUntil: new Date(now.getTime() + graceSeconds * 1000),
      now,
    });
    if (!row) throw new ApiError('NOT_FOUND');
    const created: CreatedApiKey = { ...toApiKey(row), key: secret.key };
    return reply
      .code(201)
      .headers(noStore)
      .header('location', `/v1/users/${toPublicId('user', userId)}/api-keys/${created.id}`)
      .send(created);
  });

  registerOperation(app, apiKeysOperations.deleteApiKey, async (request, reply) => {
    const userId = targetUuid(request);
    const keyId = requirePublicId('apiKey', request.params.keyId);
    if (!(await revokeApiKey(db, userId, keyId, new Date()))) throw new ApiError('NOT_FOUND');
    return reply.code(204).send();
  });

  registerOperation(app, apiKeysOperations.exchangeApiKey, async (request, reply) => {
    const { key } = request.body;
    const refused = () => new ApiError('INVALID_API_KEY', { headers: { 'www-authenticate': 'Bearer' } });
    if (!looksLikeApiKey(key)) throw refused();
    const hash = hashApiKey(key);
    const now = new Date();
    const row = await findKeyBySecretHash(db, hash);
    if (!row || !keyAccepts(row, hash, now)) throw refused();
    if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() > touchEveryMs) {
      await touchApiKey(db, row.id, now);
    }
    const keyId = toPublicId('apiKey', row.id);
    const untilExpiry = row.expires_at
      ? Math.floor((row.expires_at.getTime() - now.getTime()) / 1000)
      : exchangedTokenTtlSeconds;
    const { accessToken, expiresIn } = await context.tokens.issue(
      { id: row.user_id, email: row.email, role: row.role },
      {
        claims: { scp: row.scopes.join(' '), akid: keyId },
        ttlSeconds: Math.max(1, Math.min(exchangedTokenTtlSeconds, untilExpiry)),
      },
    );
    return reply.headers(noStore).send({ accessToken, expiresIn, keyId, scopes: row.scopes, plan: row.plan });
  });
}
