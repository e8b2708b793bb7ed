/** Kysely types of the users database, kept in step with `migrations/`. */
export type UsersDatabase = Record<string, never>;
