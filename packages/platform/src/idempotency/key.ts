import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { parsePublicId } from '../ids.ts';
import type { IdempotencyClaim } from './store.ts';

/**
 * The caller's `Idempotency-Key`, if sent, scoped to the caller (anonymous callers share one space),
 * with a fingerprint of what the request asks for: the operation and its normalised input (money in
 * minor units, ids as UUIDs), so a retry through v1 or v2 matches and the same key reused for
 * anything else does not. Secrets stay out of `input`: a fast hash of a password stored at rest
 * could be brute-forced.
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
