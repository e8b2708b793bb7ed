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
