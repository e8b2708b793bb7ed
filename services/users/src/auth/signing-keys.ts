import type { Jwk } from '@armature/contracts';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  errors,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type JWTVerifyGetKey,
} from 'jose';
import type { Kysely } from 'kysely';
import type { UsersDatabase } from '../db/schema.ts';
import {
  insertFirstKey,
  type NewSigningKey,
  readPrivateKey,
  readUsableKeys,
  rotateKeys,
} from '../db/signing-keys.ts';
import { openPrivateKey, sealPrivateKey } from './key-encryption.ts';

export interface SigningKeyOptions {
  /** Seals private keys at rest (`JWT_KEY_ENCRYPTION_SECRET`). */
  encryptionSecret?: string;
  /** How long a retired key keeps verifying (see `verifyWindowSeconds`). */
  verifyWindowSeconds: number;
  /** How often the table is re-read for keys another instance added. */
  refreshSeconds: number;
}

/**
 * A retired key must verify every token signed with it: tokens live `accessTtl`, and another
 * instance may go on signing with the old key until its next refresh; a minute covers clock skew.
 */
export function verifyWindowSeconds(config: {
  accessTokenTtlSeconds: number;
  signingKeyRefreshSeconds: number;
}) {
  return config.accessTokenTtlSeconds + config.signingKeyRefreshSeconds + 60;
}

/** A fresh Ed25519 key pair; the `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey(encryptionSecret: string | undefined): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const { x } = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x });
  const pem = await exportPKCS8(privateKey);
  return {
    kid,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: x!, kid, alg: 'EdDSA', use: 'sig' },
    privateKey: await sealPrivateKey(pem, kid, encryptionSecret),
  };
}

/** Adds a new active key; the previous one retires and keeps verifying for the window. */
export async function rotateSigningKeys(
  db: Kysely<UsersDatabase>,
  options: Pick<SigningKeyOptions, 'encryptionSecret' | 'verifyWindowSeconds'>,
): Promise<{ kid: string; retired: string[] }> {
  const key = await generateSigningKey(options.encryptionSecret);
  const retired = await rotateKeys(db, key, options.verifyWindowSeconds);
  return { kid: key.kid, retired };
}

interface VerifyingKey {
  jwk: Jwk;
  key: CryptoKey;
}

/** Re-read the table on an unknown `kid` at most this often (a forged `kid` can't hammer the database). */
const UNKNOWN_KID_COOLDOWN_MS = 1000;

/**
 * The keys of this service, read from its own database so that every instance signs with the same
 * key and nothing has to be configured. Cached in memory, re-read every `refreshSeconds`, and at
 * once (rate-limited) when a token names a `kid` this instance has not seen yet.
 */
export class SigningKeys {
  readonly #db: Kysely<UsersDatabase>;
  readonly #options: SigningKeyOptions;
  #verifying = new Map<string, VerifyingKey>();
  #activeKid: string | undefined;
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  private constructor(db: Kysely<UsersDatabase>, options: SigningKeyOptions) {
    this.#db = db;
    this.#options = options;
  }

  /** Loads the keys, creating the first one if the table is empty, and checks the active one opens. */
  static async open(db: Kysely<UsersDatabase>, options: SigningKeyOptions): Promise<SigningKeys> {
    const keys = new SigningKeys(db, options);
    await keys.reload();
    if (!keys.#activeKid) {
      await insertFirstKey(db, await generateSigningKey(options.encryptionSecret));
      await keys.reload();
    }
    await keys.signingKey();
    return keys;
  }

  /** Verification key for a token's header (the `jwtVerify` key getter). */
  readonly getKey: JWTVerifyGetKey = async (header) => {
    if (header.alg !== 'EdDSA' || typeof header.kid !== 'string') throw new errors.JWKSNoMatchingKey();
    await this.#refreshIfStale();
    let found = this.#verifying.get(header.kid);
    if (!found && Date.now() - this.#loadedAt > UNKNOWN_KID_COOLDOWN_MS) {
      await this.reload();
      found = this.#verifying.get(header.kid);
    }
    if (!found) throw new errors.JWKSNoMatchingKey();
    return found.key;
  };

  /** The key new tokens are signed with. */
  async signingKey(): Promise<{ kid: string; key: CryptoKey }> {
    await this.#refreshIfStale();
    const kid = this.#activeKid;
    if (!kid) throw new Error('No active signing key');
    let key = this.#privateKeys.get(kid);
    if (!key) {
      key = this.#importPrivateKey(kid);
      this.#privateKeys.set(kid, key);
      key.catch(() => this.#privateKeys.delete(kid));
    }
    return { kid, key: await key };
  }

  /** Public keys of the active and the retiring keys (the JWKS document). */
  async publicKeys(): Promise<Jwk[]> {
    await this.#refreshIfStale();
    return [...this.#verifying.values()].map((entry) => entry.jwk);
  }

  /** Rotates and starts signing with the new key at once in this instance. */
  async rotate(): Promise<{ kid: string; retired: string[] }> {
    const result = await rotateSigningKeys(this.#db, this.#options);
    await this.reload();
    return result;
  }

  /** Re-reads the table now (coalesced with a read already under way). */
  reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #refreshIfStale(): Promise<void> {
    if (Date.now() - this.#loadedAt < this.#options.refreshSeconds * 1000) return;
    try {
      await this.reload();
    } catch (error) {
      // The database is unreachable: keep using the keys already known, if any, and retry later.
      if (this.#verifying.size === 0) throw error;
    }
  }

  async #load(): Promise<void> {
    try {
      const rows = await readUsableKeys(this.#db, this.#options.verifyWindowSeconds);
      const verifying = new Map<string, VerifyingKey>();
      for (const row of rows) {
        const jwk = (typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk) as Jwk;
        const key = this.#verifying.get(row.kid)?.key ?? ((await importJWK(jwk, 'EdDSA')) as CryptoKey);
        verifying.set(row.kid, { jwk, key });
      }
      this.#verifying = verifying;
      this.#activeKid = rows.find((row) => row.retired_at === null)?.kid;
      for (const kid of this.#privateKeys.keys()) if (kid !== this.#activeKid) this.#privateKeys.delete(kid);
    } finally {
      this.#loadedAt = Date.now();
    }
  }

  async #importPrivateKey(kid: string): Promise<CryptoKey> {
    const stored = await readPrivateKey(this.#db, kid);
    const pem = await openPrivateKey(stored, kid, this.#options.encryptionSecret);
    return importPKCS8(pem, 'EdDSA');
  }
}
