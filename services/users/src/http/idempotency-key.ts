import { createHash } from 'node:crypto';
import { parsePublicId } from '@armature/platform';
import type { FastifyRequest } from 'fastify';
import type { IdempotencyClaim } from '../db/idempotency.ts';

/**
 * The caller's `Idempotency-Key`, if sent, scoped to the caller (anonymous callers share one space),
 * with a fingerprint of what the request asks for. Secrets stay out of `input`: a fast hash of a
 * password stored at rest could be brute-forced.
 */
export function idempotencyClaim(
  request: FastifyRequest,
  operationId: string,
  input: unknown[],
): IdempotencyClaim | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return undefined;
  const caller = request.principal ? (parsePublicId('user', request.principal.userId) ?? '') : '';
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([operationId, ...input]))
    .digest('base64url');
  return { caller, key, fingerprint };
}
