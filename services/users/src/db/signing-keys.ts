import { type Kysely, sql } from 'kysely';
import type { SigningKeyRecord, UsersDatabase } from './schema.ts';
import { inTransaction } from './transaction.ts';

type Db = Kysely<UsersDatabase>;

export interface NewSigningKey {
  kid: string;
  publicJwk: Record<string, string>;
  /** PEM, or the sealed envelope when keys are encrypted at rest. */
  privateKey: string;
}

/** The active key and the retired keys still inside their verification window, newest first. */
export function readUsableKeys(db: Db, verifyWindowSeconds: number): Promise<SigningKeyRecord[]> {
  return db
    .selectFrom('signing_keys')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('retired_at', 'is', null),
        eb('retired_at', '>', sql<Date>`now() - make_interval(secs => ${verifyWindowSeconds})`),
      ]),
    )
    .orderBy('created_at', 'desc')
    .execute();
}

/** The stored private key of `kid` (PEM or sealed). */
export async function readPrivateKey(db: Db, kid: string): Promise<string> {
  const row = await db
    .selectFrom('signing_keys')
    .select('private_key')
    .where('kid', '=', kid)
    .executeTakeFirstOrThrow();
  return row.private_key;
}

/**
 * Adds the first active key unless one exists. Instances starting together may all try: the unique
 * index on the active key lets exactly one insert win and the others do nothing.
 */
export async function insertFirstKey(db: Db, key: NewSigningKey): Promise<void> {
  await db
    .insertInto('signing_keys')
    .values({ kid: key.kid, public_jwk: JSON.stringify(key.publicJwk), private_key: key.privateKey })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/**
 * Retires the active key and makes `key` the active one, in one transaction; keys retired longer ago
 * than the verification window are deleted (no token they signed can still be valid).
 */
export async function rotateKeys(db: Db, key: NewSigningKey, verifyWindowSeconds: number): Promise<string[]> {
  return inTransaction(db, async (trx) => {
    // Serializes concurrent rotations: the second one waits, then retires the first one's new key.
    await sql`lock table signing_keys in share row exclusive mode`.execute(trx);
    const retired = await trx
      .updateTable('signing_keys')
      .set({ retired_at: sql<Date>`now()` })
      .where('retired_at', 'is', null)
      .returning('kid')
      .execute();
    await trx
      .insertInto('signing_keys')
      .values({ kid: key.kid, public_jwk: JSON.stringify(key.publicJwk), private_key: key.privateKey })
      .execute();
    await trx
      .deleteFrom('signing_keys')
      .where('retired_at', '<', sql<Date>`now() - make_interval(secs => ${verifyWindowSeconds})`)
      .execute();
    return retired.map((row) => row.kid);
  });
}
