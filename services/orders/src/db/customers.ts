import { type Kysely, sql, type Transaction } from 'kysely';
import type { CustomerStatus, OrdersDatabase } from './schema.ts';

type Db = Kysely<OrdersDatabase> | Transaction<OrdersDatabase>;

export interface CustomerFacts {
  id: string;
  email: string | null;
  name: string | null;
  status: CustomerStatus;
  /** The user's version after the change the event reports. */
  version: number;
}

/**
 * Applies what a `user.*` event says to the projection, unless a newer event was applied already
 * (events of one user may arrive out of order after a redelivery). A deletion is final; one that
 * arrives before the creation is kept, and the late creation then changes nothing. Returns whether
 * the row changed.
 */
export async function applyCustomer(db: Db, facts: CustomerFacts): Promise<boolean> {
  const { rows } = await sql<{ id: string }>`
    insert into customers (id, email, name, status, version)
    values (${facts.id}, ${facts.email}, ${facts.name}, ${facts.status}, ${facts.version})
    on conflict (id) do update set
      email = coalesce(excluded.email, customers.email),
      name = coalesce(excluded.name, customers.name),
      status = excluded.status,
      version = excluded.version,
      updated_at = now()
    where customers.version < excluded.version and customers.status <> 'deleted'
    returning id`.execute(db);
  return rows.length > 0;
}

/** The projection's view of a user: undefined when no event about them has arrived yet. */
export async function customerStatus(db: Db, id: string): Promise<CustomerStatus | undefined> {
  const row = await db.selectFrom('customers').select('status').where('id', '=', id).executeTakeFirst();
  return row?.status;
}

/**
 * Whether the projection knows a user as deleted, remembered so that checking the user behind a
 * token does not read the database on every request. A deletion is final, so "deleted" is kept for
 * good; "not deleted" is trusted for `activeTtlMs` only, because each `user.deleted` event is applied
 * by one instance of the service and the others learn it from the database within that bound. The
 * instance that applies a deletion notes it at once (`noteDeleted`).
 */
export class DeletedCustomers {
  readonly #db: Db;
  readonly #activeTtlMs: number;
  readonly #maxEntries: number;
  /** Per user: until when "not deleted" holds, or Infinity once deleted. */
  readonly #entries = new Map<string, number>();

  constructor(db: Db, options: { activeTtlMs?: number; maxEntries?: number } = {}) {
    this.#db = db;
    this.#activeTtlMs = options.activeTtlMs ?? 1000;
    this.#maxEntries = options.maxEntries ?? 10_000;
  }

  async has(id: string): Promise<boolean> {
    const until = this.#entries.get(id);
    if (until === Number.POSITIVE_INFINITY) return true;
    if (until !== undefined && until > Date.now()) return false;
    const deleted = (await customerStatus(this.#db, id)) === 'deleted';
    // A deletion noted while the read was under way wins over what the read saw.
    if (this.#entries.get(id) !== Number.POSITIVE_INFINITY) {
      this.#remember(id, deleted ? Number.POSITIVE_INFINITY : Date.now() + this.#activeTtlMs);
    }
    return deleted;
  }

  noteDeleted(id: string): void {
    this.#remember(id, Number.POSITIVE_INFINITY);
  }

  #remember(id: string, until: number): void {
    // Bounded by starting over when full: what is forgotten is read again, nothing is lost.
    if (this.#entries.size >= this.#maxEntries && !this.#entries.has(id)) this.#entries.clear();
    this.#entries.set(id, until);
  }
}
