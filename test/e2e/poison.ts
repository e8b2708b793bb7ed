import { type Kysely, sql } from 'kysely';

/**
 * A real cause for dead letters: the orders service's customers projection refuses names starting
 * with "Poison" (as a broken constraint would), so the consumer of `user.created` fails on them
 * until `fix` drops the trigger.
 */
export function poisonedProjection(orders: Kysely<unknown>) {
  return {
    async break(): Promise<void> {
      await sql`create or replace function refuse_poison() returns trigger language plpgsql as $$
        begin
          if new.name like 'Poison%' then raise exception 'customer name refused: %', new.name; end if;
          return new;
        end $$`.execute(orders);
      await sql`drop trigger if exists refuse_poison on customers`.execute(orders);
      await sql`create trigger refuse_poison before insert or update on customers
        for each row execute function refuse_poison()`.execute(orders);
    },
    async fix(): Promise<void> {
      await sql`drop trigger if exists refuse_poison on customers`.execute(orders);
    },
    async customersWithEmail(email: string): Promise<number> {
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from customers where email = ${email}`.execute(orders);
      return rows[0]!.n;
    },
  };
}

/** The orders service's database handle, from the running system (to stage the fault). */
export function ordersDatabase(services: Record<string, unknown>): Kysely<unknown> {
  return (services.orders as { database: { db: Kysely<unknown> } }).database.db;
}
