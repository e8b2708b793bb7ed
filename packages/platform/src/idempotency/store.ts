import { type ColumnType, type Kysely, sql, type Transaction } from 'kysely';

/**
 * Kysely type of the `idempotency_keys` table, the same in every service: the first response under
 * each caller's key, replayed to retries. `caller` is the caller's user UUID, or '' for anonymous
 * callers (who share one key space); `fingerprint` hashes what the request asked for.
 */
export interface IdempotencyKeysTable {
  caller: string;
  key: string;
  fingerprint: string;
  response: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface IdempotencyTables {
  idempotency_keys: IdempotencyKeysTable;
}

/** An `Idempotency-Key`, whose it is, and a fingerprint of the request it came with. */
export interface IdempotencyClaim {
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

// biome-ignore lint/suspicious/noExplicitAny: a service's schema is any record that includes IdempotencyTables.
type WithIdempotency<DB = any> = Kysely<DB>;
const tables = <DB>(trx: Transaction<DB>) => trx as unknown as Transaction<IdempotencyTables>;

/**
 * Runs `work` in one transaction with the claim on the key and the stored result, so the effect and
 * its record commit together or not at all. Racing requests with one key meet on the primary key:
 * the later inserts wait for the first transaction, then find its committed result and replay it
 * (under read committed, each statement sees what committed before it began). A failed first
 * attempt rolls its claim back, so a retry runs afresh. Without a claim, `work` just runs.
 */
export async function idempotent<DB, T>(
  db: WithIdempotency<DB>,
  claim: IdempotencyClaim | undefined,
  work: (trx: Transaction<DB>) => Promise<T>,
): Promise<IdempotentOutcome<T>> {
  return db.transaction().execute(async (trx): Promise<IdempotentOutcome<T>> => {
    if (!claim) return { kind: 'fresh', value: await work(trx) };
    const keys = tables(trx);
    const claimed = await keys
      .insertInto('idempotency_keys')
      .values({ caller: claim.caller, key: claim.key, fingerprint: claim.fingerprint })
      .onConflict((conflict) => conflict.columns(['caller', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    if (!claimed) {
      const first = await keys
        .selectFrom('idempotency_keys')
        .select(['fingerprint', 'response'])
        .where('caller', '=', claim.caller)
        .where('key', '=', claim.key)
        .executeTakeFirstOrThrow();
      if (first.fingerprint !== claim.fingerprint || first.response === null) return { kind: 'mismatch' };
      return { kind: 'replay', value: first.response as T };
    }
    const value = await work(trx);
    await keys
      .updateTable('idempotency_keys')
      .set({ response: JSON.stringify(value) })
      .where('caller', '=', claim.caller)
      .where('key', '=', claim.key)
      .execute();
    return { kind: 'fresh', value };
  });
}

/** Forgets keys older than `maxAgeSeconds`: a key guards retries, it is not a permanent record. */
export async function purgeIdempotencyKeys(db: WithIdempotency, maxAgeSeconds: number): Promise<number> {
  const result = await (db as Kysely<IdempotencyTables>)
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(secs => ${maxAgeSeconds})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
