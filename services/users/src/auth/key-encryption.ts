import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const PREFIX = 'v1.aes-256-gcm.scrypt';
/** scrypt cost: 2^15 × 8 × 128 B = 32 MiB and ~50 ms, paid once per key an instance loads. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/**
 * Private signing keys at rest. With a secret, the PEM is sealed with AES-256-GCM under a key that
 * scrypt derives from the secret and a per-key salt; the `kid` is bound in as associated data, so a
 * sealed key copied to another row does not open. Without a secret the PEM is stored as it is.
 * Node's crypto does this in a few lines; a library would add nothing.
 */
export async function sealPrivateKey(pem: string, kid: string, secret: string | undefined): Promise<string> {
  if (secret === undefined) return pem;
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await scryptAsync(secret, salt, 32, SCRYPT);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(kid));
  const sealed = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  return [PREFIX, salt, iv, cipher.getAuthTag(), sealed].map(encode).join('.');
}

export class KeyDecryptionError extends Error {
  constructor(kid: string, reason: string) {
    super(`Cannot read signing key ${kid}: ${reason}`);
    this.name = 'KeyDecryptionError';
  }
}

export async function openPrivateKey(
  stored: string,
  kid: string,
  secret: string | undefined,
): Promise<string> {
  if (!stored.startsWith(`${PREFIX}.`)) return stored;
  if (secret === undefined) {
    throw new KeyDecryptionError(kid, 'it is encrypted and JWT_KEY_ENCRYPTION_SECRET is not set');
  }
  const [salt, iv, tag, sealed] = stored
    .slice(PREFIX.length + 1)
    .split('.')
    .map((part) => Buffer.from(part, 'base64url'));
  if (!salt || !iv || !tag || !sealed) throw new KeyDecryptionError(kid, 'the stored value is malformed');
  const key = await scryptAsync(secret, salt, 32, SCRYPT);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(kid));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyDecryptionError(kid, 'JWT_KEY_ENCRYPTION_SECRET does not open it');
  }
}

function encode(part: string | Buffer): string {
  return typeof part === 'string' ? part : part.toString('base64url');
}
