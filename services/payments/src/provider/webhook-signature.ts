import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures as Stripe signs its own: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * with a shared secret. The timestamp is signed too, so an old delivery cannot be replayed later
 * with a fresh one; replays within the window are refused by the event id.
 */
export const signatureHeader = 'armature-signature';

export function signWebhook(body: string, secret: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  return `t=${t},v1=${hmac(`${t}.${body}`, secret)}`;
}

export type SignatureVerdict = 'valid' | 'missing' | 'invalid' | 'expired';

export function verifyWebhook(
  body: string,
  header: string | undefined,
  secret: string,
  toleranceSeconds: number,
  now = Date.now(),
): SignatureVerdict {
  if (!header) return 'missing';
  const parts = new Map(
    header.split(',').map((part) => {
      const at = part.indexOf('=');
      return [part.slice(0, at).trim(), part.slice(at + 1).trim()] as const;
    }),
  );
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isSafeInteger(t) || !given || !/^[0-9a-f]{64}$/.test(given)) return 'invalid';
  const expected = Buffer.from(hmac(`${t}.${body}`, secret), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(given, 'hex'))) return 'invalid';
  return Math.abs(now / 1000 - t) > toleranceSeconds ? 'expired' : 'valid';
}

function hmac(text: string, secret: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}
