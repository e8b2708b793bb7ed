import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { CursorCodec } from './cursor.ts';

/**
 * Properties of the pagination cursor: it round-trips any keyset values, it only ever contains URL-safe
 * characters, and every string that is not exactly a cursor this codec made for this scope — a
 * mutation, a truncation, one from another secret or list, or random bytes — is a 400
 * INVALID_CURSOR, never another error and never a page from somewhere else.
 */

const codec = new CursorCodec('property-secret');
const scope = 'orders:-createdAt';

/** Values a keyset cursor carries: ISO timestamps, ids, numbers (JSON-safe: no -0, no NaN). */
const keysetValue = fc.oneof(
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.uuid(),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant(null),
);
const values = fc.array(keysetValue, { minLength: 1, maxLength: 4 });

function decodeError(cursor: string, inScope = scope, with_ = codec): ApiError | undefined {
  try {
    with_.decode(inScope, cursor);
    return undefined;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return error;
  }
}

describe('cursor codec (property)', () => {
  it('round-trips any keyset values through a URL-safe string', () => {
    fc.assert(
      fc.property(values, (given) => {
        const cursor = codec.encode(scope, given);
        expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(codec.decode(scope, cursor)).toEqual(given);
      }),
    );
  });

  it('refuses any single-character change, truncation or extension', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(
        values,
        fc.nat(),
        fc.constantFrom(...alphabet),
        fc.constantFrom('replace', 'drop', 'insert'),
        (given, at, char, how) => {
          const cursor = codec.encode(scope, given);
          const index = at % cursor.length;
          const mutated =
            how === 'replace'
              ? cursor.slice(0, index) + char + cursor.slice(index + 1)
              : how === 'drop'
                ? cursor.slice(0, index) + cursor.slice(index + 1)
                : cursor.slice(0, index) + char + cursor.slice(index);
          fc.pre(mutated !== cursor);
          expect(decodeError(mutated)?.code).toBe('INVALID_CURSOR');
        },
      ),
    );
  });

  it('refuses a cursor made for another list or sort, or under another secret', () => {
    fc.assert(
      fc.property(values, fc.string({ maxLength: 30 }), (given, otherScope) => {
        fc.pre(otherScope !== scope);
        const cursor = codec.encode(scope, given);
        expect(decodeError(cursor, otherScope)?.code).toBe('INVALID_CURSOR');
        expect(decodeError(cursor, scope, new CursorCodec('another-secret'))?.code).toBe('INVALID_CURSOR');
      }),
    );
  });

  it('answers arbitrary strings with INVALID_CURSOR', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.base64String({ maxLength: 200 }),
          fc.constantFrom("' OR 1=1 --", '%00', '../../etc/passwd', 'null', '[]', '{}'),
        ),
        (raw) => {
          expect(decodeError(raw)?.code).toBe('INVALID_CURSOR');
        },
      ),
    );
  });
});
