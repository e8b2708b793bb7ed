/** Kysely types of the orders database, kept in step with `migrations/`. */
export type OrdersDatabase = Record<string, never>;
