import { randomBytes } from 'node:crypto';
import { type Algorithm, hash, verify } from '@node-rs/argon2';

/**
 * Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane). The parameters are
 * stored in each PHC string, so raising them later still verifies the hashes made before.
 * `Algorithm` is a const enum in the package's types with no runtime value: 2 is `Argon2id`.
 */
const options = { algorithm: 2 as Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks a password against a stored hash. With no hash (unknown email) it verifies against a dummy
 * hash made with the same parameters, so both answers cost the same time and can't be told apart.
 */
export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  const against = storedHash ?? (await dummyHash);
  let matches = false;
  try {
    matches = await verify(against, password);
  } catch {
    matches = false; // a corrupt stored hash is a failed login, never a 500
  }
  return matches && storedHash !== undefined;
}

/** Computes the dummy hash ahead of the first login, so that login isn't slower than the others. */
export async function warmUpPasswords(): Promise<void> {
  await verifyPassword(undefined, 'warm-up');
}
