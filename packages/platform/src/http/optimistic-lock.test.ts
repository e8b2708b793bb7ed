import { describe, expect, it } from 'vitest';
import type { ApiError } from '../errors.ts';
import { expectedVersion, parseIfMatch } from './optimistic-lock.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as ApiError).code;
  }
  return 'no error';
};

describe('If-Match and body versions', () => {
  it('reads "3", W/"3" and 3; * and no header mean no condition from the header', () => {
    expect(parseIfMatch('"3"', 'user')).toBe(3);
    expect(parseIfMatch('W/"3"', 'user')).toBe(3);
    expect(parseIfMatch('3', 'user')).toBe(3);
    expect(parseIfMatch('*', 'user')).toBeUndefined();
    expect(parseIfMatch(undefined, 'user')).toBeUndefined();
  });
  it('refuses anything else with a validation error', () => {
    expect(codeOf(() => parseIfMatch('"abc"', 'user'))).toBe('VALIDATION_ERROR');
    expect(codeOf(() => parseIfMatch('"0"', 'user'))).toBe('VALIDATION_ERROR');
    expect(codeOf(() => parseIfMatch('"1", "2"', 'user'))).toBe('VALIDATION_ERROR');
  });
  it('takes either source; both given and different is a version conflict', () => {
    expect(expectedVersion(2, undefined, 'user')).toBe(2);
    expect(expectedVersion(undefined, '"4"', 'user')).toBe(4);
    expect(expectedVersion(4, '"4"', 'user')).toBe(4);
    expect(expectedVersion(undefined, undefined, 'user')).toBeUndefined();
    expect(codeOf(() => expectedVersion(3, '"4"', 'user'))).toBe('VERSION_CONFLICT');
  });
});
