import type { Kysely, Transaction } from 'kysely';
import type { OrdersDatabase } from './schema.ts';

type Db = Kysely<OrdersDatabase>;

/** An `Idempotency-Key` sent by a user, with the fingerprint of the request it came with. */
export interface IdempotencyClaim {
  userId: string;
  key: string;
  fingerprint: string;
}

export type IdempotentOutcome<T> =
  | { kind: 'fresh'; value: T }
  /** The key was used before with the same request: the first response, as stored. */
  | { kind: 'replay'; value: T }
  /** The key was used before with another request. */
  | { kind: 'mismatch' };

/**
 * Runs `work` in one transaction that also claims the key and stores the result under it, so the
 * effect and its record commit together or not at all. Racing requests with one key meet on the
 * primary key: the later inserts wait for the first transaction, then find its committed result and
 * replay it (under read committed, each statement sees what committed before it began). A failed
 * first attempt rolls its claim back, so a retry runs afresh. Without a claim, `work` just runs.
 */
export async function idempotent<T>(
  db: Db,
  claim: IdempotencyClaim | undefined,
  work: (trx: Transaction<OrdersDatabase>) => Promise<T>,
  statusCode = 201,
): Promise<IdempotentOutcome<T>> {
  return db.transaction().execute(async (trx) => {
    if (!claim) return { kind: 'fresh', value: await work(trx) };
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({ user_id: claim.userId, key: claim.key, fingerprint: claim.fingerprint })
      .onConflict((conflict) => conflict.columns(['user_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const first = await trx
        .selectFrom('idempotency_keys')
        .select(['fingerprint', 'response'])
        .where('user_id', '=', claim.userId)
        .where('key', '=', claim.key)
        .executeTakeFirstOrThrow();
      if (first.fingerprint !== claim.fingerprint) return { kind: 'mismatch' };
      return { kind: 'replay', value: first.response as T };
    }
    const value = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({ status_code: statusCode, response: JSON.stringify(value) })
      .where('user_id', '=', claim.userId)
      .where('key', '=', claim.key)
      .execute();
    return { kind: 'fresh', value };
  });
}

/** Forgets keys older than `maxAgeHours`; a key is a retry guard, not a permanent record. */
export async function purgeIdempotencyKeys(db: Db, maxAgeHours: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', new Date(Date.now() - maxAgeHours * 3_600_000))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
