import { describe, expect, it } from 'vitest';
import { expectedVersion, parseIfMatch } from './optimistic-lock.ts';

/** Throws an ApiError with this code. */
const refusedWith = (code: string, fn: () => unknown) =>
  expect(fn).toThrow(expect.objectContaining({ code }));

describe('If-Match and body versions', () => {
  it('reads "3", W/"3" and 3; * and no header mean no condition from the header', () => {
    expect(parseIfMatch('"3"', 'user')).toBe(3);
    expect(parseIfMatch('W/"3"', 'user')).toBe(3);
    expect(parseIfMatch('3', 'user')).toBe(3);
    expect(parseIfMatch('*', 'user')).toBeUndefined();
    expect(parseIfMatch(undefined, 'user')).toBeUndefined();
  });
  it('refuses anything else with a validation error', () => {
    refusedWith('VALIDATION_ERROR', () => parseIfMatch('"abc"', 'user'));
    refusedWith('VALIDATION_ERROR', () => parseIfMatch('"0"', 'user'));
    refusedWith('VALIDATION_ERROR', () => parseIfMatch('"1", "2"', 'user'));
  });
  it('takes either source; both given and different is a version conflict', () => {
    expect(expectedVersion(2, undefined, 'user')).toBe(2);
    expect(expectedVersion(undefined, '"4"', 'user')).toBe(4);
    expect(expectedVersion(4, '"4"', 'user')).toBe(4);
    expect(expectedVersion(undefined, undefined, 'user')).toBeUndefined();
    refusedWith('VERSION_CONFLICT', () => expectedVersion(3, '"4"', 'user'));
  });
});
