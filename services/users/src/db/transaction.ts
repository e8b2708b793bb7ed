import type { Kysely, Transaction } from 'kysely';
import type { UsersDatabase } from './schema.ts';

/**
 * Runs `work` in a transaction: a new one, or the caller's when `db` already is one (Kysely cannot
 * nest them). So every `db/` write is one transaction on its own and can also join a larger one —
 * an idempotency claim now, an outbox insert later — and commit or roll back with it.
 */
export function inTransaction<T>(
  db: Kysely<UsersDatabase>,
  work: (trx: Transaction<UsersDatabase>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<UsersDatabase>) : db.transaction().execute(work);
}
