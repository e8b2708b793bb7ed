import { createHash } from 'node:crypto';
import { principalOf, requirePublicId } from '@armature/platform';
import type { FastifyRequest } from 'fastify';
import type { IdempotencyClaim } from '../db/idempotency.ts';

/**
 * The caller's `Idempotency-Key`, if sent, with a fingerprint of what the request asks for: the
 * operation and its normalised input (money in minor units, ids as UUIDs), so a retry through v1 or
 * v2 matches, and the same key reused for anything else does not.
 */
export function idempotencyClaim(
  request: FastifyRequest,
  operationId: string,
  input: unknown[],
): IdempotencyClaim | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return undefined;
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([operationId, ...input]))
    .digest('base64url');
  return { userId: requirePublicId('user', principalOf(request).userId), key, fingerprint };
}
