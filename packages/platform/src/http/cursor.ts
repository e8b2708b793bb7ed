import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../errors.ts';

const SIGNATURE_LENGTH = 22; // 128 bits of HMAC-SHA256, base64url

/**
 * Opaque, tamper-evident cursors: base64url(JSON) followed by a truncated HMAC. A cursor is bound to
 * the list and sort it came from (`scope`), so replaying it elsewhere is a 400, never a wrong page.
 */
export class CursorCodec {
  readonly #secret: string;
  constructor(secret: string) {
    this.#secret = secret;
  }

  encode(scope: string, values: unknown[]): string {
    const payload = Buffer.from(JSON.stringify({ s: scope, v: values })).toString('base64url');
    return payload + this.#sign(payload);
  }

  decode(scope: string, cursor: string): unknown[] {
    const invalid = () =>
      new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
    if (cursor.length <= SIGNATURE_LENGTH) throw invalid();
    const payload = cursor.slice(0, -SIGNATURE_LENGTH);
    const given = Buffer.from(cursor.slice(-SIGNATURE_LENGTH));
    const expected = Buffer.from(this.#sign(payload));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    let parsed: { s?: unknown; v?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    if (parsed.s !== scope || !Array.isArray(parsed.v)) throw invalid();
    return parsed.v;
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#secret).update(payload).digest('base64url').slice(0, SIGNATURE_LENGTH);
  }
}
