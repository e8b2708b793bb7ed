import { describe, expect, it } from 'vitest';
import type { ApiError } from '../errors.ts';
import { CursorCodec } from './cursor.ts';
import { pageRequest, parseFields, parseSort, pickFields } from './list-query.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as ApiError).code;
  }
  return 'no error';
};

describe('sort parameter', () => {
  const allowed = ['createdAt', 'total'] as const;
  it('reads -key as descending and +key, a space (a raw +) or a bare key as ascending', () => {
    expect(parseSort('-createdAt,+total', allowed, [])).toEqual([
      { key: 'createdAt', direction: 'desc' },
      { key: 'total', direction: 'asc' },
    ]);
    expect(parseSort('-createdAt, total', allowed, [])[1]).toEqual({ key: 'total', direction: 'asc' });
    expect(parseSort('total', allowed, [])).toEqual([{ key: 'total', direction: 'asc' }]);
  });
  it('refuses unknown and repeated keys with a validation error', () => {
    expect(codeOf(() => parseSort('password', allowed, []))).toBe('VALIDATION_ERROR');
    expect(codeOf(() => parseSort('total,-total', allowed, []))).toBe('VALIDATION_ERROR');
  });
  it('falls back to the default order when absent', () => {
    expect(parseSort(undefined, allowed, [{ key: 'createdAt', direction: 'desc' }])).toHaveLength(1);
  });
});

describe('fields parameter', () => {
  it('keeps only the named fields plus id', () => {
    const fields = parseFields('total', ['id', 'total', 'status']);
    expect(pickFields({ id: 'ord_1', total: 5, status: 'paid' }, fields)).toEqual({ id: 'ord_1', total: 5 });
  });
  it('refuses unknown fields', () => {
    expect(codeOf(() => parseFields('id,passwordHash', ['id', 'name']))).toBe('VALIDATION_ERROR');
  });
});

describe('page request', () => {
  it('refuses page and cursor together', () => {
    expect(codeOf(() => pageRequest({ page: 2, cursor: 'abc' }))).toBe('VALIDATION_ERROR');
  });
  it('defaults to page 1 of 20', () => {
    expect(pageRequest({})).toEqual({ limit: 20, page: 1 });
  });
});

describe('cursors', () => {
  const codec = new CursorCodec('secret');
  it('round-trips the values of the last row', () => {
    const cursor = codec.encode('orders:-createdAt', ['2024-01-15T10:30:00.123Z', 'abc']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(codec.decode('orders:-createdAt', cursor)).toEqual(['2024-01-15T10:30:00.123Z', 'abc']);
  });
  it('refuses a tampered cursor, a foreign secret, and a cursor from another sort', () => {
    const cursor = codec.encode('orders:-createdAt', [1]);
    const tampered = (cursor[0] === 'A' ? 'B' : 'A') + cursor.slice(1);
    expect(codeOf(() => codec.decode('orders:-createdAt', tampered))).toBe('INVALID_CURSOR');
    expect(codeOf(() => new CursorCodec('other').decode('orders:-createdAt', cursor))).toBe('INVALID_CURSOR');
    expect(codeOf(() => codec.decode('orders:+total', cursor))).toBe('INVALID_CURSOR');
    expect(codeOf(() => codec.decode('orders:-createdAt', 'short'))).toBe('INVALID_CURSOR');
  });
});
