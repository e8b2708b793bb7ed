import { type Kysely, sql, type Transaction } from 'kysely';
import type { UsersDatabase } from './schema.ts';

type Db = Kysely<UsersDatabase>;

/** An `Idempotency-Key`, whose it is, and a fingerprint of the request it came with. */
export interface IdempotencyClaim {
  /** The caller's user UUID, or '' when anonymous. */
  caller: string;
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
 * Runs `work` in one transaction with the claim on the key and the stored result, so the effect and
 * its record commit together or not at all. A concurrent request with the same key waits on the
 * primary key for the first transaction, then replays what it committed; if the first failed, its
 * claim rolled back and the retry runs afresh. Without a claim, `work` just runs.
 */
export async function idempotent<T>(
  db: Db,
  claim: IdempotencyClaim | undefined,
  work: (trx: Transaction<UsersDatabase>) => Promise<T>,
): Promise<IdempotentOutcome<T>> {
  return db.transaction().execute(async (trx): Promise<IdempotentOutcome<T>> => {
    if (!claim) return { kind: 'fresh', value: await work(trx) };
    const claimed = await trx
      .insertInto('idempotency_keys')
      .values({ caller: claim.caller, key: claim.key, fingerprint: claim.fingerprint })
      .onConflict((conflict) => conflict.columns(['caller', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const first = await trx
        .selectFrom('idempotency_keys')
        .select(['fingerprint', 'response'])
        .where('caller', '=', claim.caller)
        .where('key', '=', claim.key)
        .executeTakeFirstOrThrow();
      if (first.fingerprint !== claim.fingerprint || first.response === null) return { kind: 'mismatch' };
      return { kind: 'replay', value: first.response as T };
    }
    const value = await work(trx);
    await trx
      .updateTable('idempotency_keys')
      .set({ response: JSON.stringify(value) })
      .where('caller', '=', claim.caller)
      .where('key', '=', claim.key)
      .execute();
    return { kind: 'fresh', value };
  });
}

/** Forgets keys older than `maxAgeSeconds`: a key guards retries, it is not a permanent record. */
export async function purgeIdempotencyKeys(db: Db, maxAgeSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
